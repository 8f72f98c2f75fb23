//! The web client's dataset endpoints: `/web/dataset/call_kw` and
//! `/web/dataset/call_button`, a model method called as the session's
//! user, and the older `/web/dataset/search_read`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use pulse_core::Host;
use serde_json::{Map, Value, json};

use crate::body::{JsonBody, MAX_BODY};
use crate::faults::RpcError;
use crate::identity::SessionUser;
use crate::params::{answer_request, dict_arg, list_arg, text_param};

/// The type `/web/dataset/call_button` gives an action that names none
/// (Odoo's `clean_action`).
const DEFAULT_ACTION_TYPE: &str = "ir.actions.act_window_close";

/// `POST /web/dataset/call_kw`. The session is checked before the body is
/// read: without one, a large body costs nothing.
pub(crate) async fn call_kw(
    State(host): State<Arc<Host>>,
    SessionUser(user): SessionUser,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    answer_request(&body, async |params| call(&host, user.uid, &params).await).await
}

/// `model.method(*args, **kwargs)` as a dataset request's params name it,
/// called as user `uid`.
async fn call(host: &Host, uid: i64, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let model = text_param(params, "model")?;
    let method = text_param(params, "method")?;
    let args = list_arg(params.get("args"), "args")?;
    let mut kwargs = dict_arg(params.get("kwargs"), "kwargs")?;
    let context = pulse_core::take_context(&mut kwargs)?;
    host.execute_kw(uid, model, method, args, kwargs, context)
        .await
        .map_err(RpcError::from)
}

/// `POST /web/dataset/call_button`: a button's method, called as
/// `call_kw` calls it. An action it returns (a dictionary) comes back
/// cleaned as Odoo's `clean_action` does (a `type`; a window action's
/// `views` from its `view_mode`); any other result is `false`.
pub(crate) async fn call_button(
    State(host): State<Arc<Host>>,
    SessionUser(user): SessionUser,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    answer_request(&body, async |params| {
        Ok(match call(&host, user.uid, &params).await? {
            Value::Object(action) if action.get("type") != Some(&json!("")) => {
                Value::Object(clean_action(action))
            }
            _ => Value::Bool(false),
        })
    })
    .await
}

/// Odoo's `clean_action`: an action has a `type`, and a window action
/// without `views` gets one per mode of its `view_mode`.
fn clean_action(mut action: Map<String, Value>) -> Map<String, Value> {
    let kind = action
        .entry("type")
        .or_insert_with(|| json!(DEFAULT_ACTION_TYPE))
        .clone();
    if kind == json!("ir.actions.act_window") && !action.contains_key("views") {
        let modes = action
            .get("view_mode")
            .and_then(Value::as_str)
            .unwrap_or("list,form")
            .to_string();
        let views: Vec<Value> = modes
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|mode| json!([false, mode]))
            .collect();
        action.insert("views".into(), Value::Array(views));
    }
    action
}

/// `POST /web/dataset/search_read` (Odoo's older web client): `model`,
/// `domain`, `fields`, `offset`, `limit`, `sort` and `context`; answers
/// `{length, records}`, `length` counting every match when the page is
/// full (Odoo's `do_search_read`).
pub(crate) async fn search_read(
    State(host): State<Arc<Host>>,
    SessionUser(user): SessionUser,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    answer_request(&body, async |params| {
        let model = text_param(&params, "model")?.to_string();
        let domain = match params.get("domain") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => json!([]),
            Some(domain) => domain.clone(),
        };
        let context = match params.get("context") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => pulse_core::Context::default(),
            Some(value) => {
                let mut holder = Map::new();
                holder.insert("context".into(), value.clone());
                pulse_core::take_context(&mut holder)?
            }
        };
        let number = |name: &str| -> Result<Option<i64>, RpcError> {
            match params.get(name) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
                Some(value) => value.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(|| {
                    RpcError::core(
                        pulse_core::Kind::TypeError,
                        format!("{name} must be a non-negative integer, got {value}"),
                    )
                }),
            }
        };
        let offset = number("offset")?.unwrap_or(0);
        let limit = number("limit")?.filter(|n| *n > 0);
        let mut kwargs = Map::new();
        kwargs.insert("domain".into(), domain.clone());
        if let Some(fields) = params.get("fields").filter(|f| f.is_array()) {
            kwargs.insert("fields".into(), fields.clone());
        }
        kwargs.insert("offset".into(), json!(offset));
        if let Some(limit) = limit {
            kwargs.insert("limit".into(), json!(limit));
        }
        if let Some(sort) = params
            .get("sort")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            kwargs.insert("order".into(), json!(sort));
        }
        let records = host
            .execute_kw(
                user.uid,
                &model,
                "search_read",
                Vec::new(),
                kwargs,
                context.clone(),
            )
            .await
            .map_err(RpcError::from)?;
        let found = records.as_array().map_or(0, Vec::len) as i64;
        if found == 0 {
            return Ok(json!({"length": 0, "records": []}));
        }
        let length = if limit.is_some_and(|limit| found == limit) {
            let mut count = Map::new();
            count.insert("domain".into(), domain);
            host.execute_kw(user.uid, &model, "search_count", Vec::new(), count, context)
                .await
                .map_err(RpcError::from)?
        } else {
            json!(offset + found)
        };
        Ok(json!({"length": length, "records": records}))
    })
    .await
}
