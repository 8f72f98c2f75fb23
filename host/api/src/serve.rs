//! Serving: the router of every endpoint, the limits on connections and
//! requests ([`ServeOptions`]), `/health`, `/ready` and `/metrics`, and
//! the accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use pulse_core::Host;
use serde_json::json;

use crate::body::MAX_BODY;
use crate::faults::{Exception, RpcError, json_error};
use crate::identity::{ProxyMode, bearer_token};
use crate::{binary, dataset, json2, jsonrpc, session, webclient, xmlrpc_endpoint};

/// How long a client has to send a request's headers before its
/// connection is closed (slowloris), by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take, reading its body included, by default.
/// Addon calls have their own, shorter deadlines; this bounds the rest.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Connections served at once, by default; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;

/// How long the accept loop waits after a failed accept (out of file
/// descriptors, say) before trying again, so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How [`serve_with`] treats connections, and who may read `/metrics`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long one request may take, its body included.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Serve `/metrics` only on this address, not on the main listener.
    pub metrics_addr: Option<SocketAddr>,
    /// A token `/metrics` requires as `Authorization: Bearer TOKEN`.
    pub metrics_token: Option<String>,
    /// Whose word to take on the client's address and scheme.
    pub proxy: ProxyMode,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            metrics_addr: None,
            metrics_token: None,
            proxy: ProxyMode::default(),
        }
    }
}

/// The HTTP routes of `host`, with the default [`ServeOptions`].
pub fn router(host: Arc<Host>) -> Router {
    router_with(host, &ServeOptions::default())
}

/// The HTTP routes of `host`: `/metrics` among them unless it has an
/// address of its own, every request cut off at the request timeout.
pub fn router_with(host: Arc<Host>, options: &ServeOptions) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/web/session/authenticate", post(session::authenticate))
        .route("/web/session/destroy", post(session::destroy_session))
        .route(
            "/web/session/logout",
            get(session::logout).post(session::logout),
        )
        .route("/web/dataset/call_kw", post(dataset::call_kw))
        .route("/web/dataset/call_kw/{*path}", post(dataset::call_kw))
        .route("/web/dataset/call_button", post(dataset::call_button))
        .route(
            "/web/dataset/call_button/{*path}",
            post(dataset::call_button),
        )
        .route("/web/dataset/search_read", post(dataset::search_read))
        .route(
            "/web/session/get_session_info",
            get(session::get_session_info_by_get).post(session::get_session_info),
        )
        .route(
            "/web/webclient/version_info",
            get(session::version_info_by_get).post(session::version_info),
        )
        .route("/web/version", get(session::web_version))
        .route("/web/webclient/load_menus", get(webclient::load_menus))
        .route("/web/content", get(binary::content_by_query))
        .route("/web/content/{*rest}", get(binary::content_by_path))
        .route("/web/image", get(binary::content_by_query))
        .route("/web/image/{*rest}", get(binary::content_by_path))
        .route("/jsonrpc", post(jsonrpc::jsonrpc))
        .route("/xmlrpc/2/{service}", xmlrpc_endpoint::route(false))
        .route("/xmlrpc/{service}", xmlrpc_endpoint::route(true))
        .route("/json/2/{model}/{method}", post(json2::json2))
        .route("/ready", get(ready));
    if options.metrics_addr.is_none() {
        router = router.route("/metrics", metrics_route(options.metrics_token.clone()));
    }
    let request_timeout = options.request_timeout;
    router
        .fallback(crate::addon_routes::serve)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(request_timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &RpcError::new(
                            Exception::ServiceUnavailable,
                            format!(
                                "the request took longer than {} s and was stopped",
                                request_timeout.as_secs_f64()
                            ),
                        ),
                    ),
                }
            },
        ))
        .layer(axum::middleware::from_fn(observe))
        .layer(Extension(Arc::new(options.proxy.clone())))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(host)
}

/// `GET /metrics`, behind `token` when there is one.
fn metrics_route(token: Option<String>) -> axum::routing::MethodRouter<Arc<Host>> {
    get(
        move |State(host): State<Arc<Host>>, headers: HeaderMap| async move {
            if let Some(token) = &token
                && !bearer_is(&headers, token)
            {
                let mut refused = json_error(
                    StatusCode::UNAUTHORIZED,
                    &RpcError::new(
                        Exception::Unauthorized,
                        "/metrics needs its token (Authorization: Bearer …)",
                    ),
                );
                refused
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return refused;
            }
            metrics(&host).into_response()
        },
    )
}

/// Whether the request's bearer token is `token`, compared in constant
/// time (as digests, so not even the length leaks).
fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let given = bearer_token(headers).unwrap_or_default();
    let given = sha2::Sha256::digest(given.as_bytes());
    let token = sha2::Sha256::digest(token.as_bytes());
    given.as_slice().ct_eq(token.as_slice()).into()
}

/// Counts and times every request, under a span naming its route.
async fn observe(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().to_string();
    let matched = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", %method, route = matched.as_deref().unwrap_or_else(|| request.uri().path()));
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    // An addon route is labelled by its pattern; anything else unmatched
    // by one label, so random paths cannot grow the metrics without bound.
    let route = matched
        .or_else(|| {
            response
                .extensions()
                .get::<crate::addon_routes::RoutePattern>()
                .map(|p| p.0.clone())
        })
        .unwrap_or_else(|| "unmatched".into());
    pulse_core::metrics::metrics().http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Prometheus' text exposition.
fn metrics(host: &Host) -> impl IntoResponse {
    let text = pulse_core::metrics::metrics().render(host.db.pool.size(), host.db.pool.num_idle());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// 200 when the database answers and the installed addons are loaded.
async fn ready(State(host): State<Arc<Host>>) -> Response {
    let database = host.ping().await;
    let loaded = host.refresh().await;
    match (database, loaded) {
        (Ok(_), Ok(())) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response(),
        (Err(e), _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": format!("database: {e}")})),
        )
            .into_response(),
        (_, Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "reason": format!("addons: {e}")})),
        )
            .into_response(),
    }
}

/// 200 while the process serves at all.
async fn health() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({"status": "pass"})))
}

/// Serves `host` on `listener` until `shutdown` completes, with the
/// default [`ServeOptions`].
#[crate::boxed]
pub async fn serve(
    host: Arc<Host>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(host, listener, ServeOptions::default(), shutdown).await
}

/// Serves `host` on `listener` until `shutdown` completes, and `/metrics`
/// on its own address when `options` give one.
#[crate::boxed]
pub async fn serve_with(
    host: Arc<Host>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Some(addr) = options.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(addr).await?;
        let app = Router::new()
            .route("/metrics", metrics_route(options.metrics_token.clone()))
            .with_state(host.clone());
        tokio::spawn(accept(
            metrics_listener,
            app,
            options.clone(),
            std::future::pending(),
        ));
    }
    let app = router_with(host, &options);
    accept(listener, app, options, shutdown).await
}

/// Accepts connections while fewer than `max_connections` are open and
/// serves each over HTTP/1.1, closing those whose headers do not arrive
/// in time. `axum::serve` has neither bound.
async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(tokio::sync::Semaphore::new(options.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), request.map(Body::new))
            },
        );
        let connection =
            graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection closed");
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}
