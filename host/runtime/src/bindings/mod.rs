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
/// the linker entry point, and the exports that have not changed since 0.1
/// (`describe`, `lifecycle`, `routes`). Each version's module expands it
/// next to its own `bindgen!`, `guest` (its exports) and `WitError`, naming
/// the exported interfaces it has beyond those (`cron: guest::cron::GuestIndices`).
macro_rules! same_in_every_version {
    ($($extra:ident: $indices:ty),* $(,)?) => {
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

    pub(crate) async fn describe<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
    ) -> wasmtime::Result<String> {
        match self {
            Exports::V0_1(e) => e.describe(store, instance).await,
            Exports::V0_2(e) => e.describe(store, instance).await,
        }
    }

    pub(crate) async fn run_hook<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        hook: Hook<'_>,
    ) -> wasmtime::Result<Result<(), Exception>> {
        match self {
            Exports::V0_1(e) => e.run_hook(store, instance, hook).await,
            Exports::V0_2(e) => e.run_hook(store, instance, hook).await,
        }
    }

    pub(crate) async fn call_method<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        call: &MethodCall<'_>,
    ) -> wasmtime::Result<Result<String, Exception>> {
        match self {
            Exports::V0_1(e) => e.call_method(store, instance, call).await,
            Exports::V0_2(e) => e.call_method(store, instance, call).await,
        }
    }

    pub(crate) async fn run_cron<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        context: &pulse_schema::Context,
        job: &str,
        scheduled: &str,
    ) -> wasmtime::Result<Result<(), Exception>> {
        match self {
            Exports::V0_1(_) => Ok(Err(Exception::Internal(format!(
                "addon built against {WIT_PACKAGE}@{} exports no cron jobs (0.2.0 added them)",
                ApiVersion::V0_1
            )))),
            Exports::V0_2(e) => e.run_cron(store, instance, context, job, scheduled).await,
        }
    }

    pub(crate) async fn handle_route<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        route: &str,
        request: RouteRequest,
    ) -> wasmtime::Result<Result<RouteResponse, Exception>> {
        match self {
            Exports::V0_1(e) => e.handle_route(store, instance, route, request).await,
            Exports::V0_2(e) => e.handle_route(store, instance, route, request).await,
        }
    }

    pub(crate) async fn on_event<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        context: &Context,
        event: &RecordEvent,
    ) -> wasmtime::Result<Result<(), Exception>> {
        match self {
            Exports::V0_1(_) => Ok(Err(Exception::Internal(
                "a component built against pulse:addon@0.1.0 has no record events".into(),
            ))),
            Exports::V0_2(e) => e.on_event(store, instance, context, event).await,
        }
    }

    pub(crate) async fn check_login<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        attempt: &LoginAttempt,
    ) -> wasmtime::Result<Result<LoginDecision, Exception>> {
        match self {
            Exports::V0_1(_) => Ok(Err(Exception::Internal(
                "a component built against pulse:addon@0.1.0 has no authentication policy".into(),
            ))),
            Exports::V0_2(e) => e.check_login(store, instance, attempt).await,
        }
    }
}
