//! The shutdown signal of the `serve` command: the first SIGINT (Ctrl-C) or SIGTERM.
//!
//! `serve` takes any future as its shutdown signal, so tests pass a channel instead.

/// Completes on the first SIGINT or SIGTERM; if a handler cannot be installed, waits on the
/// others only.
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
