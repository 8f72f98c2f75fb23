//! The HTTP API: Odoo's JSON-RPC endpoints (`/web/session/authenticate`,
//! `/web/dataset/call_kw`) and `/health`.
//!
//! Every failure becomes Odoo's JSON-RPC error object — `code`, `message`,
//! and `data` with `name` (`odoo.exceptions.UserError`, …), `message`,
//! `arguments` — never a bare 500.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
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

/// The most a request body may hold.
const MAX_BODY: usize = 16 << 20;

/// The HTTP routes of `host`.
pub fn router(host: Arc<Host>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/web/session/authenticate", post(authenticate))
        .route("/web/session/destroy", post(destroy_session))
        .route("/web/dataset/call_kw", post(call_kw))
        .route("/web/dataset/call_kw/{*path}", post(call_kw))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(host)
}

async fn health() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(json!({"status": "pass"})))
}

/// An error as Odoo's JSON-RPC reports it.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: &'static str,
    name: String,
    text: String,
}

impl RpcError {
    fn server(name: &str, text: impl Into<String>) -> RpcError {
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

    fn user(text: impl Into<String>) -> RpcError {
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
            tracing::error!(error = %e, "database error");
            RpcError::server("psycopg2.Error", format!("database error: {e}"))
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
        e @ CallError::OutOfMemory { .. } => {
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

/// Parses a JSON-RPC request body into its id and params.
fn parse_request(body: &Bytes) -> Result<(Value, Map<String, Value>), (Value, RpcError)> {
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        (
            Value::Null,
            RpcError::server(
                "werkzeug.exceptions.BadRequest",
                format!("Invalid JSON data: {e}"),
            ),
        )
    })?;
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

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.to_string())
}

fn text_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, RpcError> {
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
    body: Bytes,
) -> Response {
    let (id, params) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    let outcome = async {
        let db = text_param(&params, "db")?;
        let login = text_param(&params, "login")?;
        let password = text_param(&params, "password")?;
        if db != host.db.name {
            return Err(RpcError::server(
                "odoo.exceptions.AccessDenied",
                format!("Database {db} not found"),
            ));
        }
        let keys = [format!("login:{login}"), format!("address:{}", peer.ip())];
        if host.throttle.is_blocked(&keys) {
            tracing::warn!(login, address = %peer.ip(), "login refused: too many failures");
            return Err(RpcError::server(
                "odoo.exceptions.AccessDenied",
                "Too many failed logins; try again later",
            ));
        }
        match auth::authenticate(&host.db, login, password)
            .await
            .map_err(RpcError::from)?
        {
            Some(user) => {
                host.throttle.succeeded(&keys[0]);
                Ok(user)
            }
            None => {
                host.throttle.failed(&keys);
                tracing::info!(login, address = %peer.ip(), "login failed");
                Err(RpcError::server(
                    "odoo.exceptions.AccessDenied",
                    "Access Denied",
                ))
            }
        }
    }
    .await;
    match outcome {
        Ok(user) => {
            let info = session_info(&host, &user);
            let session = host.sessions.open(user);
            let mut response = reply(&id, Ok(info));
            let cookie = format!("session_id={session}; HttpOnly; SameSite=Lax; Path=/");
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("hex session ids are valid header values"),
            );
            response
        }
        Err(e) => reply(&id, Err(e)),
    }
}

async fn destroy_session(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    body: Bytes,
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

async fn call_kw(State(host): State<Arc<Host>>, headers: HeaderMap, body: Bytes) -> Response {
    let (id, params) = match parse_request(&body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    let Some(user) = session_cookie(&headers).and_then(|s| host.sessions.get(&s)) else {
        return reply(&id, Err(RpcError::session_expired()));
    };
    let outcome = async {
        let model = text_param(&params, "model")?.to_string();
        let method = text_param(&params, "method")?.to_string();
        let args = match params.get("args") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(RpcError::server(
                    "builtins.TypeError",
                    format!("args must be a list, got {other}"),
                ));
            }
        };
        let mut kwargs = match params.get("kwargs") {
            Some(Value::Object(k)) => k.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                return Err(RpcError::server(
                    "builtins.TypeError",
                    format!("kwargs must be an object, got {other}"),
                ));
            }
        };
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
    host.refresh().await?;
    let snapshot = host.snapshot();
    let (ids, rest) = dispatch::split_args(method, args).map_err(failure)?;
    let mut tx = host.db.pool.begin().await?;
    // The caller's rights apply to everything the call does.
    let access = crate::Access::load(&mut tx, uid).await.map_err(orm_error)?;
    let orm = TxOrm::new(
        tx,
        Orm::new(host.db.dialect, snapshot.registry.clone()),
        Some(snapshot),
    )
    .with_access(access);
    let (outcome, orm) = dispatch::call(orm, model, method, None, ids, rest, kwargs).await;
    let value = outcome.map_err(failure)?;
    orm.commit().await?;
    Ok(value)
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

/// Serves `host` on `listener` until `shutdown` completes.
pub async fn serve(
    host: Arc<Host>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(host).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
