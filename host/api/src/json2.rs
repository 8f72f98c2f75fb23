//! JSON-2 (Odoo 19): `POST /json/2/<model>/<method>` with a bearer API
//! key and named arguments; errors as HTTP statuses (see [`crate::faults`]).

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pulse_core::{Host, auth};
use serde_json::{Map, Value, json};

use crate::body::{MAX_BODY, is_json, not_json, read_body};
use crate::faults::{Exception, RpcError, json_error};
use crate::identity::{ProxyMode, bearer_token, check_api_key_use, client_address};

/// `POST /json/2/<model>/<method>`.
pub(crate) async fn json2(
    State(host): State<Arc<Host>>,
    Extension(proxy): Extension<Arc<ProxyMode>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = async {
        let unauthorized = || {
            let e = RpcError::new(Exception::Unauthorized, "Invalid apikey");
            (e.exception.status(), e)
        };
        // Odoo 19 picks the database before anything else: one it does not
        // serve is 404 (no database, so no such route), key or no key.
        if let Some(db) = headers.get("x-odoo-database") {
            let db = String::from_utf8_lossy(db.as_bytes());
            if db != host.db.name {
                let shown: String = db.chars().take(64).collect();
                let e = RpcError::new(
                    Exception::NotFound,
                    format!("404: Not Found (no database {shown:?} here)"),
                );
                return Err((e.exception.status(), e));
            }
        }
        let key = bearer_token(&headers).ok_or_else(unauthorized)?;
        let uid = auth::api_key_owner(&host.db, &key)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, RpcError::from(e)))?
            .ok_or_else(unauthorized)?;
        // Each use of a key is a login the authentication policies see.
        check_api_key_use(&host, uid, client_address(&proxy, peer, &headers))
            .await
            .map_err(|e| (e.exception.status(), e))?;
        // Read only once the key is known good.
        let body = read_body(&headers, body, MAX_BODY).await?;
        if !body.is_empty() && !is_json(&headers) {
            return Err(not_json(&headers));
        }
        let refuse = |exception: Exception, text: String| {
            let e = RpcError::new(exception, text);
            (e.exception.status(), e)
        };
        let mut kwargs: Map<String, Value> = match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => map,
            _ if body.is_empty() => Map::new(),
            _ => {
                return Err(refuse(
                    Exception::BadRequest,
                    "the body must be a JSON object of named arguments".into(),
                ));
            }
        };
        let failed = |f: pulse_core::Failure| {
            let e = RpcError::from(f);
            (e.exception.status(), e)
        };
        let context = pulse_core::take_context(&mut kwargs).map_err(failed)?;
        let ids = kwargs.remove("ids").unwrap_or(json!([]));
        let snapshot = host.snapshot();
        if snapshot.registry.get(&model).is_none() {
            return Err(refuse(
                Exception::NotFound,
                format!("the model '{model}' does not exist"),
            ));
        }
        let model_method = pulse_core::is_model_method(&method);
        let ids_given = ids.as_array().is_some_and(|a| !a.is_empty());
        if model_method && ids_given {
            return Err(refuse(
                Exception::UnprocessableEntity,
                format!("cannot call {model}.{method} with ids"),
            ));
        }
        let args = if model_method { Vec::new() } else { vec![ids] };
        host.execute_kw(uid, &model, &method, args, kwargs, context)
            .await
            .map_err(failed)
    }
    .await;
    match outcome {
        Ok(value) => axum::Json(value).into_response(),
        Err((status, e)) => json_error(status, &e),
    }
}
