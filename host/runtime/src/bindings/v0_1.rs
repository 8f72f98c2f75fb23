//! `pulse:addon@0.1.0`, the first released contract (frozen in
//! `wit/0.1.0`). 0.1 has no context: its methods find it in their keyword
//! arguments only, as Odoo's `call_kw` passes it, and its ORM calls run
//! with the context of the method they are made from (none in hooks and
//! routes). Its outbound HTTP is JSON text, turned into the typed
//! [`HttpRequest`] here; its exports are called with the runtime's own
//! types.

use serde_json::{Map, Value, json};

use super::super::{
    Exception, HostState, HttpRequest, MethodCall, OrmBackend, RouteRequest, RouteResponse,
    SearchQuery,
};
use super::{Hook, LogLevel};

wasmtime::component::bindgen!({
    path: "../../wit/0.1.0",
    world: "pulse:addon/addon@0.1.0",
    imports: { default: async },
    exports: { default: async },
});

use exports::pulse::addon as guest;
use pulse::addon::types::Error as WitError;

same_in_every_version!(method_context: (), added: {});

// 0.1's calls carry no context: they run with the one of the method they
// are made from.
orm_imports! {
    context(self) = self.context;
}

impl<B: OrmBackend> pulse::addon::http::Host for HostState<B> {
    async fn fetch(&mut self, request: String) -> Result<String, WitError> {
        let _busy = self.host_call();
        let request = request_of_json(&request)?;
        let response = self.orm.http_fetch(&request).await?;
        let mut headers = Map::new();
        for (name, value) in response.headers {
            headers.insert(name, Value::from(value));
        }
        Ok(json!({
            "status": response.status,
            "headers": headers,
            "body": String::from_utf8_lossy(&response.body),
        })
        .to_string())
    }
}

/// 0.1's JSON request `{"method", "url", "headers": {..}, "body"}`, typed.
fn request_of_json(text: &str) -> Result<HttpRequest, Exception> {
    let request: Value = serde_json::from_str(text)
        .map_err(|e| Exception::User(format!("invalid HTTP request JSON: {e}")))?;
    Ok(HttpRequest {
        method: request["method"].as_str().unwrap_or("GET").to_string(),
        url: request["url"].as_str().unwrap_or_default().to_string(),
        headers: request["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_string()))
            .collect(),
        body: request["body"]
            .as_str()
            .map(|b| b.as_bytes().to_vec())
            .unwrap_or_default(),
    })
}
