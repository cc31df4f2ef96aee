//! A fleet: several endpoints that serve one model (vLLM replicas, llama-servers), shared by
//! the documents of a batch.
//!
//! Each document takes a `Lease`, a `Backend` bound to the least-loaded endpoint that is up.
//! When its endpoint fails as a whole (unreachable, a stream broken off, 502/503/504), the
//! endpoint is taken out of rotation for `retry_after` and the lease moves to another one; the
//! failed request's error goes back to the writer, whose retry then continues the section's
//! saved text on the new endpoint. A down endpoint is tried again once `retry_after` has
//! passed. Knows only the `Backend` trait, like the writer.

use super::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, CompletionRequest, ContextWindow,
    GenerationRequest,
};
use futures::future::BoxFuture;
use futures::StreamExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// One endpoint's state.
#[derive(Debug, Clone, Default)]
struct Health {
    /// Documents bound to it now.
    load: usize,
    /// Out of rotation until then.
    down_until: Option<Instant>,
    /// Times it was taken out of rotation.
    failures: u64,
}

/// What the progress display shows of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// Its API root.
    pub endpoint: String,
    /// Documents bound to it now.
    pub load: usize,
    /// Whether it is in rotation.
    pub up: bool,
    /// Times it was taken out of rotation.
    pub failures: u64,
}

/// Several endpoints of one model.
pub struct Fleet {
    members: Vec<Arc<dyn Backend>>,
    health: Mutex<Vec<Health>>,
    retry_after: Duration,
}

impl Fleet {
    /// A fleet over `members` (at least one); a failed endpoint rests `retry_after`.
    pub fn new(members: Vec<Arc<dyn Backend>>, retry_after: Duration) -> Arc<Self> {
        let health = vec![Health::default(); members.len()];
        Arc::new(Self {
            members,
            health: Mutex::new(health),
            retry_after,
        })
    }

    /// A backend for one document, bound to the least-loaded endpoint in rotation.
    pub fn lease(self: &Arc<Self>) -> Lease {
        let current = {
            let mut health = self.health();
            let i = pick(&health, Instant::now(), None);
            health[i].load += 1;
            i
        };
        Lease {
            inner: Arc::new(Bound {
                fleet: self.clone(),
                current: Mutex::new(current),
            }),
        }
    }

    /// Every endpoint's load and state.
    pub fn status(&self) -> Vec<EndpointStatus> {
        let now = Instant::now();
        self.health()
            .iter()
            .zip(&self.members)
            .map(|(h, m)| EndpointStatus {
                endpoint: m.info().endpoint,
                load: h.load,
                up: h.down_until.is_none_or(|t| t <= now),
                failures: h.failures,
            })
            .collect()
    }

    fn health(&self) -> MutexGuard<'_, Vec<Health>> {
        // A panic while holding this lock leaves only counters behind: still usable.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Endpoint `failed` failed the lease `current`: out of rotation, and the lease moves.
    fn fail(&self, failed: usize, current: &Mutex<usize>) {
        let now = Instant::now();
        let mut health = self.health();
        if health[failed].down_until.is_none_or(|t| t <= now) {
            health[failed].failures += 1;
            tracing::warn!(
                "fleet: {} failed; out of rotation for {:?}",
                self.members[failed].info().endpoint,
                self.retry_after
            );
        }
        health[failed].down_until = Some(now + self.retry_after);
        let mut current = current.lock().unwrap_or_else(|p| p.into_inner());
        if *current == failed {
            let next = pick(&health, now, Some(failed));
            health[failed].load = health[failed].load.saturating_sub(1);
            health[next].load += 1;
            *current = next;
        }
    }

    fn release(&self, i: usize) {
        let mut health = self.health();
        health[i].load = health[i].load.saturating_sub(1);
    }
}

/// The endpoint for a new or moved document: the least-loaded one in rotation (other than
/// `avoid`); with none in rotation, the one that comes back first.
fn pick(health: &[Health], now: Instant, avoid: Option<usize>) -> usize {
    let up = |i: &usize| health[*i].down_until.is_none_or(|t| t <= now);
    let candidates = (0..health.len()).filter(|i| Some(*i) != avoid);
    if let Some(i) = candidates
        .clone()
        .filter(up)
        .min_by_key(|&i| health[i].load)
    {
        return i;
    }
    candidates
        .min_by_key(|&i| health[i].down_until)
        .or(avoid)
        .unwrap_or(0)
}

/// Whether `e` says the endpoint itself is gone, rather than this request being wrong.
fn endpoint_down(e: &BackendError) -> bool {
    match e {
        BackendError::Unreachable { .. } | BackendError::Broken(_) => true,
        BackendError::Status { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

struct Bound {
    fleet: Arc<Fleet>,
    current: Mutex<usize>,
}

impl Bound {
    fn current(&self) -> usize {
        *self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        self.fleet.release(self.current());
    }
}

/// One document's backend in a fleet (see the module doc); dropping it frees its slot.
pub struct Lease {
    inner: Arc<Bound>,
}

impl Lease {
    /// The endpoint this document is bound to now.
    pub fn endpoint(&self) -> String {
        self.member().info().endpoint
    }

    fn member(&self) -> &Arc<dyn Backend> {
        &self.inner.fleet.members[self.inner.current()]
    }

    /// Sends through the bound endpoint; an endpoint-wide failure, before or during the
    /// stream, moves the lease.
    fn guarded<'a>(
        &'a self,
        start: impl FnOnce(&'a Arc<dyn Backend>) -> BoxFuture<'a, Result<ChunkStream, BackendError>>
            + Send
            + 'a,
    ) -> BoxFuture<'a, Result<ChunkStream, BackendError>> {
        let i = self.inner.current();
        let member = &self.inner.fleet.members[i];
        let bound = self.inner.clone();
        Box::pin(async move {
            match start(member).await {
                Ok(stream) => {
                    let watch = bound.clone();
                    let watched = stream.inspect(move |item| {
                        if let Err(e) = item {
                            if endpoint_down(e) {
                                watch.fleet.fail(i, &watch.current);
                            }
                        }
                    });
                    Ok(watched.boxed())
                }
                Err(e) => {
                    if endpoint_down(&e) {
                        bound.fleet.fail(i, &bound.current);
                    }
                    Err(e)
                }
            }
        })
    }
}

impl Backend for Lease {
    fn info(&self) -> BackendInfo {
        self.member().info()
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        self.guarded(move |m| m.stream(request))
    }

    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        self.guarded(move |m| m.complete(request))
    }

    fn context_window(&self) -> Option<ContextWindow> {
        self.member().context_window()
    }

    fn base_model(&self) -> bool {
        self.member().base_model()
    }

    fn count_tokens<'a>(&'a self, messages: &'a [ChatMessage]) -> BoxFuture<'a, Option<usize>> {
        let member = self.member().clone();
        Box::pin(async move { member.count_tokens(messages).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{FinishReason, StreamChunk};

    /// An endpoint that is up (one `Done` chunk) or refuses connections.
    struct Endpoint {
        name: &'static str,
        up: bool,
    }

    impl Backend for Endpoint {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                kind: "test".into(),
                model: "m".into(),
                endpoint: self.name.into(),
            }
        }

        fn stream(
            &self,
            _request: GenerationRequest,
        ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
            let result = if self.up {
                let done = StreamChunk::Done {
                    finish_reason: FinishReason::Stop,
                    usage: None,
                };
                Ok(futures::stream::iter([Ok(done)]).boxed())
            } else {
                Err(BackendError::Unreachable {
                    url: self.name.into(),
                    reason: "connection refused".into(),
                })
            };
            Box::pin(async move { result })
        }
    }

    fn request() -> GenerationRequest {
        GenerationRequest {
            messages: Vec::new(),
            max_tokens: 8,
            sampling: crate::backend::Sampling::default(),
            stop: Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_document_leaves_a_dead_endpoint_and_the_endpoint_comes_back_later() {
        let fleet = Fleet::new(
            vec![
                Arc::new(Endpoint {
                    name: "a",
                    up: false,
                }),
                Arc::new(Endpoint {
                    name: "b",
                    up: true,
                }),
            ],
            Duration::from_secs(30),
        );
        let first = fleet.lease();
        let second = fleet.lease();
        assert_eq!(
            (first.endpoint(), second.endpoint()),
            ("a".into(), "b".into())
        );
        assert!(first.stream(request()).await.is_err());
        // Moved: the retry goes to the other endpoint, and new documents avoid the dead one.
        assert_eq!(first.endpoint(), "b");
        assert!(first.stream(request()).await.is_ok());
        let status = fleet.status();
        assert_eq!(
            (status[0].up, status[0].load, status[0].failures),
            (false, 0, 1)
        );
        assert_eq!(status[1].load, 2);
        assert_eq!(fleet.lease().endpoint(), "b");
        drop((first, second));
        assert_eq!(fleet.status()[1].load, 0);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(fleet.status()[0].up);
        assert_eq!(fleet.lease().endpoint(), "a");
    }

    fn health(loads: &[usize]) -> Vec<Health> {
        loads
            .iter()
            .map(|&load| Health {
                load,
                ..Health::default()
            })
            .collect()
    }

    #[test]
    fn documents_go_to_the_least_loaded_endpoint_in_rotation() {
        let now = Instant::now();
        let mut h = health(&[2, 1, 1]);
        assert_eq!(pick(&h, now, None), 1);
        h[1].down_until = Some(now + Duration::from_secs(5));
        assert_eq!(pick(&h, now, None), 2);
        assert_eq!(pick(&h, now, Some(2)), 0);
        // Its rest over, the endpoint is back in rotation.
        assert_eq!(pick(&h, now + Duration::from_secs(5), Some(2)), 1);
    }

    #[test]
    fn with_every_endpoint_down_the_first_to_come_back_is_tried() {
        let now = Instant::now();
        let mut h = health(&[0, 0]);
        h[0].down_until = Some(now + Duration::from_secs(9));
        h[1].down_until = Some(now + Duration::from_secs(3));
        assert_eq!(pick(&h, now, None), 1);
        assert_eq!(pick(&h, now, Some(1)), 0);
        assert_eq!(pick(&health(&[0]), now, Some(0)), 0);
    }

    #[test]
    fn only_endpoint_wide_failures_move_a_document() {
        assert!(endpoint_down(&BackendError::Broken("eof".into())));
        assert!(endpoint_down(&BackendError::Unreachable {
            url: "u".into(),
            reason: "refused".into()
        }));
        let status = |status| BackendError::Status {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(endpoint_down(&status(503)));
        assert!(!endpoint_down(&status(429)));
        assert!(!endpoint_down(&BackendError::Invalid("x".into())));
    }
}
