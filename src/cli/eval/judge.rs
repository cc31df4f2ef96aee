//! The judge of `longwriter eval`: an OpenAI-compatible server, named by the `--judge-*` flags
//! alone, asked once per document (and once more when its reply is unusable) for the six
//! scores of S_q. Building the request and reading the reply are `crate::eval::judge`'s.

use super::super::connect;
use super::super::{BackendArgs, CliError};
use super::EvalArgs;
use crate::backend::{Backend, ChatMessage, GenerationRequest, Sampling, StreamChunk};
use crate::eval::judge;
use crate::eval::report::{DocumentResult, Verdict};
use crate::store::{Project, Store};
use futures::StreamExt;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The judge: an OpenAI-compatible server named by the `--judge-*` flags alone (the writer's
/// key and model settings are not passed to it).
pub(super) async fn judge_backend(
    args: &BackendArgs,
    e: &EvalArgs,
    url: &str,
) -> Result<Arc<dyn Backend>, CliError> {
    let mut judge_args = args.clone();
    judge_args.base_url = Some(url.to_string());
    judge_args.local = false;
    judge_args.model = e.judge_model.clone();
    judge_args.api_key_env = e.judge_api_key_env.clone();
    let mut setup = connect::setup(&judge_args)?;
    setup.file.backend = Default::default();
    connect::backend(&judge_args, &setup).await
}

/// Asks the judge about every document with text, once more when a reply is unusable; a
/// judge that cannot be reached leaves every verdict missing.
pub(super) async fn judge_all(
    judge: &dyn Backend,
    store: &Store,
    cancel: &CancellationToken,
    documents: &mut [DocumentResult],
) {
    for doc in documents.iter_mut().filter(|d| d.written > 0) {
        if cancel.is_cancelled() {
            return;
        }
        let instruction = store
            .find(&doc.project)
            .ok()
            .and_then(|dir| Project::open(&dir).ok())
            .map(|p| p.manifest.instruction)
            .unwrap_or_default();
        let request = judge::request(&instruction, &doc.response);
        let mut last = String::new();
        doc.verdict = Verdict::Missing {
            reason: String::new(),
        };
        for _ in 0..2 {
            match ask(judge, &request).await {
                Ok(reply) => match judge::parse_reply(&reply) {
                    Ok(scores) => {
                        doc.verdict = Verdict::Scored {
                            s_q: scores.s_q(),
                            scores,
                        };
                        break;
                    }
                    Err(e) => last = e.to_string(),
                },
                Err(e) => {
                    last = e;
                    break;
                }
            }
        }
        if let Verdict::Missing { reason } = &mut doc.verdict {
            eprintln!("longwriter: judge verdict for {} missing: {last}", doc.id);
            *reason = last;
        }
    }
}

async fn ask(judge: &dyn Backend, prompt: &str) -> Result<String, String> {
    let request = GenerationRequest {
        messages: vec![ChatMessage::user(prompt)],
        max_tokens: 1024,
        // The paper's judge setting.
        sampling: Sampling {
            temperature: 0.5,
            ..Sampling::default()
        },
        stop: Vec::new(),
    };
    let mut stream = judge.stream(request).await.map_err(|e| e.to_string())?;
    let mut reply = String::new();
    while let Some(chunk) = stream.next().await {
        match chunk.map_err(|e| e.to_string())? {
            StreamChunk::Delta(text) => reply.push_str(&text),
            StreamChunk::Done { .. } => break,
        }
    }
    Ok(reply)
}
