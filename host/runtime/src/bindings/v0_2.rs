//! `pulse:addon@0.2.0`, the current contract (`wit/0.2.0`): the context
//! travels with every ORM and method call, the ORM has `search-read`,
//! `read-group` and `name-search`, the caller's identity is an import and
//! outbound HTTP is typed.

use pulse_schema::{Context, WireContext};
use wasmtime::Store;
use wasmtime::component::{HasData, Instance, InstancePre, Linker};

use super::super::{
    AddonError, GroupQuery, HostState, HttpRequest, MethodCall, OrmBackend, RouteRequest,
    RouteResponse, SearchQuery,
};
use super::{Hook, LogLevel};

wasmtime::component::bindgen!({
    path: "../../wit/0.2.0",
    world: "pulse:addon/addon@0.2.0",
    imports: { default: async },
    exports: { default: async },
});

use exports::pulse::addon as guest;
use pulse::addon::types::{Context as WitContext, Error as WitError};

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

/// The context an addon passed, in the host's type.
fn context_of(ctx: WitContext) -> Result<Context, AddonError> {
    Context::from_wire(WireContext {
        lang: ctx.lang,
        tz: ctx.tz,
        active_test: ctx.active_test,
        company_id: ctx.company_id,
        extra: ctx.extra,
    })
    .map_err(|e| AddonError::User(e.to_string()))
}

/// The context a method is called with, in the WIT's type.
fn wit_context(ctx: &Context) -> WitContext {
    let wire = ctx.to_wire();
    WitContext {
        lang: wire.lang,
        tz: wire.tz,
        active_test: wire.active_test,
        company_id: wire.company_id,
        extra: wire.extra,
    }
}

struct HostImports<B>(std::marker::PhantomData<B>);

impl<B: OrmBackend> HasData for HostImports<B> {
    type Data<'a> = &'a mut HostState<B>;
}

/// Adds the `pulse:addon@0.2.0` imports to `linker`.
pub(super) fn add_to_linker<B: OrmBackend>(
    linker: &mut Linker<HostState<B>>,
) -> wasmtime::Result<()> {
    Addon::add_to_linker::<HostState<B>, HostImports<B>>(linker, |state| state)
}

impl<B: OrmBackend> pulse::addon::types::Host for HostState<B> {}

impl<B: OrmBackend> pulse::addon::orm::Host for HostState<B> {
    async fn search(
        &mut self,
        ctx: WitContext,
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
        Ok(self.orm.search(&context_of(ctx)?, &model, &query).await?)
    }

    async fn search_count(
        &mut self,
        ctx: WitContext,
        model: String,
        domain: String,
    ) -> Result<u64, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .search_count(&context_of(ctx)?, &model, &domain)
            .await?)
    }

    async fn search_read(
        &mut self,
        ctx: WitContext,
        model: String,
        domain: String,
        fields: Vec<String>,
        offset: u32,
        limit: Option<u32>,
        order: Option<String>,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        let query = SearchQuery {
            domain: &domain,
            offset,
            limit,
            order: order.as_deref(),
        };
        Ok(self
            .orm
            .search_read(&context_of(ctx)?, &model, &query, &fields)
            .await?)
    }

    async fn read_group(
        &mut self,
        ctx: WitContext,
        model: String,
        domain: String,
        fields: Vec<String>,
        groupby: Vec<String>,
        offset: u32,
        limit: Option<u32>,
        orderby: Option<String>,
        lazy: bool,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        let query = GroupQuery {
            domain: &domain,
            fields: &fields,
            groupby: &groupby,
            offset,
            limit,
            orderby: orderby.as_deref(),
            lazy,
        };
        Ok(self
            .orm
            .read_group(&context_of(ctx)?, &model, &query)
            .await?)
    }

    async fn name_search(
        &mut self,
        ctx: WitContext,
        model: String,
        name: String,
        domain: String,
        operator: String,
        limit: Option<u32>,
    ) -> Result<Vec<(i64, String)>, WitError> {
        let _busy = self.host_call();
        let context = context_of(ctx)?;
        Ok(self
            .orm
            .name_search(&context, &model, &name, &domain, &operator, limit)
            .await?)
    }

    async fn read(
        &mut self,
        ctx: WitContext,
        model: String,
        ids: Vec<i64>,
        fields: Vec<String>,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .read(&context_of(ctx)?, &model, &ids, &fields)
            .await?)
    }

    async fn create(
        &mut self,
        ctx: WitContext,
        model: String,
        rows: String,
    ) -> Result<Vec<i64>, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.create(&context_of(ctx)?, &model, &rows).await?)
    }

    async fn write(
        &mut self,
        ctx: WitContext,
        model: String,
        ids: Vec<i64>,
        values: String,
    ) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .write(&context_of(ctx)?, &model, &ids, &values)
            .await?)
    }

    async fn unlink(
        &mut self,
        ctx: WitContext,
        model: String,
        ids: Vec<i64>,
    ) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.unlink(&context_of(ctx)?, &model, &ids).await?)
    }

    async fn call(
        &mut self,
        ctx: WitContext,
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
            context: &context_of(ctx)?,
        };
        Ok(self.orm.call(&call).await?)
    }

    async fn call_super(
        &mut self,
        ctx: WitContext,
        ids: Vec<i64>,
        args: String,
        kwargs: String,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .call_super(&context_of(ctx)?, &ids, &args, &kwargs)
            .await?)
    }

    async fn sudo(&mut self, on: bool) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.sudo(on).await?)
    }
}

impl<B: OrmBackend> pulse::addon::identity::Host for HostState<B> {
    async fn current_user(&mut self) -> Result<pulse::addon::identity::User, WitError> {
        let _busy = self.host_call();
        let user = self.orm.current_user().await?;
        Ok(pulse::addon::identity::User {
            uid: user.uid,
            groups: user.groups,
            company_id: user.company_id,
        })
    }
}

impl<B: OrmBackend> pulse::addon::http::Host for HostState<B> {
    async fn fetch(
        &mut self,
        request: pulse::addon::http::Request,
    ) -> Result<pulse::addon::http::Response, WitError> {
        let _busy = self.host_call();
        let request = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        let response = self.orm.http_fetch(&request).await?;
        Ok(pulse::addon::http::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
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

/// Where each exported interface's functions sit in a 0.2 component.
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
                &wit_context(call.context),
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
