//! Files over HTTP, as Odoo's `/web/content` and `/web/image` serve them:
//! an attachment by id (`/web/content/42`, `/web/content/42/name.pdf`) or
//! external id, a record's binary field (`/web/content/res.partner/7/image`,
//! or `/web/content?model=…&id=…&field=…`), inline or as a download
//! (`download=true`), under the reader's rights (see
//! [`pulse_core::web::content`]). Anything missing or not readable is
//! 404, as in Odoo.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pulse_core::Host;
use pulse_core::web::{Content, ContentSource};

use crate::faults::{Exception, RpcError, json_error};
use crate::identity::session_user;

/// The most of a file name a `Content-Disposition` header carries.
const MAX_FILENAME: usize = 255;

/// The query parameters Odoo's routes take (`mimetype`, `filename_field`,
/// `access_token`, `width`, … are accepted and ignored).
type Params = HashMap<String, String>;

/// `/web/content` and `/web/image` with everything in the query.
pub(crate) async fn content_by_query(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    serve(&host, &headers, "", &params).await
}

/// `/web/content/<…>` and `/web/image/<…>`.
pub(crate) async fn content_by_path(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    serve(&host, &headers, &rest, &params).await
}

fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        &RpcError::new(Exception::NotFound, "404: Not Found"),
    )
}

/// A record id as a path or query gives it (`42`, or `42-<unique>` as
/// `/web/image` URLs carry one); nothing else.
fn record_id(text: &str) -> Option<i64> {
    let digits = text.split_once('-').map_or(text, |(id, _)| id);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|id| *id > 0)
}

/// What a model, id and field name: the attachment itself for
/// `ir.attachment`'s content (`raw` or `datas`), else the field.
fn field_source(model: &str, id: i64, field: &str) -> ContentSource {
    if model == "ir.attachment" && (field == "raw" || field == "datas") {
        ContentSource::Attachment(id)
    } else {
        ContentSource::Field {
            model: model.to_string(),
            id,
            field: field.to_string(),
        }
    }
}

/// `WIDTHxHEIGHT`, a size `/web/image` takes (and Pulse ignores: images
/// are sent as stored).
fn is_size(segment: &str) -> bool {
    segment.split_once('x').is_some_and(|(w, h)| {
        !w.is_empty()
            && !h.is_empty()
            && w.bytes().all(|b| b.is_ascii_digit())
            && h.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The file the path (after the route's prefix) and the query name, and
/// the file name the URL gives, if any.
fn source_of(rest: &str, params: &Params) -> Option<(ContentSource, Option<String>)> {
    let mut segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut filename = params.get("filename").cloned();
    let id_or_xmlid = |text: &str| match record_id(text) {
        Some(id) => Some(ContentSource::Attachment(id)),
        None if text.contains('.') && !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            Some(ContentSource::Xmlid(text.to_string()))
        }
        None => None,
    };
    // `<id>[/<size>][/<name>]` or `<model>/<id>/<field>[/<size>][/<name>]`.
    let named = match segments.len() {
        2 => !is_size(segments[1]),
        5 => true,
        3 => is_size(segments[1]),
        4 => !is_size(segments[3]),
        _ => false,
    };
    if named {
        filename = segments.pop().map(String::from);
    }
    if matches!(segments.len(), 2 | 4) && segments.last().is_some_and(|s| is_size(s)) {
        segments.pop();
    }
    let source = match segments[..] {
        [] => {
            let model = params.get("model").map_or("ir.attachment", String::as_str);
            let field = params.get("field").map_or("raw", String::as_str);
            match (params.get("id"), params.get("xmlid")) {
                (Some(id), _) => field_source(model, record_id(id)?, field),
                (None, Some(xmlid)) => ContentSource::Xmlid(xmlid.clone()),
                (None, None) => return None,
            }
        }
        [one] => id_or_xmlid(one)?,
        [model, id, field] => field_source(model, record_id(id)?, field),
        _ => return None,
    };
    Some((source, filename))
}

/// A query flag as Odoo's routes read one (`download=true`, `=1`).
fn flag(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no" | "off"
        )
    })
}

async fn serve(host: &Host, headers: &HeaderMap, rest: &str, params: &Params) -> Response {
    let Some((source, filename)) = source_of(rest, params) else {
        return not_found();
    };
    let uid = session_user(host, headers).await.map(|user| user.uid);
    match pulse_core::web::content(host, uid, &source).await {
        Ok(Some(content)) => respond(content, filename, params),
        Ok(None) => not_found(),
        Err(f) => {
            let e = RpcError::from(f);
            json_error(e.exception.status(), &e)
        }
    }
}

/// The response carrying `content`: its media type, inline or as a
/// download under a file name reduced to a safe one, never sniffed and
/// never run as a page of this site.
fn respond(content: Content, filename: Option<String>, params: &Params) -> Response {
    let name = safe_filename(filename.as_deref().unwrap_or(&content.name));
    let mimetype = content
        .mimetype
        .filter(|m| HeaderValue::from_str(m).is_ok() && m.contains('/'))
        .or_else(|| by_extension(&name).map(String::from))
        .unwrap_or_else(|| "application/octet-stream".into());
    let disposition = if flag(params, "download") {
        "attachment"
    } else {
        "inline"
    };
    let mut response = content.bytes.into_response();
    let set = |response: &mut Response, name: header::HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    };
    set(&mut response, header::CONTENT_TYPE, mimetype);
    set(
        &mut response,
        header::CONTENT_DISPOSITION,
        content_disposition(disposition, &name),
    );
    set(
        &mut response,
        header::X_CONTENT_TYPE_OPTIONS,
        "nosniff".into(),
    );
    set(
        &mut response,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'".into(),
    );
    let cache = if flag(params, "unique") && !flag(params, "nocache") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    set(&mut response, header::CACHE_CONTROL, cache.into());
    response
}

/// A file name as a header may carry it: its last path component, without
/// control characters, quotes or semicolons, at most [`MAX_FILENAME`]
/// characters (`file` when nothing is left).
fn safe_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(MAX_FILENAME)
        .collect();
    let kept = kept.trim().trim_start_matches('.').to_string();
    if kept.is_empty() { "file".into() } else { kept }
}

/// `inline; filename="…"` (werkzeug's form): an ASCII name as is, another
/// with an ASCII fallback and its UTF-8 form (`filename*`, RFC 6266).
fn content_disposition(disposition: &str, name: &str) -> String {
    if name.is_ascii() {
        return format!("{disposition}; filename=\"{name}\"");
    }
    let ascii: String = name.chars().filter(char::is_ascii).collect();
    let ascii = if ascii.trim().is_empty() {
        "file".to_string()
    } else {
        ascii
    };
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The media type a file name's extension tells, for common kinds.
fn by_extension(name: &str) -> Option<&'static str> {
    let (_, extension) = name.rsplit_once('.')?;
    Some(match extension.to_ascii_lowercase().as_str() {
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "zip" => "application/zip",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => return None,
    })
}
