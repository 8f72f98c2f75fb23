//! `pulse:addon@0.1.0`, the first released contract (frozen in
//! `wit/0.1.0`). 0.1 has no context: its methods find it in their keyword
//! arguments only, as Odoo's `call_kw` passes it, and its ORM calls run
//! with the context of the method they are made from (none in hooks and
//! routes). Its outbound HTTP is JSON text, turned into the typed
//! [`HttpRequest`] here; its exports are called with the runtime's own
//! types.

use serde_json::{Map, Value, json};
use wasmtime::Store;
use wasmtime::component::Instance;

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

same_in_every_version!();

impl<B: OrmBackend> pulse::addon::orm::Host for HostState<B> {
    async fn search(
        &mut self,
        model: String,
        domain: String,
        offset: u32,
        limit: Option<u32>,
        order: Option<String>,
    ) -> Result<Vec<i64>, WitError> {
        let _busy = self.host_call();
        let query = SearchQuery {
            domain: &domain,
            offset,
            limit,
            order: order.as_deref(),
        };
        Ok(self.orm.search(&self.context, &model, &query).await?)
    }

    async fn search_count(&mut self, model: String, domain: String) -> Result<u64, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .search_count(&self.context, &model, &domain)
            .await?)
    }

    async fn read(
        &mut self,
        model: String,
        ids: Vec<i64>,
        fields: Vec<String>,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.read(&self.context, &model, &ids, &fields).await?)
    }

    async fn create(&mut self, model: String, rows: String) -> Result<Vec<i64>, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.create(&self.context, &model, &rows).await?)
    }

    async fn write(
        &mut self,
        model: String,
        ids: Vec<i64>,
        values: String,
    ) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.write(&self.context, &model, &ids, &values).await?)
    }

    async fn unlink(&mut self, model: String, ids: Vec<i64>) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.unlink(&self.context, &model, &ids).await?)
    }

    async fn call(
        &mut self,
        model: String,
        method: String,
        ids: Vec<i64>,
        args: String,
        kwargs: String,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        let call = MethodCall {
            model: &model,
            method: &method,
            ids: &ids,
            args: &args,
            kwargs: &kwargs,
            context: &self.context,
        };
        Ok(self.orm.call(&call).await?)
    }

    async fn call_super(
        &mut self,
        ids: Vec<i64>,
        args: String,
        kwargs: String,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .call_super(&self.context, &ids, &args, &kwargs)
            .await?)
    }

    async fn sudo(&mut self, on: bool) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.sudo(on).await?)
    }
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

impl Exports {
    /// Calls a method; the context reaches it in `kwargs` only.
    pub(super) async fn call_method<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        call: &MethodCall<'_>,
    ) -> wasmtime::Result<Result<String, Exception>> {
        self.methods
            .load(&mut *store, instance)?
            .call_call(
                store,
                call.model,
                call.method,
                call.ids,
                call.args,
                call.kwargs,
            )
            .await
            .map(|r| r.map_err(Exception::from))
    }
}
