//! The host's side of every released `pulse:addon` version, one module per
//! version (the only `bindgen!` sites of the host), each converting into
//! the runtime's own types ([`OrmBackend`], [`MethodCall`],
//! [`RouteRequest`], …). Nothing outside this module sees a generated type.
//!
//! A component says which version it was built against by the names of
//! the interfaces it imports and exports (`pulse:addon/orm@0.1.0`);
//! [`ApiVersion::of`] reads them before anything is linked.

/// What reads the same in every version's module (the generated types
/// differ, the code does not): the error variant both ways, the log import,
/// the linker entry point, and the exports every version has (`describe`,
/// `lifecycle`, `methods`, `routes`). Each version's module expands it
/// next to its own `bindgen!`, `guest` (its exports) and `WitError`, saying
/// how a method receives its context (0.2: as the first argument, turned
/// into the WIT's type by the function named; 0.1: not at all) and naming
/// the exported interfaces it has beyond those (`cron: guest::cron::GuestIndices`).
macro_rules! same_in_every_version {
    (
        method_context: ($($to_wit:ident)?),
        added: {$($extra:ident: $indices:ty),* $(,)?} $(,)?
    ) => {
        impl From<WitError> for Exception {
            fn from(e: WitError) -> Exception {
                match e {
                    WitError::AccessError(m) => Exception::Access(m),
                    WitError::Validation(m) => Exception::Validation(m),
                    WitError::MissingRecord(m) => Exception::Missing(m),
                    WitError::UserError(m) => Exception::User(m),
                    WitError::Internal(m) => Exception::Internal(m),
                }
            }
        }

        impl From<Exception> for WitError {
            fn from(e: Exception) -> WitError {
                match e {
                    Exception::Access(m) => WitError::AccessError(m),
                    Exception::Validation(m) => WitError::Validation(m),
                    Exception::Missing(m) => WitError::MissingRecord(m),
                    // The WIT error has no ValueError: an addon sees it as a UserError.
                    Exception::User(m) | Exception::Value(m) => WitError::UserError(m),
                    Exception::Internal(m) => WitError::Internal(m),
                }
            }
        }

        struct HostImports<B>(std::marker::PhantomData<B>);

        impl<B: OrmBackend> wasmtime::component::HasData for HostImports<B> {
            type Data<'a> = &'a mut HostState<B>;
        }

        /// Adds this version's imports to `linker`.
        pub(super) fn add_to_linker<B: OrmBackend>(
            linker: &mut wasmtime::component::Linker<HostState<B>>,
        ) -> wasmtime::Result<()> {
            Addon::add_to_linker::<HostState<B>, HostImports<B>>(linker, |state| state)
        }

        impl<B: OrmBackend> pulse::addon::types::Host for HostState<B> {}

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

        /// Where each exported interface's functions sit in a component of
        /// this version.
        pub(crate) struct Exports {
            describe: guest::describe::GuestIndices,
            lifecycle: guest::lifecycle::GuestIndices,
            methods: guest::methods::GuestIndices,
            routes: guest::routes::GuestIndices,
            $($extra: $indices,)*
        }

        impl Exports {
            pub(super) fn new<T>(
                pre: &wasmtime::component::InstancePre<T>,
            ) -> wasmtime::Result<Exports> {
                Ok(Exports {
                    describe: guest::describe::GuestIndices::new(pre)?,
                    lifecycle: guest::lifecycle::GuestIndices::new(pre)?,
                    methods: guest::methods::GuestIndices::new(pre)?,
                    routes: guest::routes::GuestIndices::new(pre)?,
                    $($extra: <$indices>::new(pre)?,)*
                })
            }

            pub(super) async fn describe<B: OrmBackend>(
                &self,
                store: &mut wasmtime::Store<HostState<B>>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<String> {
                self.describe
                    .load(&mut *store, instance)?
                    .call_describe(store)
                    .await
            }

            pub(super) async fn run_hook<B: OrmBackend>(
                &self,
                store: &mut wasmtime::Store<HostState<B>>,
                instance: &wasmtime::component::Instance,
                hook: Hook<'_>,
            ) -> wasmtime::Result<Result<(), Exception>> {
                let lifecycle = self.lifecycle.load(&mut *store, instance)?;
                match hook {
                    Hook::PreInit => lifecycle.call_pre_init(store).await,
                    Hook::PostInit => lifecycle.call_post_init(store).await,
                    Hook::Migrate { from, to } => lifecycle.call_migrate(store, from, to).await,
                    Hook::Uninstall => lifecycle.call_uninstall(store).await,
                }
                .map(|r| r.map_err(Exception::from))
            }

            pub(super) async fn handle_route<B: OrmBackend>(
                &self,
                store: &mut wasmtime::Store<HostState<B>>,
                instance: &wasmtime::component::Instance,
                route: &str,
                request: RouteRequest,
            ) -> wasmtime::Result<Result<RouteResponse, Exception>> {
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
                    .map_err(Exception::from))
            }

            pub(super) async fn call_method<B: OrmBackend>(
                &self,
                store: &mut wasmtime::Store<HostState<B>>,
                instance: &wasmtime::component::Instance,
                call: &MethodCall<'_>,
            ) -> wasmtime::Result<Result<String, Exception>> {
                self.methods
                    .load(&mut *store, instance)?
                    .call_call(
                        store,
                        $(&$to_wit(call.context),)?
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
    };
}

/// The ORM imports, written once: every version has the same ones (0.2
/// adds some), and each import reads the same but for where its context
/// comes from. Each counts as time inside the host while it runs
/// (`host_call`) and answers the WIT's error.
///
/// A version names `self` (so that its context expression may use it),
/// the argument its calls carry their context in, if any, and how the
/// context is read; then the imports it has beyond these, in the same form
/// as those below: arguments, answer, and the call of [`OrmBackend`] that
/// serves it, given the backend and the context.
macro_rules! orm_imports {
    (
        context($this:ident $(, $ctx:ident: $ctx_ty:ty)?) = $context:expr;
        $($added:tt)*
    ) => {
        orm_imports! {
            @impl $this [$($ctx: $ctx_ty)?] ($context);
            fn search(model: String, domain: String, offset: u32, limit: Option<u32>,
                order: Option<String>) -> Vec<i64>
                = |orm, context| orm.search(context, &model,
                    &SearchQuery { domain: &domain, offset, limit, order: order.as_deref() });
            fn search_count(model: String, domain: String) -> u64
                = |orm, context| orm.search_count(context, &model, &domain);
            fn read(model: String, ids: Vec<i64>, fields: Vec<String>) -> String
                = |orm, context| orm.read(context, &model, &ids, &fields);
            fn create(model: String, rows: String) -> Vec<i64>
                = |orm, context| orm.create(context, &model, &rows);
            fn write(model: String, ids: Vec<i64>, values: String) -> ()
                = |orm, context| orm.write(context, &model, &ids, &values);
            fn unlink(model: String, ids: Vec<i64>) -> ()
                = |orm, context| orm.unlink(context, &model, &ids);
            fn call(model: String, method: String, ids: Vec<i64>, args: String, kwargs: String)
                -> String
                = |orm, context| orm.call(&MethodCall { model: &model, method: &method,
                    ids: &ids, args: &args, kwargs: &kwargs, context });
            fn call_super(ids: Vec<i64>, args: String, kwargs: String) -> String
                = |orm, context| orm.call_super(context, &ids, &args, &kwargs);
            $($added)*
        }
    };
    // The context travels as single token trees from here on, so that
    // each import can repeat it.
    (
        @impl $this:ident $ctx:tt $context:tt;
        $(
            fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty
                = |$orm:ident, $cx:ident| $call:expr;
        )*
    ) => {
        impl<B: OrmBackend> pulse::addon::orm::Host for HostState<B> {
            $(
                orm_imports!(
                    @import $this $ctx $context;
                    fn $name($($arg: $ty),*) -> $out = |$orm, $cx| $call
                );
            )*

            async fn sudo(&mut $this, on: bool) -> Result<(), WitError> {
                let _busy = $this.host_call();
                Ok($this.orm.sudo(on).await?)
            }
        }
    };
    (
        @import $this:ident [$($ctx:ident: $ctx_ty:ty)?] ($context:expr);
        fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty = |$orm:ident, $cx:ident| $call:expr
    ) => {
        async fn $name(
            &mut $this,
            $($ctx: $ctx_ty,)?
            $($arg: $ty,)*
        ) -> Result<$out, WitError> {
            let _busy = $this.host_call();
            let $cx = &$context;
            let $orm = &mut $this.orm;
            Ok($call.await?)
        }
    };
}

mod v0_1;
mod v0_2;

use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::{Exception, Hook, HostState, LogLevel, MethodCall, OrmBackend};
use super::{LoginAttempt, LoginDecision, RecordEvent, RouteRequest, RouteResponse};
use pulse_schema::Context;

/// The WIT package's name, without a version.
pub const WIT_PACKAGE: &str = "pulse:addon";

/// A version of `pulse:addon` this host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    /// `pulse:addon@0.1.0`, the first release (frozen).
    V0_1,
    /// `pulse:addon@0.2.0`, the current one.
    V0_2,
}

impl ApiVersion {
    /// Every version this host runs, oldest first.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V0_1, ApiVersion::V0_2];

    /// The newest version: what the SDK builds against.
    pub const CURRENT: ApiVersion = ApiVersion::V0_2;

    /// The version as semver text, e.g. `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => "0.1.0",
            ApiVersion::V0_2 => "0.2.0",
        }
    }

    /// The versions this host runs, as a list for messages: `0.1.0, 0.2.0`.
    pub fn supported() -> String {
        ApiVersion::ALL.map(ApiVersion::as_str).join(", ")
    }

    /// The version of `pulse:addon` that `component` imports and exports,
    /// read from its interface names.
    pub(crate) fn of(component: &Component, engine: &Engine) -> Result<ApiVersion, VersionError> {
        let ty = component.component_type();
        let names = ty
            .imports(engine)
            .map(|(name, _)| name)
            .chain(ty.exports(engine).map(|(name, _)| name));
        let mut found: Vec<&str> = names
            .filter_map(|name| name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/'))
            .map(|rest| rest.split_once('@').map(|(_, v)| v).unwrap_or(""))
            .collect();
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [] => Err(VersionError::None),
            [one] => ApiVersion::ALL
                .into_iter()
                .find(|v| v.as_str() == *one)
                .ok_or_else(|| VersionError::Unsupported(one.to_string())),
            many => Err(VersionError::Mixed(
                many.iter().map(|v| v.to_string()).collect(),
            )),
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a component's `pulse:addon` version is not one this host runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The component imports and exports no `pulse:addon` interface.
    #[error(
        "it imports and exports no {WIT_PACKAGE} interface; this host runs {WIT_PACKAGE} versions {supported}",
        supported = ApiVersion::supported()
    )]
    None,
    /// The component is built against a version this host does not know
    /// (a newer one, or one never released).
    #[error(
        "it is built against {WIT_PACKAGE}@{0}, which this host does not support; it supports {WIT_PACKAGE} versions {supported}",
        supported = ApiVersion::supported()
    )]
    Unsupported(String),
    /// The component names several versions at once.
    #[error("it mixes {WIT_PACKAGE} versions {}", .0.join(", "))]
    Mixed(Vec<String>),
}

/// Adds the imports of every supported version to `linker`.
pub(crate) fn add_to_linker<B: OrmBackend>(
    linker: &mut Linker<HostState<B>>,
) -> wasmtime::Result<()> {
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// Where each exported interface's functions sit in a component, looked
/// up once at load. A call then types only the one interface it uses, not
/// every export of the world.
pub(crate) enum Exports {
    V0_1(v0_1::Exports),
    /// 0.2's exports: those 0.1 has, and those it added.
    V0_2(v0_2::Exports),
}

impl Exports {
    pub(crate) fn new<T>(version: ApiVersion, pre: &InstancePre<T>) -> wasmtime::Result<Exports> {
        Ok(match version {
            ApiVersion::V0_1 => Exports::V0_1(v0_1::Exports::new(pre)?),
            ApiVersion::V0_2 => Exports::V0_2(v0_2::Exports::new(pre)?),
        })
    }
}

/// The calls into a component, each handed to its version's `Exports`
/// with the component's store and instance: first those every version
/// exports, then those 0.2 added, which a 0.1 component answers with an
/// internal error.
macro_rules! calls_into_a_component {
    (
        every version: $(fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*
        added in 0.2: $(fn $added:ident($($added_arg:ident: $added_ty:ty),*) -> $added_out:ty;
            a 0.1 component answers $missing:expr;)*
    ) => {
        impl Exports {
            $(
                pub(crate) async fn $name<B: OrmBackend>(
                    &self,
                    store: &mut Store<HostState<B>>,
                    instance: &Instance,
                    $($arg: $ty),*
                ) -> wasmtime::Result<$out> {
                    match self {
                        Exports::V0_1(e) => e.$name(store, instance, $($arg),*).await,
                        Exports::V0_2(e) => e.$name(store, instance, $($arg),*).await,
                    }
                }
            )*
            $(
                pub(crate) async fn $added<B: OrmBackend>(
                    &self,
                    store: &mut Store<HostState<B>>,
                    instance: &Instance,
                    $($added_arg: $added_ty),*
                ) -> wasmtime::Result<Result<$added_out, Exception>> {
                    match self {
                        Exports::V0_1(_) => Ok(Err(Exception::Internal($missing.into()))),
                        Exports::V0_2(e) => e.$added(store, instance, $($added_arg),*).await,
                    }
                }
            )*
        }
    };
}

calls_into_a_component! {
    every version:
        fn describe() -> String;
        fn run_hook(hook: Hook<'_>) -> Result<(), Exception>;
        fn call_method(call: &MethodCall<'_>) -> Result<String, Exception>;
        fn handle_route(route: &str, request: RouteRequest) -> Result<RouteResponse, Exception>;
    added in 0.2:
        fn run_cron(context: &Context, job: &str, scheduled: &str) -> ();
            a 0.1 component answers format!(
                "addon built against {WIT_PACKAGE}@{} exports no cron jobs (0.2.0 added them)",
                ApiVersion::V0_1
            );
        fn on_event(context: &Context, event: &RecordEvent) -> ();
            a 0.1 component answers
                "a component built against pulse:addon@0.1.0 has no record events";
        fn check_login(attempt: &LoginAttempt) -> LoginDecision;
            a 0.1 component answers
                "a component built against pulse:addon@0.1.0 has no authentication policy";
}
