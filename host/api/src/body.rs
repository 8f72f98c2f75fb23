//! Request bodies: their size limits (413 before a byte past the limit is
//! read) and their media type (415 for a JSON endpoint's body of another
//! type).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::faults::{Exception, RpcError, json_error};

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

/// A request body of at most `LIMIT` bytes, refused with 413 before any of
/// it is read when `Content-Length` says more, and cut off at the limit
/// when it does not say.
pub(crate) async fn read_body(
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
pub(crate) fn too_large(limit: usize) -> (StatusCode, RpcError) {
    let e = RpcError::new(
        Exception::RequestEntityTooLarge,
        format!("this endpoint accepts request bodies of at most {limit} bytes"),
    );
    (e.exception.status(), e)
}

/// Whether the request says its body is JSON (`application/json`, with
/// or without parameters such as `charset=utf-8`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
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
pub(crate) fn not_json(headers: &HeaderMap) -> (StatusCode, RpcError) {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let e = RpcError::new(
        Exception::UnsupportedMediaType,
        match given {
            Some(given) => {
                format!("this endpoint takes JSON (Content-Type: application/json), not {given:?}")
            }
            None => "this endpoint takes JSON (Content-Type: application/json)".into(),
        },
    );
    (e.exception.status(), e)
}

/// The body of a JSON-RPC request: of type `application/json` and at most
/// `LIMIT` bytes.
pub(crate) struct JsonBody<const LIMIT: usize>(pub Bytes);

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
