//! Runs an axum router on 127.0.0.1 on a thread with its own Tokio runtime, so that plain
//! synchronous tests (and blocking HTTP clients, which must not run inside a runtime) can use
//! the doubles. Shared by every double in this crate.

use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;

use axum::Router;
use tokio::sync::oneshot;

/// A running server; stopped by [`Background::stop`] or on drop.
pub(crate) struct Background {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Binds 127.0.0.1:`port` (0 for an ephemeral port) before returning, so the address is
    /// known and bind errors surface here rather than on the server thread.
    pub fn start(name: &str, port: u16, router: Router) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("berth-testkit-{name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("berth-testkit: cannot serve on {addr}: {e}");
                            return;
                        }
                    };
                    // Not a graceful shutdown: stopping must close the port at once, even
                    // with a request sleeping in `latency_ms` or a client holding a
                    // keep-alive connection, so tests can see "connection refused".
                    tokio::select! {
                        _ = axum::serve(listener, router).into_future() => {}
                        _ = rx => {}
                    }
                });
                // Dropping the runtime here cancels the connection tasks still open.
            })?;
        Ok(Background {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the port and waits for the server thread. Idempotent.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The thread may already be gone (bind failure); nothing to signal then.
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread was already printed; stopping must not panic.
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}
