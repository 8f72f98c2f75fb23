//! The web client's menus: `GET /web/webclient/load_menus`, the menus the
//! session's user sees, in Odoo 19's shape (see
//! [`pulse_core::web::load_web_menus`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pulse_core::Host;

use crate::faults::{RpcError, json_error};
use crate::identity::session_user;

/// An HTTP route's answer to a request without a live session: 401 with
/// Odoo's `SessionExpiredException` (Odoo's web client is redirected to
/// its login page instead; Pulse has none).
pub(crate) fn session_expired() -> Response {
    let e = RpcError::session_expired();
    json_error(e.exception.status(), &e)
}

/// `GET /web/webclient/load_menus` (`?lang=` is accepted; menus have one
/// language here). JSON, never cached (Odoo 19's `Cache-Control: no-store`).
pub(crate) async fn load_menus(State(host): State<Arc<Host>>, headers: HeaderMap) -> Response {
    let Some(user) = session_user(&host, &headers).await else {
        return session_expired();
    };
    match pulse_core::web::load_web_menus(&host, user.uid).await {
        Ok(menus) => {
            let mut response = axum::Json(menus).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(f) => {
            let e = RpcError::from(f);
            json_error(e.exception.status(), &e)
        }
    }
}
