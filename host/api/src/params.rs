//! The arguments of a JSON-RPC request, as Odoo's RPC takes them: the
//! request's id and params, and typed parameters and arguments (a missing
//! or mistyped one is Odoo's `TypeError`).

use axum::body::Bytes;
use axum::response::Response;
use pulse_core::Kind;
use serde_json::{Map, Value};

use crate::faults::{Exception, RpcError, reply};

/// Werkzeug's answer to a body that is no JSON.
pub(crate) fn invalid_json(e: serde_json::Error) -> RpcError {
    RpcError::new(Exception::BadRequest, format!("Invalid JSON data: {e}"))
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
            RpcError::new(
                Exception::BadRequest,
                format!("params must be an object, got {other}"),
            ),
        )),
    }
}

/// Answers a JSON-RPC request with what `answer` makes of its params,
/// under the request's id; a body that is not a request gets its error.
pub(crate) async fn answer_request(
    body: &Bytes,
    answer: impl AsyncFnOnce(Map<String, Value>) -> Result<Value, RpcError>,
) -> Response {
    let (id, params) = match parse_request(body) {
        Ok(parsed) => parsed,
        Err((id, e)) => return reply(&id, Err(e)),
    };
    reply(&id, answer(params).await)
}

/// The id of a JSON-RPC request, for an answer that needs nothing else
/// of it (`null` when the body does not parse).
pub(crate) fn request_id(body: &Bytes) -> Value {
    parse_request(body).map(|(id, _)| id).unwrap_or(Value::Null)
}

/// A list argument (absent or null: empty).
pub(crate) fn list_arg(value: Option<&Value>, what: &str) -> Result<Vec<Value>, RpcError> {
    match value {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(other) => Err(RpcError::core(
            Kind::TypeError,
            format!("{what} must be a list, got {other}"),
        )),
    }
}

/// A dictionary argument (absent, null or false: empty).
pub(crate) fn dict_arg(value: Option<&Value>, what: &str) -> Result<Map<String, Value>, RpcError> {
    match value {
        Some(Value::Object(map)) => Ok(map.clone()),
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Map::new()),
        Some(other) => Err(RpcError::core(
            Kind::TypeError,
            format!("{what} must be a dictionary, got {other}"),
        )),
    }
}

/// A required text parameter.
pub(crate) fn text_param<'a>(
    params: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, RpcError> {
    params.get(name).and_then(Value::as_str).ok_or_else(|| {
        RpcError::core(
            Kind::TypeError,
            format!("missing required parameter '{name}'"),
        )
    })
}

/// Positional argument `index`.
pub(crate) fn arg<'a>(args: &'a [Value], index: usize, what: &str) -> Result<&'a Value, RpcError> {
    args.get(index).ok_or_else(|| {
        RpcError::core(
            Kind::TypeError,
            format!("missing required argument {index} ({what})"),
        )
    })
}

/// Positional argument `index`, a string.
pub(crate) fn text_arg<'a>(
    args: &'a [Value],
    index: usize,
    what: &str,
) -> Result<&'a str, RpcError> {
    arg(args, index, what)?
        .as_str()
        .ok_or_else(|| RpcError::core(Kind::TypeError, format!("{what} must be a string")))
}
