//! A fallback chain: one `Backend` over a list of named backends (profiles), each connected
//! when it is first needed.
//!
//! A request goes to the backend that wrote last. When it cannot be reached, or fails before
//! its first chunk, the request goes to the next one, and that one writes from then on; the
//! caller never sees the failed attempt. A failure after the first chunk reaches the caller as
//! usual, whose retry and continuation ask this chain again: the same backend first, then the
//! next, from the text already received. When every link fails, the error names each.

use super::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, CompletionRequest, ContextWindow,
    GenerationRequest,
};
use futures::future::BoxFuture;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Makes the backend of one link (connects to a server, starts the engine).
pub type Connector =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<dyn Backend>, BackendError>> + Send + Sync>;

/// One named link of the chain.
pub struct Link {
    /// The profile's name, for messages.
    pub name: String,
    /// How to make its backend.
    pub connect: Connector,
}

struct LinkState {
    name: String,
    connect: Connector,
    ready: Mutex<Option<Arc<dyn Backend>>>,
}

/// A `Backend` that hands a request to the next link when one cannot be reached.
pub struct FallbackBackend {
    links: Vec<LinkState>,
    current: AtomicUsize,
}

/// Which way a request is opened on a link.
#[derive(Clone)]
enum Open {
    Chat(GenerationRequest),
    Completion(CompletionRequest),
}

impl FallbackBackend {
    /// A chain over `links`, in order; nothing is connected yet (see `prepare`).
    pub fn new(links: Vec<Link>) -> Result<Self, BackendError> {
        if links.is_empty() {
            return Err(BackendError::Invalid(
                "a fallback chain needs a backend".into(),
            ));
        }
        let links = links
            .into_iter()
            .map(|l| LinkState {
                name: l.name,
                connect: l.connect,
                ready: Mutex::new(None),
            })
            .collect();
        Ok(Self {
            links,
            current: AtomicUsize::new(0),
        })
    }

    /// Connects the first link that can be reached, so that the job starts on it; errors
    /// only when none can be, naming each.
    pub async fn prepare(&self) -> Result<(), BackendError> {
        let mut failures = Vec::new();
        for i in 0..self.links.len() {
            match self.ready(i).await {
                Ok(_) => {
                    self.switch_to(i, &failures);
                    return Ok(());
                }
                Err(e) => failures.push((i, e)),
            }
        }
        Err(self.all_failed(failures))
    }

    /// The name of the link that writes now.
    pub fn current_name(&self) -> &str {
        &self.links[self.current.load(Ordering::SeqCst)].name
    }

    /// The backend of link `i`, connected on first use (a failed connect is tried again next
    /// time: the server may be back).
    async fn ready(&self, i: usize) -> Result<Arc<dyn Backend>, BackendError> {
        let link = &self.links[i];
        if let Some(b) = link.ready.lock().map_err(poisoned)?.clone() {
            return Ok(b);
        }
        let backend = (link.connect)().await?;
        *link.ready.lock().map_err(poisoned)? = Some(backend.clone());
        Ok(backend)
    }

    fn current_backend(&self) -> Option<Arc<dyn Backend>> {
        let link = &self.links[self.current.load(Ordering::SeqCst)];
        link.ready.lock().ok().and_then(|b| b.clone())
    }

    fn switch_to(&self, i: usize, failures: &[(usize, BackendError)]) {
        let before = self.current.swap(i, Ordering::SeqCst);
        if before != i || !failures.is_empty() {
            let why: Vec<String> = failures
                .iter()
                .map(|(f, e)| format!("{}: {e}", self.links[*f].name))
                .collect();
            tracing::warn!(
                "profile {} writes now ({})",
                self.links[i].name,
                why.join("; ")
            );
        }
    }

    /// Opens `open` on the current link, then on each next one (wrapping around) while they
    /// fail before their first chunk.
    async fn open(&self, open: Open) -> Result<ChunkStream, BackendError> {
        let start = self.current.load(Ordering::SeqCst);
        let n = self.links.len();
        let mut failures = Vec::new();
        for step in 0..n {
            let i = (start + step) % n;
            match self.try_link(i, open.clone()).await {
                Ok(stream) => {
                    self.switch_to(i, &failures);
                    return Ok(stream);
                }
                Err(e @ BackendError::Invalid(_)) => return Err(e),
                Err(e) => failures.push((i, e)),
            }
        }
        Err(self.all_failed(failures))
    }

    /// Opens the request on link `i` and waits for its first item, which must not be an error.
    async fn try_link(&self, i: usize, open: Open) -> Result<ChunkStream, BackendError> {
        let backend = self.ready(i).await?;
        let mut stream = match open {
            Open::Chat(r) => backend.stream(r).await?,
            Open::Completion(r) => backend.complete(r).await?,
        };
        match stream.next().await {
            Some(Ok(first)) => Ok(futures::stream::once(async { Ok(first) })
                .chain(stream)
                .boxed()),
            Some(Err(e)) => Err(e),
            None => Err(BackendError::Broken(
                "the stream ended before its first chunk".into(),
            )),
        }
    }

    /// One error for a request every link failed: a single link's own error, else a
    /// retryable error that names each link and what went wrong with it.
    fn all_failed(&self, mut failures: Vec<(usize, BackendError)>) -> BackendError {
        if failures.len() == 1 {
            return failures.remove(0).1;
        }
        let retryable = failures.iter().any(|(_, e)| e.is_retryable());
        let each: Vec<String> = failures
            .iter()
            .map(|(i, e)| format!("{}: {e}", self.links[*i].name))
            .collect();
        if !retryable {
            return failures.remove(0).1;
        }
        let names: Vec<&str> = self.links.iter().map(|l| l.name.as_str()).collect();
        BackendError::Unreachable {
            url: format!("every profile of the chain ({})", names.join(", ")),
            reason: each.join("; "),
        }
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> BackendError {
    BackendError::Invalid("a fallback link's lock was poisoned by a panic".into())
}

impl Backend for FallbackBackend {
    fn info(&self) -> BackendInfo {
        match self.current_backend() {
            Some(b) => b.info(),
            None => BackendInfo {
                kind: "profile".into(),
                model: String::new(),
                endpoint: self.current_name().to_string(),
            },
        }
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open(Open::Chat(request)))
    }

    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open(Open::Completion(request)))
    }

    fn context_window(&self) -> Option<ContextWindow> {
        self.current_backend()?.context_window()
    }

    /// The backend writing now decides: a chain that hands over from a chat server to a base
    /// model on the engine switches the writer to completion prompts with it.
    fn base_model(&self) -> bool {
        self.current_backend().is_some_and(|b| b.base_model())
    }

    fn count_tokens<'a>(&'a self, messages: &'a [ChatMessage]) -> BoxFuture<'a, Option<usize>> {
        Box::pin(async move { self.current_backend()?.count_tokens(messages).await })
    }

    fn serving(&self) -> String {
        let inner = self
            .current_backend()
            .map_or_else(|| "not connected".to_string(), |b| b.serving());
        format!("profile {}: {inner}", self.current_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{FinishReason, Sampling, StreamChunk};

    /// The items of each stream, or the error that opens nothing.
    type Script = Vec<Result<Vec<Result<StreamChunk, BackendError>>, BackendError>>;

    /// A backend whose streams replay `script` in order (an `Err` opens nothing).
    struct Fake {
        name: &'static str,
        script: Mutex<Script>,
    }

    impl Backend for Fake {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                kind: "fake".into(),
                model: "m".into(),
                endpoint: self.name.into(),
            }
        }

        fn stream(&self, _: GenerationRequest) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
            let next = self.script.lock().unwrap().remove(0);
            Box::pin(async move { next.map(|items| futures::stream::iter(items).boxed()) })
        }
    }

    fn down() -> BackendError {
        BackendError::Unreachable {
            url: "http://down".into(),
            reason: "connection refused".into(),
        }
    }

    fn text(t: &str) -> Vec<Result<StreamChunk, BackendError>> {
        vec![
            Ok(StreamChunk::Delta(t.into())),
            Ok(StreamChunk::Done {
                finish_reason: FinishReason::Stop,
                usage: None,
            }),
        ]
    }

    fn link(name: &'static str, fake: Option<Arc<Fake>>) -> Link {
        Link {
            name: name.into(),
            connect: Arc::new(move || {
                let fake = fake.clone();
                Box::pin(async move {
                    match fake {
                        Some(f) => Ok(f as Arc<dyn Backend>),
                        None => Err(down()),
                    }
                })
            }),
        }
    }

    fn fake(name: &'static str, script: Script) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            script: Mutex::new(script),
        })
    }

    fn request() -> GenerationRequest {
        GenerationRequest {
            messages: vec![ChatMessage::user("hi")],
            max_tokens: 10,
            sampling: Sampling::default(),
            stop: vec![],
        }
    }

    async fn collect(chain: &FallbackBackend) -> Result<String, BackendError> {
        let mut s = chain.stream(request()).await?;
        let mut out = String::new();
        while let Some(item) = s.next().await {
            if let StreamChunk::Delta(d) = item? {
                out.push_str(&d);
            }
        }
        Ok(out)
    }

    #[tokio::test]
    async fn an_unreachable_first_link_hands_the_job_on_and_it_stays() {
        let b = fake("b", vec![Ok(text("one")), Ok(text("two"))]);
        let chain = FallbackBackend::new(vec![link("a", None), link("b", Some(b))]).unwrap();
        chain.prepare().await.unwrap();
        assert_eq!(chain.current_name(), "b");
        assert_eq!(collect(&chain).await.unwrap(), "one");
        assert_eq!(collect(&chain).await.unwrap(), "two");
        assert!(
            chain.serving().starts_with("profile b: fake m at b"),
            "{}",
            chain.serving()
        );
    }

    #[tokio::test]
    async fn a_failure_before_the_first_chunk_goes_to_the_next_link() {
        let broken_first = vec![Err(BackendError::Broken("reset".into()))];
        let a = fake("a", vec![Ok(broken_first), Err(down())]);
        let b = fake("b", vec![Ok(text("b1")), Ok(text("b2"))]);
        let chain = FallbackBackend::new(vec![link("a", Some(a)), link("b", Some(b))]).unwrap();
        chain.prepare().await.unwrap();
        assert_eq!(chain.current_name(), "a");
        assert_eq!(collect(&chain).await.unwrap(), "b1", "a refused: b writes");
        assert_eq!(
            collect(&chain).await.unwrap(),
            "b2",
            "and b goes on writing"
        );
    }

    #[tokio::test]
    async fn every_link_failing_names_each_and_can_be_retried() {
        let chain = FallbackBackend::new(vec![link("a", None), link("b", None)]).unwrap();
        let err = chain.prepare().await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a: ") && text.contains("b: "), "{text}");
        assert!(err.is_retryable());
        let err = collect(&chain).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("every profile of the chain (a, b)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_invalid_request_is_not_handed_on() {
        let a = fake("a", vec![Err(BackendError::Invalid("bad".into()))]);
        let b = fake("b", vec![Ok(text("never"))]);
        let chain =
            FallbackBackend::new(vec![link("a", Some(a)), link("b", Some(b.clone()))]).unwrap();
        assert!(matches!(
            collect(&chain).await,
            Err(BackendError::Invalid(_))
        ));
        assert_eq!(b.script.lock().unwrap().len(), 1, "b was not asked");
    }
}
