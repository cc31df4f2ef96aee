//! Back-pressure from the store to generation: while the store cannot write (disk full,
//! read-only), the gate is closed and the gated backend stops pulling chunks from the server,
//! so generation pauses instead of piling up text that cannot be saved.
//!
//! The writer stays unaware: it sees a `Backend` whose stream is merely slow.

use crate::backend::{Backend, BackendError, BackendInfo, ChunkStream, GenerationRequest};
use futures::future::BoxFuture;
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::watch;

/// Open or closed; cloned freely.
#[derive(Debug, Clone)]
pub struct PauseGate {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for PauseGate {
    fn default() -> Self {
        Self::new()
    }
}

impl PauseGate {
    /// An open gate.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(true).0),
        }
    }

    /// Opens or closes the gate.
    pub fn set_open(&self, open: bool) {
        self.tx.send_replace(open);
    }

    /// Whether the gate is open.
    pub fn is_open(&self) -> bool {
        *self.tx.borrow()
    }

    /// Waits until the gate is open.
    pub async fn wait_open(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

/// A backend whose requests and chunks wait for the gate.
pub struct GatedBackend {
    inner: Arc<dyn Backend>,
    gate: PauseGate,
}

impl GatedBackend {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Backend>, gate: PauseGate) -> Self {
        Self { inner, gate }
    }
}

impl Backend for GatedBackend {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }

    fn serving(&self) -> String {
        self.inner.serving()
    }

    fn context_window(&self) -> Option<crate::backend::ContextWindow> {
        self.inner.context_window()
    }

    fn count_tokens<'a>(
        &'a self,
        messages: &'a [crate::backend::ChatMessage],
    ) -> BoxFuture<'a, Option<usize>> {
        self.inner.count_tokens(messages)
    }

    fn base_model(&self) -> bool {
        self.inner.base_model()
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(async move {
            self.gate.wait_open().await;
            let stream = self.inner.stream(request).await?;
            Ok(self.gated(stream))
        })
    }

    fn complete(
        &self,
        request: crate::backend::CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(async move {
            self.gate.wait_open().await;
            let stream = self.inner.complete(request).await?;
            Ok(self.gated(stream))
        })
    }
}

impl GatedBackend {
    /// `stream` with every chunk waiting for the gate.
    fn gated(&self, stream: ChunkStream) -> ChunkStream {
        let gate = self.gate.clone();
        stream
            .then(move |item| {
                let gate = gate.clone();
                async move {
                    gate.wait_open().await;
                    item
                }
            })
            .boxed()
    }
}
