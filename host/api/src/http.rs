//! The HTTP API: Odoo's JSON-RPC endpoints (`/web/session/authenticate`,
//! `/web/dataset/call_kw`) and `/health`.
//!
//! Every failure becomes Odoo's JSON-RPC error object — `code`, `message`,
//! and `data` with `name` (`odoo.exceptions.UserError`, …), `message`,
//! `arguments` — never a bare 500.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pulse_orm::{Orm, OrmError};
use pulse_runtime::{AddonError, CallError};
use serde_json::{Map, Value, json};

use crate::auth::{self, User};
use crate::dispatch::{self, CallFailure};
use crate::{Error, Host, TxOrm};

/// The Odoo series and version this host answers as.
pub const SERVER_VERSION: &str = "19.0";

/// The most a request body may hold: an authenticated call's (a session's
/// `call_kw`, a JSON-2 call with its key, an `object` call over XML-RPC or
/// JSON-RPC, whose credentials are inside the body).
pub const MAX_BODY: usize = 16 << 20;

/// The most an unauthenticated request's body may hold: logging in, the
/// `common` and `db` services, version and session information. Enough
/// for any real login, small enough that floods of them cost little.
pub const MAX_ANONYMOUS_BODY: usize = 64 << 10;

/// The media types a JSON endpoint accepts (Odoo's `JSON_MIMETYPES`).
const JSON_MEDIA_TYPES: [&str; 2] = ["application/json", "application/json-rpc"];

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
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            metrics_addr: None,
            metrics_token: None,
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
        .route("/web/session/authenticate", post(authenticate))
        .route("/web/session/destroy", post(destroy_session))
        .route("/web/dataset/call_kw", post(call_kw))
        .route("/web/dataset/call_kw/{*path}", post(call_kw))
        .route("/web/session/get_session_info", post(get_session_info))
        .route("/web/webclient/version_info", post(version_info))
        .route("/jsonrpc", post(jsonrpc))
        .route("/xmlrpc/2/{service}", post(xmlrpc))
        .route("/xmlrpc/{service}", post(xmlrpc_legacy))
        .route("/json/2/{model}/{method}", post(json2))
        .route("/ready", get(ready));
    if options.metrics_addr.is_none() {
        router = router.route("/metrics", metrics_route(options.metrics_token.clone()));
    }
    let request_timeout = options.request_timeout;
    router
        .fallback(crate::routes::serve)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(request_timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &RpcError::server(
                            "werkzeug.exceptions.ServiceUnavailable",
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
                    &RpcError::server(
                        "werkzeug.exceptions.Unauthorized",
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
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim())
        .unwrap_or_default();
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
                .get::<crate::routes::RoutePattern>()
                .map(|p| p.0.clone())
        })
        .unwrap_or_else(|| "unmatched".into());
    crate::metrics::metrics().http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Prometheus' text exposition.
fn metrics(host: &Host) -> impl IntoResponse {
    let text = crate::metrics::metrics().render(host.db.pool.size(), host.db.pool.num_idle());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// 200 when the database answers and the installed addons are loaded.
async fn ready(State(host): State<Arc<Host>>) -> Response {
    let database = sqlx::query("SELECT 1").execute(&host.db.pool).await;
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

async fn health() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({"status": "pass"})))
}

/// An error as Odoo's JSON-RPC reports it.
#[derive(Debug)]
pub(crate) struct RpcError {
    code: i64,
    message: &'static str,
    name: String,
    text: String,
}

impl RpcError {
    pub(crate) fn server(name: &str, text: impl Into<String>) -> RpcError {
        RpcError {
            code: 200,
            message: "Odoo Server Error",
            name: name.to_string(),
            text: text.into(),
        }
    }

    fn session_expired() -> RpcError {
        RpcError {
            code: 100,
            message: "Odoo Session Expired",
            name: "odoo.http.SessionExpiredException".into(),
            text: "Session expired".into(),
        }
    }

    pub(crate) fn user(text: impl Into<String>) -> RpcError {
        RpcError::server("odoo.exceptions.UserError", text)
    }

    fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "data": {
                "name": self.name,
                "debug": "",
                "message": self.text,
                "arguments": [self.text],
                "context": {},
            }
        })
    }
}

fn orm_error(e: OrmError) -> RpcError {
    match e {
        OrmError::Access(m) => RpcError::server("odoo.exceptions.AccessError", m),
        OrmError::Validation(m) => RpcError::server("odoo.exceptions.ValidationError", m),
        OrmError::Missing(m) => RpcError::server("odoo.exceptions.MissingError", m),
        OrmError::User(m) => RpcError::user(m),
        OrmError::Value(m) => RpcError::server("builtins.ValueError", m),
        OrmError::Database(e) => {
            RpcError::server("psycopg2.Error", crate::error::database_failure(&e))
        }
    }
}

fn call_error(e: CallError) -> RpcError {
    match e {
        CallError::Addon(AddonError::Access(m)) => {
            RpcError::server("odoo.exceptions.AccessError", m)
        }
        CallError::Addon(AddonError::Validation(m)) => {
            RpcError::server("odoo.exceptions.ValidationError", m)
        }
        CallError::Addon(AddonError::Missing(m)) => {
            RpcError::server("odoo.exceptions.MissingError", m)
        }
        CallError::Addon(AddonError::User(m)) => RpcError::user(m),
        CallError::Addon(AddonError::Internal(m)) => {
            RpcError::server("pulse.exceptions.AddonError", m)
        }
        e @ CallError::Trap { .. } => RpcError::server("pulse.exceptions.AddonTrap", e.to_string()),
        e @ CallError::Timeout { .. } => {
            RpcError::server("pulse.exceptions.AddonTimeout", e.to_string())
        }
        e @ (CallError::OutOfMemory { .. } | CallError::CallTreeOutOfMemory { .. }) => {
            RpcError::server("pulse.exceptions.AddonOutOfMemory", e.to_string())
        }
        e @ CallError::BadAnswer { .. } => {
            RpcError::server("pulse.exceptions.AddonError", e.to_string())
        }
    }
}

impl From<Error> for RpcError {
    fn from(e: Error) -> RpcError {
        match e {
            Error::Orm(e) => orm_error(e),
            Error::Call(e) => call_error(e),
            Error::Database(e) => orm_error(OrmError::Database(e)),
            other => RpcError::user(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for RpcError {
    fn from(e: sqlx::Error) -> RpcError {
        orm_error(OrmError::Database(e))
    }
}

/// A JSON-RPC response with the request's id.
fn reply(id: &Value, outcome: Result<Value, RpcError>) -> Response {
    let body = match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}),
    };
    axum::Json(body).into_response()
}

/// A request body of at most `LIMIT` bytes, refused with 413 before any of
/// it is read when `Content-Length` says more, and cut off at the limit
/// when it does not say.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, (StatusCode, RpcError)> {
    let too_large = || too_large(limit);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// 413, naming the limit.
fn too_large(limit: usize) -> (StatusCode, RpcError) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        RpcError::server(
            "werkzeug.exceptions.RequestEntityTooLarge",
            format!("this endpoint accepts request bodies of at most {limit} bytes"),
        ),
    )
}

/// Whether the request says its body is JSON (`application/json`, with
/// or without parameters such as `charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            JSON_MEDIA_TYPES
                .iter()
                .any(|json| media.trim().eq_ignore_ascii_case(json))
        })
}

/// 415 for a JSON endpoint's body of another type: a cross-site form
/// cannot send `application/json`, and nothing else is parsed as JSON.
fn not_json(headers: &HeaderMap) -> (StatusCode, RpcError) {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RpcError::server(
            "werkzeug.exceptions.UnsupportedMediaType",
            match given {
                Some(given) => format!(
                    "this endpoint takes JSON (Content-Type: application/json), not {given:?}"
                ),
                None => "this endpoint takes JSON (Content-Type: application/json)".into(),
            },
        ),
    )
}

/// The body of a JSON-RPC request: of type `application/json` and at most
/// `LIMIT` bytes.
struct JsonBody<const LIMIT: usize>(Bytes);

impl<S: Send + Sync, const LIMIT: usize> axum::extract::FromRequest<S> for JsonBody<LIMIT> {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, _: &S) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let refuse = |(status, e): (StatusCode, RpcError)| json_error(status, &e);
        if !is_json(&parts.headers) {
            return Err(refuse(not_json(&parts.headers)));
        }
        read_body(&parts.headers, body, LIMIT)
            .await
            .map(JsonBody)
            .map_err(refuse)
    }
}

/// The user of the request's session; the rejection is Odoo's "Session
/// expired", answered before the body is read.
struct SessionUser(User);

impl axum::extract::FromRequestParts<Arc<Host>> for SessionUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        host: &Arc<Host>,
    ) -> Result<Self, Response> {
        session_user(host, &parts.headers)
            .await
            .map(SessionUser)
            .ok_or_else(|| reply(&Value::Null, Err(RpcError::session_expired())))
    }
}

/// Werkzeug's answer to a body that is no JSON.
fn invalid_json(e: serde_json::Error) -> RpcError {
    RpcError::server(
        "werkzeug.exceptions.BadRequest",
        format!("Invalid JSON data: {e}"),
    )
}

/// Parses a JSON-RPC request body into its id and params.
pub(crate) fn parse_request(
    body: &Bytes,
) -> Result<(Value, Map<String, Value>), (Value, RpcError)> {
    let request: Value =
        serde_json::from_slice(body).map_err(|e| (Value::Null, invalid_json(e)))?;
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match request.get("params") {
        Some(Value::Object(params)) => Ok((id, params.clone())),
        None => Ok((id, Map::new())),
        Some(other) => Err((
            id,
            RpcError::server(
                "werkzeug.exceptions.BadRequest",
                format!("params must be an object, got {other}"),
            ),
        )),
    }
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.to_string())
}

/// A list argument (absent or null: empty).
pub(crate) fn list_arg(value: Option<&Value>, what: &str) -> Result<Vec<Value>, RpcError> {
    match value {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(other) => Err(RpcError::server(
            "builtins.TypeError",
            format!("{what} must be a list, got {other}"),
        )),
    }
}

/// A dictionary argument (absent, null or false: empty).
pub(crate) fn dict_arg(value: Option<&Value>, what: &str) -> Result<Map<String, Value>, RpcError> {
    match value {
        Some(Value::Object(map)) => Ok(map.clone()),
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Map::new()),
        Some(other) => Err(RpcError::server(
            "builtins.TypeError",
            format!("{what} must be a dictionary, got {other}"),
        )),
    }
}

pub(crate) fn text_param<'a>(
    params: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, RpcError> {
    params.get(name).and_then(Value::as_str).ok_or_else(|| {
        RpcError::server(
            "builtins.TypeError",
            format!("missing required parameter '{name}'"),
        )
    })
}

async fn authenticate(
    State(host): State<Arc<Host>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>,
) -> Response {
    let (id, params) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    let outcome = async {
        let db = text_param(&params, "db")?;
        let login = text_param(&params, "login")?;
        let password = text_param(&params, "password")?;
        let address = client_address(&host, peer, &headers);
        log_in(&host, address, db, login, password, auth::Door::Interactive).await
    }
    .await;
    match outcome {
        Ok((user, stamp)) => {
            let info = session_info(&host, &user);
            let session = host.sessions.open(auth::Session { user, stamp });
            let mut response = reply(&id, Ok(info));
            // A browser that came over HTTPS sends the cookie back over HTTPS only.
            let secure = if came_over_https(&host, peer, &headers) {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!("session_id={session}; HttpOnly; SameSite=Lax; Path=/{secure}");
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("hex session ids are valid header values"),
            );
            response
        }
        Err(e) => reply(&id, Err(e)),
    }
}

/// The database `db` is the one this server serves, or Odoo's error.
fn check_db(host: &Host, db: &str) -> Result<(), RpcError> {
    if db == host.db.name {
        Ok(())
    } else {
        Err(RpcError::server(
            "odoo.exceptions.AccessError",
            format!(
                "Database not found. (this server serves {:?})",
                host.db.name
            ),
        ))
    }
}

/// The most of a login a log line shows.
const LOGGED_LOGIN_CHARS: usize = 64;

/// Checks a login and password (at the RPC door, or an API key) on `db`,
/// throttling failures per login and per client address: the attempt is
/// counted as a failure before the password is checked, and forgiven (with
/// the address's and the login's earlier failures) when it succeeds.
async fn log_in(
    host: &Host,
    address: std::net::IpAddr,
    db: &str,
    login: &str,
    password: &str,
    door: auth::Door,
) -> Result<(User, auth::Stamp), RpcError> {
    check_db(host, db)?;
    let keys = auth::throttle_keys(login, address);
    let shown: String = login.chars().take(LOGGED_LOGIN_CHARS).collect();
    if host.throttle.reserve(&keys).is_err() {
        tracing::warn!(login = %shown, %address, "login refused: too many failures");
        return Err(RpcError::server(
            "odoo.exceptions.AccessDenied",
            "Too many failed logins; try again later",
        ));
    }
    match auth::authenticate(&host.db, login, password, door)
        .await
        .map_err(RpcError::from)?
    {
        Some(found) => {
            host.throttle.succeeded(&keys);
            Ok(found)
        }
        None => {
            tracing::info!(login = %shown, %address, "login failed");
            Err(access_denied())
        }
    }
}

/// How many `X-Forwarded-For` hops are looked at, right to left.
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address, for throttling and logs: the peer's, unless the
/// host runs in proxy mode and the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` address that is not itself a trusted
/// proxy (what the proxy saw; anything left of it the client wrote).
pub(crate) fn client_address(
    host: &Host,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    let proxy = &host.config.proxy;
    let mut client = peer.ip().to_canonical();
    if !proxy.trusts(client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .take(MAX_FORWARDED_HOPS);
    for hop in hops {
        let hop = hop.trim();
        let Some(address) = hop
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        else {
            break;
        };
        client = address.to_canonical();
        if !proxy.trusts(client) {
            break;
        }
    }
    client
}

/// Whether the request came over HTTPS: as a trusted proxy says in
/// `X-Forwarded-Proto` (the right-most value, its own), in proxy mode only.
/// Pulse itself listens in plain HTTP.
fn came_over_https(host: &Host, peer: std::net::SocketAddr, headers: &HeaderMap) -> bool {
    host.config.proxy.trusts(peer.ip())
        && headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The user of the request's session: a live session whose user's
/// credentials are still those it was opened with (a new password or a
/// deactivation ends it here, see `auth::Stamp`).
pub(crate) async fn session_user(host: &Host, headers: &HeaderMap) -> Option<User> {
    let id = session_cookie(headers)?;
    let session = host.sessions.get(&id)?;
    match auth::current_stamp(&host.db, session.user.uid).await {
        Ok(Some(stamp)) if stamp == session.stamp => Some(session.user),
        Ok(_) => {
            tracing::info!(
                uid = session.user.uid,
                "session ended: the user's credentials changed"
            );
            host.sessions.close(&id);
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check a session");
            None
        }
    }
}

fn access_denied() -> RpcError {
    RpcError::server("odoo.exceptions.AccessDenied", "Access Denied")
}

/// Checks the `uid` and password (or API key) an `object` call carries.
/// Successful checks are remembered for a few minutes, by a digest of the
/// password, so scripts do not pay for argon2 on every call.
async fn check_uid_password(
    host: &Host,
    address: std::net::IpAddr,
    uid: i64,
    password: &str,
) -> Result<(), RpcError> {
    if password.is_empty() {
        return Err(access_denied());
    }
    // Remembered credentials hold only while the user's are the same.
    let Some(stamp) = auth::current_stamp(&host.db, uid).await? else {
        return Err(access_denied());
    };
    // API keys cost a digest and a query: they are checked every time, so
    // a revoked or expired key stops at once.
    let api_key = password.starts_with(auth::API_KEY_PREFIX);
    if !api_key && host.credentials.is_fresh(uid, password, &stamp) {
        return Ok(());
    }
    let login: Option<String> = sqlx::query_scalar("SELECT login FROM res_users WHERE id = $1")
        .bind(uid)
        .fetch_optional(&host.db.pool)
        .await?;
    let Some(login) = login else {
        return Err(access_denied());
    };
    let (user, stamp) = log_in(
        host,
        address,
        &host.db.name,
        &login,
        password,
        auth::Door::Rpc,
    )
    .await?;
    if user.uid != uid {
        return Err(access_denied());
    }
    if !api_key {
        host.credentials.remember(uid, password, &stamp);
    }
    Ok(())
}

/// Odoo's `version()` answer.
fn version() -> Value {
    json!({
        "server_version": SERVER_VERSION,
        "server_version_info": [19, 0, 0, "final", 0, ""],
        "server_serie": SERVER_VERSION,
        "protocol_version": 1,
    })
}

async fn version_info(JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>) -> Response {
    let id = parse_request(&body)
        .map(|(id, _)| id)
        .unwrap_or(Value::Null);
    reply(&id, Ok(version()))
}

async fn get_session_info(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>,
) -> Response {
    let id = parse_request(&body)
        .map(|(id, _)| id)
        .unwrap_or(Value::Null);
    match session_user(&host, &headers).await {
        Some(user) => reply(&id, Ok(session_info(&host, &user))),
        None => reply(&id, Err(RpcError::session_expired())),
    }
}

fn arg<'a>(args: &'a [Value], index: usize, what: &str) -> Result<&'a Value, RpcError> {
    args.get(index).ok_or_else(|| {
        RpcError::server(
            "builtins.TypeError",
            format!("missing required argument {index} ({what})"),
        )
    })
}

fn text_arg<'a>(args: &'a [Value], index: usize, what: &str) -> Result<&'a str, RpcError> {
    arg(args, index, what)?
        .as_str()
        .ok_or_else(|| RpcError::server("builtins.TypeError", format!("{what} must be a string")))
}

/// Odoo's `dispatch_rpc`: the `common`, `object` and `db` services, as
/// `/xmlrpc/2/<service>` and `/jsonrpc` expose them.
async fn service(
    host: &Host,
    address: std::net::IpAddr,
    service: &str,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, RpcError> {
    match (service, method) {
        ("common", "version") => Ok(version()),
        ("common", "about") => Ok(json!(format!(
            "See https://example.invalid/pulse — Odoo {SERVER_VERSION} compatible"
        ))),
        ("common", "set_loglevel") => Ok(json!(true)),
        ("common", "login" | "authenticate") => {
            let db = text_arg(&args, 0, "db")?;
            let login = text_arg(&args, 1, "login")?;
            let password = text_arg(&args, 2, "password")?;
            match log_in(host, address, db, login, password, auth::Door::Rpc).await {
                Ok((user, _)) => Ok(json!(user.uid)),
                // Odoo answers False for bad credentials.
                Err(e) if e.name == "odoo.exceptions.AccessDenied" => Ok(json!(false)),
                Err(e) => Err(e),
            }
        }
        ("object", "execute_kw" | "execute") => {
            let keyword = method == "execute_kw";
            check_db(host, text_arg(&args, 0, "db")?)?;
            let uid = arg(&args, 1, "uid")?
                .as_i64()
                .or_else(|| arg(&args, 1, "uid").ok()?.as_str()?.parse().ok())
                .ok_or_else(access_denied)?;
            let password = arg(&args, 2, "password")?.as_str().unwrap_or_default();
            check_uid_password(host, address, uid, password).await?;
            let model = text_arg(&args, 3, "model")?.to_string();
            let method = text_arg(&args, 4, "method")?.to_string();
            let (call_args, mut kwargs) = if keyword {
                (
                    list_arg(args.get(5), "args")?,
                    dict_arg(args.get(6), "kwargs")?,
                )
            } else {
                (args.get(5..).unwrap_or_default().to_vec(), Map::new())
            };
            kwargs.remove("context");
            execute_kw(host, uid, &model, &method, call_args, kwargs).await
        }
        ("db", "list") => Ok(json!([host.db.name])),
        ("db", "server_version") => Ok(json!(SERVER_VERSION)),
        ("db", "list_lang") => Ok(json!([["en_US", "English (US)"]])),
        ("db", "db_exist") => Ok(json!(text_arg(&args, 0, "db_name")? == host.db.name)),
        ("db", _) => {
            // Creating, dropping, duplicating, dumping and restoring
            // databases is the operator's job here (pulse CLI, pg tools),
            // so no master password opens it over RPC.
            tracing::warn!(method, "database management over RPC refused");
            Err(access_denied())
        }
        _ => Err(RpcError::server(
            "builtins.NameError",
            format!("Method not found: {method}"),
        )),
    }
}

async fn jsonrpc(
    State(host): State<Arc<Host>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    let address = client_address(&host, peer, &headers);
    // The service and the credentials are inside the body: a body larger
    // than an anonymous request is only parsed whole once a pass that
    // builds nothing has found an `object` call with valid credentials.
    if body.len() > MAX_ANONYMOUS_BODY
        && let Err(refusal) = check_large_jsonrpc(&host, address, &body).await
    {
        return refusal;
    }
    let (id, params) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    let outcome = async {
        let name = text_param(&params, "service")?;
        let method = text_param(&params, "method")?;
        let args = list_arg(params.get("args"), "args")?;
        service(&host, address, name, method, args).await
    }
    .await;
    reply(&id, outcome)
}

/// Refuses a large `/jsonrpc` body before it is parsed whole: anything but
/// an `object` call gets 413, and an `object` call whose database, uid or
/// password do not check out gets Odoo's AccessDenied. The pass reads only
/// the service and the first three arguments and skips every other value
/// without building it, so a hostile body costs no more than its bytes.
async fn check_large_jsonrpc(
    host: &Host,
    address: std::net::IpAddr,
    body: &[u8],
) -> Result<(), Response> {
    let head: rpc_head::Head =
        serde_json::from_slice(body).map_err(|e| reply(&Value::Null, Err(invalid_json(e))))?;
    let id = head.id.into_value();
    let params = head.params.unwrap_or_default();
    if params.service.as_deref() != Some("object") {
        let (status, e) = too_large(MAX_ANONYMOUS_BODY);
        return Err(json_error(status, &e));
    }
    let [db, uid, password] = params.args.unwrap_or_default().0;
    let checked = async {
        check_db(host, db.as_text().ok_or_else(access_denied)?)?;
        let uid = uid.as_id().ok_or_else(access_denied)?;
        check_uid_password(host, address, uid, password.as_text().unwrap_or_default()).await
    }
    .await;
    checked.map_err(|e| reply(&id, Err(e)))
}

/// The part of a JSON-RPC request a large body must show before it is
/// parsed whole, read without building any other value.
mod rpc_head {
    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    #[derive(Debug, Default, serde::Deserialize)]
    pub(super) struct Head {
        #[serde(default)]
        pub id: Scalar,
        #[serde(default)]
        pub params: Option<Params>,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    pub(super) struct Params {
        #[serde(default)]
        pub service: Option<String>,
        #[serde(default)]
        pub args: Option<FirstArgs>,
    }

    /// The first three arguments (`db`, `uid`, `password` of an `object`
    /// call); the rest are skipped.
    #[derive(Debug, Default)]
    pub(super) struct FirstArgs(pub [Scalar; 3]);

    /// A string or an integer; any other value is skipped unbuilt.
    #[derive(Debug, Default)]
    pub(super) enum Scalar {
        Text(String),
        Integer(i64),
        #[default]
        Other,
    }

    impl Scalar {
        pub fn as_text(&self) -> Option<&str> {
            match self {
                Scalar::Text(text) => Some(text),
                _ => None,
            }
        }

        /// An id, given as a number or as its digits (as `service` takes it).
        pub fn as_id(&self) -> Option<i64> {
            match self {
                Scalar::Integer(n) => Some(*n),
                Scalar::Text(text) => text.parse().ok(),
                Scalar::Other => None,
            }
        }

        pub fn into_value(self) -> Value {
            match self {
                Scalar::Text(text) => Value::String(text),
                Scalar::Integer(n) => Value::from(n),
                Scalar::Other => Value::Null,
            }
        }
    }

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
            struct ScalarVisitor;
            impl<'de> Visitor<'de> for ScalarVisitor {
                type Value = Scalar;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar::Text(v.to_string()))
                }
                fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                    Ok(Scalar::Text(v))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar::Integer(v))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                    Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Integer))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_unit<E>(self) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
            }
            deserializer.deserialize_any(ScalarVisitor)
        }
    }

    impl<'de> Deserialize<'de> for FirstArgs {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FirstArgs, D::Error> {
            struct ArgsVisitor;
            impl<'de> Visitor<'de> for ArgsVisitor {
                type Value = FirstArgs;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a list of arguments")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstArgs, A::Error> {
                    let mut first = FirstArgs::default();
                    for slot in &mut first.0 {
                        match seq.next_element::<Scalar>()? {
                            Some(value) => *slot = value,
                            None => return Ok(first),
                        }
                    }
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(first)
                }
                // Anything but a list is refused later, by the whole parse.
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstArgs, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(FirstArgs::default())
                }
                fn visit_str<E>(self, _: &str) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_i64<E>(self, _: i64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_u64<E>(self, _: u64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_f64<E>(self, _: f64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_bool<E>(self, _: bool) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_unit<E>(self) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
            }
            deserializer.deserialize_any(ArgsVisitor)
        }
    }
}

/// Odoo's XML-RPC fault code for an error kind.
fn fault_code(name: &str) -> i64 {
    match name {
        "odoo.exceptions.AccessDenied" => 3,
        "odoo.exceptions.AccessError" => 4,
        "odoo.exceptions.UserError"
        | "odoo.exceptions.ValidationError"
        | "odoo.exceptions.MissingError"
        | "odoo.exceptions.RedirectWarning" => 2,
        _ => 1,
    }
}

/// The body limit of an RPC service: `object` calls carry credentials
/// and arguments, the others are anonymous.
fn service_body_limit(service: Option<&str>) -> usize {
    match service {
        Some("object") => MAX_BODY,
        _ => MAX_ANONYMOUS_BODY,
    }
}

async fn xmlrpc(
    State(host): State<Arc<Host>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let address = client_address(&host, peer, &headers);
    xmlrpc_answer(&host, address, &name, &headers, body, false).await
}

/// Odoo's legacy `/xmlrpc/<service>`: the same services, with faults whose
/// code is text (`warning -- AccessError\n\n<message>`, `AccessDenied`, …).
async fn xmlrpc_legacy(
    State(host): State<Arc<Host>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let address = client_address(&host, peer, &headers);
    xmlrpc_answer(&host, address, &name, &headers, body, true).await
}

async fn xmlrpc_answer(
    host: &Host,
    address: std::net::IpAddr,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    legacy: bool,
) -> Response {
    let body = match read_body(headers, body, service_body_limit(Some(name))).await {
        Ok(body) => body,
        // XML-RPC clients read faults, not JSON.
        Err((status, e)) => {
            let fault = crate::xmlrpc::fault(1, &format!("{}: {}", e.name, e.text));
            return (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                fault,
            )
                .into_response();
        }
    };
    let outcome = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|xml| crate::xmlrpc::parse_call(xml).map_err(|e| e.to_string()))
    {
        Ok((method, args)) => service(host, address, name, &method, args).await,
        Err(e) => Err(RpcError::server(
            "xml.parsers.expat.ExpatError",
            format!("invalid XML-RPC request: {e}"),
        )),
    };
    let xml = match outcome {
        Ok(value) => crate::xmlrpc::response(&value),
        Err(e) if legacy => {
            let kind = e.name.rsplit('.').next().unwrap_or_default();
            let (code, text) = match fault_code(&e.name) {
                3 => ("AccessDenied".to_string(), "Access Denied".to_string()),
                1 => (e.text.clone(), format!("{kind}: {}", e.text)),
                _ => {
                    let label = match kind {
                        "ValidationError" | "RedirectWarning" => "UserError",
                        other => other,
                    };
                    (format!("warning -- {label}\n\n{}", e.text), String::new())
                }
            };
            crate::xmlrpc::fault_with(Value::String(code), &text)
        }
        Err(e) => {
            let code = fault_code(&e.name);
            let text = match code {
                3 => "Access Denied".to_string(),
                // Odoo sends a traceback; its last line names the error.
                1 => format!("{}: {}", e.name.trim_start_matches("builtins."), e.text),
                _ => e.text.clone(),
            };
            crate::xmlrpc::fault(code, &text)
        }
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// JSON-2 (Odoo 19): `POST /json/2/<model>/<method>` with a bearer API
/// key and named arguments; errors as HTTP statuses.
async fn json2(
    State(host): State<Arc<Host>>,
    axum::extract::Path((model, method)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim().to_string());
        let unauthorized = || {
            (
                StatusCode::UNAUTHORIZED,
                RpcError::server("werkzeug.exceptions.Unauthorized", "Invalid apikey"),
            )
        };
        let key = key.ok_or_else(unauthorized)?;
        let uid = auth::api_key_owner(&host.db, &key)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, RpcError::from(e)))?
            .ok_or_else(unauthorized)?;
        if let Some(db) = headers.get("x-odoo-database").and_then(|v| v.to_str().ok()) {
            check_db(&host, db).map_err(|e| (StatusCode::NOT_FOUND, e))?;
        }
        // Read only once the key is known good.
        let body = read_body(&headers, body, MAX_BODY).await?;
        if !body.is_empty() && !is_json(&headers) {
            return Err(not_json(&headers));
        }
        let mut kwargs: Map<String, Value> = match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => map,
            _ if body.is_empty() => Map::new(),
            _ => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    RpcError::server(
                        "werkzeug.exceptions.BadRequest",
                        "the body must be a JSON object of named arguments",
                    ),
                ));
            }
        };
        kwargs.remove("context");
        let ids = kwargs.remove("ids").unwrap_or(json!([]));
        let snapshot = host.snapshot();
        if snapshot.registry.get(&model).is_none() {
            return Err((
                StatusCode::NOT_FOUND,
                RpcError::server(
                    "werkzeug.exceptions.NotFound",
                    format!("the model '{model}' does not exist"),
                ),
            ));
        }
        let model_method = dispatch::is_model_method(&method);
        let ids_given = ids.as_array().is_some_and(|a| !a.is_empty());
        if model_method && ids_given {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                RpcError::server(
                    "werkzeug.exceptions.UnprocessableEntity",
                    format!("cannot call {model}.{method} with ids"),
                ),
            ));
        }
        let args = if model_method { Vec::new() } else { vec![ids] };
        execute_kw(&host, uid, &model, &method, args, kwargs)
            .await
            .map_err(|e| (json2_status(&e), e))
    }
    .await;
    match outcome {
        Ok(value) => axum::Json(value).into_response(),
        Err((status, e)) => json_error(status, &e),
    }
}

/// An error as JSON-2 answers it (addon routes answer the same way).
pub(crate) fn json_error(status: StatusCode, e: &RpcError) -> Response {
    let body = json!({
        "name": e.name,
        "message": e.text,
        "arguments": [e.text],
        "context": {},
        "debug": "",
    });
    (status, axum::Json(body)).into_response()
}

/// JSON-2's HTTP status for an error kind.
pub(crate) fn json2_status(e: &RpcError) -> StatusCode {
    match e.name.as_str() {
        "odoo.exceptions.UserError"
        | "odoo.exceptions.ValidationError"
        | "builtins.TypeError"
        | "builtins.ValueError" => StatusCode::UNPROCESSABLE_ENTITY,
        "odoo.exceptions.AccessError" | "odoo.exceptions.AccessDenied" => StatusCode::FORBIDDEN,
        "odoo.exceptions.MissingError" | "builtins.AttributeError" | "builtins.KeyError" => {
            StatusCode::NOT_FOUND
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn destroy_session(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>,
) -> Response {
    let id = parse_request(&body)
        .map(|(id, _)| id)
        .unwrap_or(Value::Null);
    if let Some(session) = session_cookie(&headers) {
        host.sessions.close(&session);
    }
    let mut response = reply(&id, Ok(Value::Null));
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    response
}

fn session_info(host: &Host, user: &User) -> Value {
    json!({
        "uid": user.uid,
        "is_system": user.uid == crate::base::SUPERUSER_ID,
        "is_admin": user.uid == crate::base::SUPERUSER_ID,
        "name": user.name,
        "username": user.login,
        "partner_display_name": user.name,
        "db": host.db.name,
        "server_version": SERVER_VERSION,
        "server_version_info": [19, 0, 0, "final", 0, ""],
        "user_context": {"lang": "en_US", "tz": "UTC", "uid": user.uid},
    })
}

/// The session is checked before the body is read: without one, a large
/// body costs nothing.
async fn call_kw(
    State(host): State<Arc<Host>>,
    SessionUser(user): SessionUser,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    let (id, params) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    let outcome = async {
        let model = text_param(&params, "model")?.to_string();
        let method = text_param(&params, "method")?.to_string();
        let args = list_arg(params.get("args"), "args")?;
        let mut kwargs = dict_arg(params.get("kwargs"), "kwargs")?;
        kwargs.remove("context");
        execute_kw(&host, user.uid, &model, &method, args, kwargs).await
    }
    .await;
    reply(&id, outcome)
}

/// Runs `model.method(*args, **kwargs)` in one transaction, committed when
/// it succeeds: the top of the method's override chain, or the ORM's own.
async fn execute_kw(
    host: &Host,
    uid: i64,
    model: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Value, RpcError> {
    if method.starts_with('_') {
        return Err(RpcError::server(
            "odoo.exceptions.AccessError",
            format!("Private methods (such as '{model}.{method}') cannot be called remotely."),
        ));
    }
    host.refresh().await?;
    let (ids, rest) = dispatch::split_args(method, args).map_err(failure)?;
    if let Some(outcome) = crate::modules::system_call(host, uid, model, method, &ids).await {
        return outcome;
    }
    // Another transaction getting in the way rolls the call back and runs it again.
    let (ids, rest, kwargs) = (&ids, &rest, &kwargs);
    crate::db::retrying(&format!("{model}.{method}"), move || async move {
        let snapshot = host.snapshot();
        crate::commands::refuse_readonly(&snapshot.registry, model, method, rest, kwargs)
            .map_err(|f| (failure(f), false))?;
        let mut tx = host.db.pool.begin().await.map_err(crate::db::tagged)?;
        // The caller's rights apply to everything the call does.
        let access = crate::Access::load(&mut tx, uid).await.map_err(|e| {
            let clashed = crate::db::is_orm_conflict(&e);
            (orm_error(e), clashed)
        })?;
        let orm = TxOrm::new(
            tx,
            Orm::new(host.db.dialect, snapshot.registry.clone()),
            Some(snapshot),
        )
        .with_access(access);
        let (outcome, orm) = dispatch::call(
            orm,
            model,
            method,
            None,
            ids.clone(),
            rest.clone(),
            kwargs.clone(),
        )
        .await;
        match outcome {
            Ok(value) => orm
                .commit()
                .await
                .map(|()| value)
                .map_err(crate::db::tagged),
            Err(f) => {
                let clashed = f.is_conflict() || orm.conflicted();
                Err((failure(f), clashed))
            }
        }
    })
    .await
}

/// The JSON-RPC error for a failed call.
fn failure(f: CallFailure) -> RpcError {
    match f {
        CallFailure::Orm(e) => orm_error(e),
        CallFailure::Addon(e) => call_error(e),
        CallFailure::NoModel(model) => RpcError::server("builtins.KeyError", format!("'{model}'")),
        CallFailure::NoMethod { model, method } => RpcError::server(
            "builtins.AttributeError",
            format!("The method '{method}' does not exist on the model '{model}'"),
        ),
        CallFailure::BadArgument(m) => RpcError::server("builtins.TypeError", m),
        CallFailure::Unavailable(m) => RpcError::user(m),
    }
}

/// Serves `host` on `listener` until `shutdown` completes, with the
/// default [`ServeOptions`].
pub async fn serve(
    host: Arc<Host>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(host, listener, ServeOptions::default(), shutdown).await
}

/// Serves `host` on `listener` until `shutdown` completes, and `/metrics`
/// on its own address when `options` give one.
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
