//! An answering OpenAI-compatible server for runs of many documents at once, where a scripted
//! list of replies cannot work (the order of concurrent requests is not known): a plan request
//! gets an AgentWrite plan, every other request prose of the section's length. It counts the
//! requests it is serving at the same moment (and the most ever), and can die mid-run: its
//! listener closes and every open or later stream breaks off, as when a server process dies.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::data;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers.
#[derive(Clone, Copy, Debug)]
pub struct Answers {
    /// Sections in each plan.
    pub sections: usize,
    /// Words in each section's reply.
    pub words: usize,
    /// Wait before each streamed piece of a section (plans come at once).
    pub piece_delay_ms: u64,
    /// Die while streaming the reply to this request (1-based, counting every chat request).
    pub die_at: Option<usize>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicUsize,
    plans: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    dead: AtomicBool,
}

/// A running answering server.
#[derive(Clone)]
pub struct AnsweringServer {
    /// API root.
    pub url: String,
    counters: Arc<Counters>,
}

#[derive(Clone)]
struct AppState {
    answers: Answers,
    counters: Arc<Counters>,
    accept: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl AnsweringServer {
    /// Starts a server on a loopback port.
    pub async fn start(answers: Answers) -> Self {
        let counters = Arc::new(Counters::default());
        let accept = Arc::new(Mutex::new(None));
        let state = AppState {
            answers,
            counters: counters.clone(),
            accept: accept.clone(),
        };
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *accept.lock().unwrap() = Some(task);
        Self {
            url: format!("http://{addr}/v1"),
            counters,
        }
    }

    /// Chat requests received.
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// Plan requests received.
    pub fn plans(&self) -> usize {
        self.counters.plans.load(Ordering::SeqCst)
    }

    /// The most requests it served at one moment.
    pub fn max_in_flight(&self) -> usize {
        self.counters.max_in_flight.load(Ordering::SeqCst)
    }

    /// Whether it has died.
    pub fn dead(&self) -> bool {
        self.counters.dead.load(Ordering::SeqCst)
    }
}

/// Dies: no new connections, and every stream breaks off.
fn die(state: &AppState) {
    state.counters.dead.store(true, Ordering::SeqCst);
    if let Some(task) = state.accept.lock().unwrap().take() {
        task.abort();
    }
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "answering", "object": "model"}]}))
}

/// Counts a request while its body is being streamed.
struct InFlight(Arc<Counters>);

impl InFlight {
    fn new(counters: Arc<Counters>) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(counters)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn last_user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn chat(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let number = state.counters.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let asked = last_user_message(&body);
    let a = state.answers;
    let planning = asked.contains("You are planning a long piece of writing");
    let (text, delay) = if planning {
        state.counters.plans.fetch_add(1, Ordering::SeqCst);
        (agentwrite_plan(a.sections, a.words), 0)
    } else {
        (prose(&tag("Answer", number), a.words), a.piece_delay_ms)
    };
    let pieces = events(&text);
    let dies_here = a.die_at == Some(number);
    let guard = InFlight::new(state.counters.clone());
    let half = pieces.len() / 2;
    let stream = futures::stream::unfold(
        (pieces.into_iter().enumerate(), guard, state),
        move |(mut pieces, guard, state)| async move {
            let (i, piece) = pieces.next()?;
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if dies_here && i == half {
                die(&state);
            }
            let item = if state.counters.dead.load(Ordering::SeqCst) {
                Err(std::io::Error::other("the server died"))
            } else {
                Ok(Bytes::from(piece))
            };
            Some((item, (pieces, guard, state)))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("valid response")
        .into_response()
}

/// The SSE events of a whole reply: word-group deltas, the finish, usage, `[DONE]`.
fn events(text: &str) -> Vec<Vec<u8>> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let mut out: Vec<Vec<u8>> = words
        .chunks(4)
        .map(|c| data(json!({"choices": [{"index": 0, "delta": {"content": c.concat()}}]})))
        .collect();
    out.push(data(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    out.push(data(
        json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": words.len()}}),
    ));
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}
