//! The HTTP API: Odoo's JSON-RPC endpoints (`/web/session/authenticate`,
//! `/web/dataset/call_kw`) and `/health`.
//!
//! Every failure becomes Odoo's JSON-RPC error object — `code`, `message`,
//! and `data` with `name` (`odoo.exceptions.UserError`, …), `message`,
//! `arguments` — never a bare 500.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pulse_orm::{Domain, Orm, OrmError, Record, SearchOptions};
use pulse_runtime::{AddonError, CallError};
use serde_json::{Map, Value, json};

use crate::auth::{self, User};
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

async fn authenticate(State(host): State<Arc<Host>>, body: Bytes) -> Response {
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
        let user = auth::authenticate(&host.db, login, password)
            .await
            .map_err(RpcError::from)?
            .ok_or_else(|| RpcError::server("odoo.exceptions.AccessDenied", "Access Denied"))?;
        Ok(user)
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
        "is_system": user.login == "admin",
        "is_admin": user.login == "admin",
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
    let Some(_user) = session_cookie(&headers).and_then(|s| host.sessions.get(&s)) else {
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
        execute_kw(&host, &model, &method, args, kwargs).await
    }
    .await;
    reply(&id, outcome)
}

/// Positional argument `index`, or keyword argument `name`.
fn argument<'a>(
    args: &'a [Value],
    kwargs: &'a Map<String, Value>,
    index: usize,
    name: &str,
) -> Option<&'a Value> {
    args.get(index)
        .or_else(|| kwargs.get(name))
        .filter(|v| !v.is_null())
}

fn ids_of(value: Option<&Value>) -> Result<Vec<i64>, RpcError> {
    match value {
        None | Some(Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Number(n)) => n.as_i64().map(|i| vec![i]).ok_or_else(|| {
            RpcError::server("builtins.TypeError", format!("invalid record id {n}"))
        }),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_i64().ok_or_else(|| {
                    RpcError::server("builtins.TypeError", format!("invalid record id {v}"))
                })
            })
            .collect(),
        Some(other) => Err(RpcError::server(
            "builtins.TypeError",
            format!("expected record ids, got {other}"),
        )),
    }
}

fn fields_of(value: Option<&Value>) -> Result<Vec<String>, RpcError> {
    match value {
        None | Some(Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    RpcError::server("builtins.TypeError", format!("invalid field name {v}"))
                })
            })
            .collect(),
        Some(other) => Err(RpcError::server(
            "builtins.TypeError",
            format!("expected a list of field names, got {other}"),
        )),
    }
}

fn search_options(
    args: &[Value],
    kwargs: &Map<String, Value>,
    first: usize,
) -> Result<SearchOptions, RpcError> {
    let number = |v: Option<&Value>, what: &str| -> Result<Option<u32>, RpcError> {
        match v {
            None | Some(Value::Bool(false)) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    RpcError::server("builtins.ValueError", format!("invalid {what} {n}"))
                }),
            Some(other) => Err(RpcError::server(
                "builtins.TypeError",
                format!("invalid {what} {other}"),
            )),
        }
    };
    Ok(SearchOptions {
        offset: number(argument(args, kwargs, first, "offset"), "offset")?.unwrap_or(0),
        limit: number(argument(args, kwargs, first + 1, "limit"), "limit")?,
        order: match argument(args, kwargs, first + 2, "order") {
            None | Some(Value::Bool(false)) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(RpcError::server(
                    "builtins.TypeError",
                    format!("invalid order {other}"),
                ));
            }
        },
    })
}

fn record_of(value: Option<&Value>) -> Result<Record, RpcError> {
    match value {
        Some(Value::Object(values)) => Ok(values.clone()),
        other => Err(RpcError::server(
            "builtins.TypeError",
            format!(
                "expected a dictionary of field values, got {}",
                other.unwrap_or(&Value::Null)
            ),
        )),
    }
}

/// Runs `model.method(*args, **kwargs)` in one transaction: the ORM's own
/// methods, or a method an addon defines.
async fn execute_kw(
    host: &Host,
    model: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Value, RpcError> {
    let snapshot = host.snapshot();
    if snapshot.registry.get(model).is_none() {
        return Err(RpcError::server("builtins.KeyError", format!("'{model}'")));
    }
    let orm = Orm::new(host.db.dialect, snapshot.registry.clone());
    let mut tx = host.db.pool.begin().await?;
    let a = &args;
    let k = &kwargs;
    let result = match method {
        "create" => match argument(a, k, 0, "vals_list") {
            Some(Value::Array(rows)) => {
                let rows = rows
                    .iter()
                    .map(|r| record_of(Some(r)))
                    .collect::<Result<Vec<_>, _>>()?;
                let ids = orm.create(&mut tx, model, &rows).await.map_err(orm_error)?;
                json!(ids)
            }
            single => {
                let row = record_of(single)?;
                let ids = orm
                    .create(&mut tx, model, &[row])
                    .await
                    .map_err(orm_error)?;
                json!(ids[0])
            }
        },
        "read" => {
            let ids = ids_of(argument(a, k, 0, "ids"))?;
            let fields = fields_of(argument(a, k, 1, "fields"))?;
            json!(
                orm.read(&mut tx, model, &ids, &fields)
                    .await
                    .map_err(orm_error)?
            )
        }
        "search_read" => {
            let domain = domain_of(argument(a, k, 0, "domain"))?;
            let fields = fields_of(argument(a, k, 1, "fields"))?;
            let options = search_options(a, k, 2)?;
            json!(
                orm.search_read(&mut tx, model, &domain, &fields, &options)
                    .await
                    .map_err(orm_error)?
            )
        }
        "search" => {
            let domain = domain_of(argument(a, k, 0, "domain"))?;
            let options = search_options(a, k, 1)?;
            json!(
                orm.search(&mut tx, model, &domain, &options)
                    .await
                    .map_err(orm_error)?
            )
        }
        "search_count" => {
            let domain = domain_of(argument(a, k, 0, "domain"))?;
            json!(
                orm.search_count(&mut tx, model, &domain)
                    .await
                    .map_err(orm_error)?
            )
        }
        "write" => {
            let ids = ids_of(argument(a, k, 0, "ids"))?;
            let values = record_of(argument(a, k, 1, "vals"))?;
            orm.write(&mut tx, model, &ids, &values)
                .await
                .map_err(orm_error)?;
            json!(true)
        }
        "unlink" => {
            let ids = ids_of(argument(a, k, 0, "ids"))?;
            orm.unlink(&mut tx, model, &ids).await.map_err(orm_error)?;
            json!(true)
        }
        "fields_get" => fields_get(&snapshot.registry, model),
        _ => {
            let Some(addon_name) = snapshot
                .methods
                .get(&(model.to_string(), method.to_string()))
            else {
                return Err(RpcError::server(
                    "builtins.AttributeError",
                    format!("The method '{method}' does not exist on the model '{model}'"),
                ));
            };
            let Some(addon) = snapshot.addons.get(addon_name) else {
                return Err(RpcError::user(format!(
                    "The method '{method}' of model '{model}' belongs to addon '{addon_name}', whose component is not available"
                )));
            };
            let ids = ids_of(args.first())?;
            let rest = Value::Array(args.iter().skip(1).cloned().collect()).to_string();
            let kw = Value::Object(kwargs.clone()).to_string();
            let (answer, backend) = addon
                .call_method(TxOrm { tx, orm }, model, method, &ids, &rest, &kw)
                .await;
            tx = backend.tx;
            let text = answer.map_err(call_error)?;
            serde_json::from_str(&text).map_err(|e| {
                RpcError::server(
                    "pulse.exceptions.AddonError",
                    format!(
                        "addon '{addon_name}' returned invalid JSON from {model}.{method}: {e}"
                    ),
                )
            })?
        }
    };
    tx.commit().await?;
    Ok(result)
}

fn domain_of(value: Option<&Value>) -> Result<Domain, RpcError> {
    match value {
        None => Ok(Domain::all()),
        Some(v) => Domain::parse(v).map_err(orm_error),
    }
}

fn fields_get(registry: &pulse_orm::Registry, model: &str) -> Value {
    let Some(model) = registry.get(model) else {
        return json!({});
    };
    let mut out = Map::new();
    out.insert(
        "id".into(),
        json!({"type": "integer", "string": "ID", "readonly": true, "required": false}),
    );
    for field in model.fields() {
        let mut attrs = json!({
            "type": field.ttype().as_str(),
            "string": field.spec.string,
            "required": field.spec.required,
            "readonly": false,
            "help": field.spec.help.clone().unwrap_or_default(),
        });
        if let Some(relation) = &field.spec.relation {
            attrs["relation"] = json!(relation);
        }
        if !field.spec.selection.is_empty() {
            attrs["selection"] = json!(field.spec.selection);
        }
        out.insert(field.name().to_string(), attrs);
    }
    Value::Object(out)
}

/// Serves `host` on `listener` until `shutdown` completes.
pub async fn serve(
    host: Arc<Host>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(host))
        .with_graceful_shutdown(shutdown)
        .await
}
