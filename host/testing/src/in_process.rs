//! A host served in the test's own process: the host `pulse serve` opens,
//! with every request handed to its router (`pulse_api::router`) through
//! `tower::ServiceExt::oneshot` instead of a socket, as axum's own
//! examples test their routes. No process to start, no port to wait on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use pulse_core::{Config, Host};

use crate::http::{Request, Response};

/// Where an in-process request comes from: a loopback client, as the
/// served tests' requests do (throttling and proxy rules see this address).
const PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 49152);

/// Worker threads of an in-process host's runtime (the machines running
/// the suite have two cores; a served host has as many as the machine).
const WORKERS: usize = 2;

/// One host and its router, on a tokio runtime of their own (the tests
/// are blocking), until [`App::stop`].
pub(crate) struct App {
    running: Mutex<Option<Running>>,
}

struct Running {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    host: Arc<Host>,
}

impl App {
    /// Opens the host on `config` and starts what `pulse serve` starts
    /// before it listens: the installed addons loaded, the scheduler, and
    /// (on PostgreSQL) the listener for other hosts' lifecycle changes.
    pub(crate) fn start(config: Config) -> App {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("pulse-in-process")
            .enable_all()
            .build()
            .expect("a tokio runtime for the in-process host");
        let host = wait(runtime.handle(), async {
            let host = Arc::new(Host::open(config).await.expect("opening the host"));
            host.reload().await.expect("loading the installed addons");
            host
        });
        {
            let _inside = runtime.enter();
            host.spawn_scheduler();
            host.spawn_mailer();
            host.spawn_listener();
        }
        let router = pulse_api::router(host.clone());
        App {
            running: Mutex::new(Some(Running {
                runtime,
                router,
                host,
            })),
        }
    }

    /// Sends one request to the router, as the HTTP/1.1 client would send
    /// it over a socket (`http::request`), and collects the whole response.
    pub(crate) fn request(&self, request: &Request<'_>) -> std::io::Result<Response> {
        let (runtime, router) = {
            let running = self.running.lock().expect("in-process host lock");
            let running = running.as_ref().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "the in-process host was stopped",
                )
            })?;
            (running.runtime.handle().clone(), running.router.clone())
        };
        let mut builder = axum::http::Request::builder()
            .method(request.method)
            .uri(request.path)
            .header("host", PEER.ip().to_string())
            .header("connection", "close")
            .header("content-length", request.body.len());
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        let mut routed = builder
            .body(Body::from(request.body.to_vec()))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        routed.extensions_mut().insert(ConnectInfo(PEER));
        // Spawned, as the accept loop serves each connection on a task of
        // its own, so the handler runs on the runtime's workers.
        let answer = runtime.spawn(async move {
            let response = tower::ServiceExt::oneshot(router, routed)
                .await
                .unwrap_or_else(|never| match never {});
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await;
            (parts, body)
        });
        let (parts, body) = wait(&runtime, answer)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::ConnectionAborted, e))?;
        let body = body.map_err(std::io::Error::other)?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
        })
    }

    /// Stops the host: its background tasks end and its connections close
    /// (later requests are refused, as by a killed server).
    pub(crate) fn stop(&self) {
        let running = self.running.lock().expect("in-process host lock").take();
        if let Some(running) = running {
            off_runtime(move || running.shut_down());
        }
    }
}

impl Running {
    fn shut_down(self) {
        let Running {
            runtime,
            router,
            host,
        } = self;
        {
            let _inside = runtime.enter();
            drop(router);
            drop(host);
        }
        runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

/// Runs `future` on `runtime` and waits for its output.
fn wait<F>(runtime: &tokio::runtime::Handle, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    off_runtime(|| runtime.block_on(future))
}

/// Runs `blocking`, on a thread of its own when the caller is itself on a
/// tokio runtime (an async test), where blocking on another one panics.
fn off_runtime<T: Send>(blocking: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return blocking();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(blocking)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
