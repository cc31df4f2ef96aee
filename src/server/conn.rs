//! Connections: the accept loop and what one connection may cost the server.
//!
//! Each accepted socket takes a permit of the connection cap first, so a flood of sockets waits
//! in the kernel's backlog instead of using up the process's file descriptors. Each connection
//! is watched by a small state machine (`Activity`): a request head must arrive within the
//! header timeout (from the accept, or from the first byte after a reply), and a keep-alive
//! connection with no request in flight is closed after the idle timeout. While a request is
//! in flight only the body timeout (`limits::body_deadline`) and the reply itself bound it, so a
//! long prefill or a long stream is never cut. `mod.rs` gives the loop its listener, router
//! and shutdown token.

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::Service;

/// What a connection may cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// From the accept (or the first byte after a reply) to the end of the request head.
    pub header: Duration,
    /// From the end of a reply to the first byte of the next request.
    pub idle: Duration,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
}

/// Accepts connections until `stopping` is cancelled, then lets open ones finish their
/// current reply (each is shut down gracefully) and returns when all are closed.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stopping: CancellationToken,
) -> std::io::Result<()> {
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(cap));
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            _ = stopping.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning; the cap should
                    // keep us from getting here at all.
                    tracing::warn!("accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopping.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            router.clone(),
            limits,
            stopping.clone(),
            permit,
        ));
    }
    drop(listener);
    // Every connection holds a permit until it closes: all of them back means all closed.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Serves one connection until it closes, times out, or the server stops.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    stopping: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut router = router.clone();
        let guard = requests.begin();
        async move {
            let response = router.call(request.map(Body::new)).await?;
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Guarded {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping_seen = false;
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            _ = stopping.cancelled(), if !stopping_seen => {
                stopping_seen = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = sleep_until(deadline) => {
                if activity.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!("closing a connection: {}", activity.why());
                    return;
                }
            }
            _ = activity.changed.notified() => {}
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head since this instant.
    Head(Instant),
    /// A reply was sent at this instant and no byte of the next request has come.
    Idle(Instant),
    /// This many requests are being answered.
    Busy(usize),
}

/// One connection's phase, shared by its socket wrapper, its service and its watchdog.
struct Activity {
    phase: Mutex<Phase>,
    /// Woken when the phase changes, so the watchdog picks the new deadline.
    changed: Notify,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            phase: Mutex::new(Phase::Head(now)),
            changed: Notify::new(),
        }
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        let next = f(*phase);
        if next != *phase {
            *phase = next;
            self.changed.notify_one();
        }
    }

    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes came in: an idle connection starts a new request head.
    fn bytes_arrived(&self, now: Instant) {
        self.update(|p| match p {
            Phase::Idle(_) => Phase::Head(now),
            other => other,
        });
    }

    /// A request head was read: the connection is busy until the guard (held by the reply's
    /// body) is dropped.
    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.start_request();
        RequestGuard(self.clone())
    }

    fn start_request(&self) {
        self.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
    }

    fn end(&self, now: Instant) {
        self.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(now),
        });
    }

    /// When the connection must be closed if nothing changes; `None` while busy.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.phase() {
            Phase::Head(since) => Some(since + limits.header),
            Phase::Idle(since) => Some(since + limits.idle),
            Phase::Busy(_) => None,
        }
    }

    fn why(&self) -> &'static str {
        match self.phase() {
            Phase::Head(_) => "no complete request head within the header timeout",
            _ => "idle past the idle timeout",
        }
    }
}

/// Marks a request in flight until dropped.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end(Instant::now());
    }
}

/// A reply body that keeps its request counted as in flight until it is sent or dropped.
struct Guarded {
    body: Body,
    _guard: RequestGuard,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, reporting incoming bytes to the connection's `Activity`.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived(Instant::now());
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(30),
        max_connections: 4,
    };

    #[test]
    fn deadlines_follow_the_phase() {
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let activity = Activity::new(t0);
        assert_eq!(activity.deadline(&LIMITS), Some(t0 + LIMITS.header));
        activity.start_request();
        activity.start_request();
        assert_eq!(activity.deadline(&LIMITS), None, "busy: no deadline");
        activity.end(at(1));
        assert_eq!(activity.deadline(&LIMITS), None, "one still in flight");
        activity.bytes_arrived(at(2));
        assert_eq!(
            activity.deadline(&LIMITS),
            None,
            "bytes while busy change nothing"
        );
        activity.end(at(5));
        assert_eq!(activity.deadline(&LIMITS), Some(at(5) + LIMITS.idle));
        activity.bytes_arrived(at(6));
        assert_eq!(
            activity.deadline(&LIMITS),
            Some(at(6) + LIMITS.header),
            "the first byte starts the header clock"
        );
        activity.bytes_arrived(at(7));
        assert_eq!(
            activity.deadline(&LIMITS),
            Some(at(6) + LIMITS.header),
            "more bytes of the same head do not extend it"
        );
    }
}
