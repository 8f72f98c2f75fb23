//! The web client's dataset endpoint: `/web/dataset/call_kw`, a model
//! method called as the session's user.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use pulse_core::Host;

use crate::body::{JsonBody, MAX_BODY};
use crate::faults::RpcError;
use crate::identity::SessionUser;
use crate::params::{answer_request, dict_arg, list_arg, text_param};

/// `POST /web/dataset/call_kw`. The session is checked before the body is
/// read: without one, a large body costs nothing.
pub(crate) async fn call_kw(
    State(host): State<Arc<Host>>,
    SessionUser(user): SessionUser,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    answer_request(&body, async |params| {
        let model = text_param(&params, "model")?.to_string();
        let method = text_param(&params, "method")?.to_string();
        let args = list_arg(params.get("args"), "args")?;
        let mut kwargs = dict_arg(params.get("kwargs"), "kwargs")?;
        let context = pulse_core::take_context(&mut kwargs)?;
        host.execute_kw(user.uid, &model, &method, args, kwargs, context)
            .await
            .map_err(RpcError::from)
    })
    .await
}
