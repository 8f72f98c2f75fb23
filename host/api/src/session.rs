//! The web client's endpoints: logging in and out
//! (`/web/session/authenticate`, `/web/session/destroy`,
//! `/web/session/logout`), session and version information.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pulse_core::auth::{self, User};
use pulse_core::{Host, SUPERUSER_ID};
use serde_json::{Value, json};

use crate::body::{JsonBody, MAX_ANONYMOUS_BODY};
use crate::faults::{RpcError, reply};
use crate::identity::{
    ProxyMode, came_over_https, client_address, log_in, session_cookie, session_user,
};
use crate::params::{parse_request, request_id, text_param};
use crate::services::{SERVER_VERSION, release_version_info, version};

/// `POST /web/session/authenticate`: a session for a login and password.
pub(crate) async fn authenticate(
    State(host): State<Arc<Host>>,
    Extension(proxy): Extension<Arc<ProxyMode>>,
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
        // A second factor the client sends along (`totp`), for the
        // authentication policies to check.
        let second_factor = match params.get("totp") {
            None | Some(Value::Null | Value::Bool(false)) => None,
            Some(Value::String(code)) => Some(code.clone()),
            Some(_) => {
                return Err(RpcError::core(
                    pulse_core::Kind::TypeError,
                    "the parameter 'totp' must be text",
                ));
            }
        };
        let address = client_address(&proxy, peer, &headers);
        log_in(
            &host,
            address,
            db,
            login,
            password,
            auth::Door::Interactive,
            second_factor.as_deref(),
        )
        .await
    }
    .await;
    match outcome {
        Ok((user, stamp)) => {
            let info = match session_info(&host, &user).await {
                Ok(info) => info,
                Err(e) => return reply(&id, Err(e)),
            };
            let session = match host.sessions().open(auth::Session { user, stamp }).await {
                Ok(token) => token,
                Err(e) => return reply(&id, Err(RpcError::from(e))),
            };
            let mut response = reply(&id, Ok(info));
            // A browser that came over HTTPS sends the cookie back over HTTPS only.
            let secure = if came_over_https(&proxy, peer, &headers) {
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

/// `POST /web/session/destroy`: logs out.
pub(crate) async fn destroy_session(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>,
) -> Response {
    let id = request_id(&body);
    if let Some(session) = session_cookie(&headers)
        && let Err(e) = host.sessions().close(&session).await
    {
        return reply(&id, Err(RpcError::from(e)));
    }
    let mut response = reply(&id, Ok(Value::Null));
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    response
}

/// Odoo's `session_info`: who the session is, and their context as
/// `res.users.context_get` gives it.
async fn session_info(host: &Host, user: &User) -> Result<Value, RpcError> {
    let user_context = pulse_core::auth::context_get(host, user.uid).await?;
    Ok(json!({
        "uid": user.uid,
        "is_system": user.uid == SUPERUSER_ID,
        "is_admin": user.uid == SUPERUSER_ID,
        "name": user.name,
        "username": user.login,
        "partner_display_name": user.name,
        "db": host.db.name,
        "server_version": SERVER_VERSION,
        "server_version_info": release_version_info(),
        "user_context": user_context,
    }))
}

/// `POST /web/webclient/version_info`.
pub(crate) async fn version_info(JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>) -> Response {
    let id = request_id(&body);
    reply(&id, Ok(version()))
}

/// `GET /web/webclient/version_info`: the same, under id `null` (a
/// JSON-RPC route of Odoo's answers any method).
pub(crate) async fn version_info_by_get() -> Response {
    reply(&Value::Null, Ok(version()))
}

/// `POST /web/session/get_session_info`.
pub(crate) async fn get_session_info(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_ANONYMOUS_BODY>,
) -> Response {
    let id = request_id(&body);
    answer_session_info(&host, &headers, &id).await
}

/// `GET /web/session/get_session_info`: the same answer, with no request
/// to take an id from (Odoo's route takes any method; mobile apps GET it).
pub(crate) async fn get_session_info_by_get(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
) -> Response {
    answer_session_info(&host, &headers, &Value::Null).await
}

async fn answer_session_info(host: &Host, headers: &HeaderMap, id: &Value) -> Response {
    match session_user(host, headers).await {
        Some(user) => reply(id, session_info(host, &user).await),
        None => reply(id, Err(RpcError::session_expired())),
    }
}

/// Where `/web/session/logout` sends the browser by default (Odoo 19's
/// web client).
const LOGOUT_REDIRECT: &str = "/odoo";

/// The most of a `redirect` parameter that is kept.
const MAX_REDIRECT: usize = 2048;

/// `GET` or `POST /web/session/logout?redirect=…`: ends the session (in
/// the database, so on every host), clears the cookie and answers
/// `303 See Other` to `redirect` (default `/odoo`), made local as Odoo's
/// `request.redirect` makes it: another site's address keeps only its path.
pub(crate) async fn logout(
    State(host): State<Arc<Host>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(session) = session_cookie(&headers)
        && let Err(e) = host.sessions().close(&session).await
    {
        tracing::error!(error = %e, "cannot end a session");
        let e = RpcError::from(e);
        return crate::faults::json_error(e.exception.status(), &e);
    }
    let target = local_redirect(query.get("redirect").map(String::as_str));
    let mut response = (
        axum::http::StatusCode::SEE_OTHER,
        [(header::LOCATION, target)],
    )
        .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
    );
    response
}

/// A redirect target on this site: the path, query and fragment of
/// `wanted` (never another host, scheme or a `//host` path), or
/// [`LOGOUT_REDIRECT`].
fn local_redirect(wanted: Option<&str>) -> HeaderValue {
    let cleaned: String = wanted
        .unwrap_or(LOGOUT_REDIRECT)
        .chars()
        .take(MAX_REDIRECT)
        .filter(|c| !c.is_control())
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    let mut rest = cleaned.as_str();
    // A scheme (`https:`, `javascript:`) goes…
    if let Some(colon) = rest.find(':') {
        let scheme = &rest[..colon];
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            rest = &rest[colon + 1..];
        }
    }
    // …and so does a host (`//host`).
    if let Some(after) = rest.strip_prefix("//") {
        rest = after.find(['/', '?', '#']).map_or("", |i| &after[i..]);
    }
    let path = format!("/{}", rest.trim_start_matches('/'));
    HeaderValue::from_str(&path).unwrap_or_else(|_| HeaderValue::from_static(LOGOUT_REDIRECT))
}

/// `GET /web/version`: the server's version, as plain JSON (Odoo 19's
/// public version endpoint: `{"version_info": […], "version": "19.0"}`).
pub(crate) async fn web_version() -> Response {
    axum::Json(json!({
        "version_info": release_version_info(),
        "version": SERVER_VERSION,
    }))
    .into_response()
}
