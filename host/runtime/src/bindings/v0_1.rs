//! `pulse:addon@0.1.0`, the first released contract (frozen in
//! `wit/0.1.0`). 0.1 has no context: its methods find it in their keyword
//! arguments only, as Odoo's `call_kw` passes it, and its ORM calls run
//! with the context of the method they are made from (none in hooks and
//! routes). Its outbound HTTP is JSON text, turned into the typed
//! [`HttpRequest`] here; its exports are called with the runtime's own
//! types.

use serde_json::{Map, Value, json};
use wasmtime::Store;
use wasmtime::component::{HasData, Instance, InstancePre, Linker};

use super::super::{
    AddonError, HostState, HttpRequest, MethodCall, OrmBackend, RouteRequest, RouteResponse,
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

impl From<WitError> for AddonError {
    fn from(e: WitError) -> AddonError {
        match e {
            WitError::AccessError(m) => AddonError::Access(m),
            WitError::Validation(m) => AddonError::Validation(m),
            WitError::MissingRecord(m) => AddonError::Missing(m),
            WitError::UserError(m) => AddonError::User(m),
            WitError::Internal(m) => AddonError::Internal(m),
        }
    }
}

impl From<AddonError> for WitError {
    fn from(e: AddonError) -> WitError {
        match e {
            AddonError::Access(m) => WitError::AccessError(m),
            AddonError::Validation(m) => WitError::Validation(m),
            AddonError::Missing(m) => WitError::MissingRecord(m),
            AddonError::User(m) => WitError::UserError(m),
            AddonError::Internal(m) => WitError::Internal(m),
        }
    }
}

struct HostImports<B>(std::marker::PhantomData<B>);

impl<B: OrmBackend> HasData for HostImports<B> {
    type Data<'a> = &'a mut HostState<B>;
}

/// Adds the `pulse:addon@0.1.0` imports to `linker`.
pub(super) fn add_to_linker<B: OrmBackend>(
    linker: &mut Linker<HostState<B>>,
) -> wasmtime::Result<()> {
    Addon::add_to_linker::<HostState<B>, HostImports<B>>(linker, |state| state)
}

impl<B: OrmBackend> pulse::addon::types::Host for HostState<B> {}

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
fn request_of_json(text: &str) -> Result<HttpRequest, AddonError> {
    let request: Value = serde_json::from_str(text)
        .map_err(|e| AddonError::User(format!("invalid HTTP request JSON: {e}")))?;
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

impl<B: OrmBackend> pulse::addon::log::Host for HostState<B> {
    async fn log(&mut self, level: pulse::addon::log::Level, message: String) {
        use pulse::addon::log::Level;
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.log_line(level, message);
    }
}

/// Where each exported interface's functions sit in a 0.1 component.
pub(crate) struct Exports {
    describe: guest::describe::GuestIndices,
    lifecycle: guest::lifecycle::GuestIndices,
    methods: guest::methods::GuestIndices,
    routes: guest::routes::GuestIndices,
}

impl Exports {
    pub(super) fn new<T>(pre: &InstancePre<T>) -> wasmtime::Result<Exports> {
        Ok(Exports {
            describe: guest::describe::GuestIndices::new(pre)?,
            lifecycle: guest::lifecycle::GuestIndices::new(pre)?,
            methods: guest::methods::GuestIndices::new(pre)?,
            routes: guest::routes::GuestIndices::new(pre)?,
        })
    }

    pub(super) async fn describe<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
    ) -> wasmtime::Result<String> {
        self.describe
            .load(&mut *store, instance)?
            .call_describe(store)
            .await
    }

    pub(super) async fn run_hook<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        hook: Hook<'_>,
    ) -> wasmtime::Result<Result<(), AddonError>> {
        let lifecycle = self.lifecycle.load(&mut *store, instance)?;
        match hook {
            Hook::PreInit => lifecycle.call_pre_init(store).await,
            Hook::PostInit => lifecycle.call_post_init(store).await,
            Hook::Migrate { from, to } => lifecycle.call_migrate(store, from, to).await,
            Hook::Uninstall => lifecycle.call_uninstall(store).await,
        }
        .map(|r| r.map_err(AddonError::from))
    }

    /// Calls a method; the context stays behind (0.1 has none).
    pub(super) async fn call_method<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        call: &MethodCall<'_>,
    ) -> wasmtime::Result<Result<String, AddonError>> {
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
            .map(|r| r.map_err(AddonError::from))
    }

    pub(super) async fn handle_route<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        route: &str,
        request: RouteRequest,
    ) -> wasmtime::Result<Result<RouteResponse, AddonError>> {
        let request = guest::routes::Request {
            method: request.method,
            path: request.path,
            params: request.params,
            query: request.query,
            headers: request.headers,
            body: request.body,
            uid: request.uid,
        };
        let answer = self
            .routes
            .load(&mut *store, instance)?
            .call_handle(store, route, &request)
            .await?;
        Ok(answer
            .map(|r| RouteResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(AddonError::from))
    }
}
