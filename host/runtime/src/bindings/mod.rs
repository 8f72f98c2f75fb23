//! The host's side of every released `pulse:addon` version, one module per
//! version (the only `bindgen!` sites of the host), each converting into
//! the runtime's own types ([`OrmBackend`], [`MethodCall`],
//! [`RouteRequest`], …). Nothing outside this module sees a generated type.
//!
//! A component says which version it was built against by the names of
//! the interfaces it imports and exports (`pulse:addon/orm@0.1.0`);
//! [`ApiVersion::of`] reads them before anything is linked.

mod v0_1;
mod v0_2;

use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::{AddonError, Hook, HostState, LogLevel, MethodCall, OrmBackend};
use super::{RouteRequest, RouteResponse};

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
    ) -> wasmtime::Result<Result<(), AddonError>> {
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
    ) -> wasmtime::Result<Result<String, AddonError>> {
        match self {
            Exports::V0_1(e) => e.call_method(store, instance, call).await,
            Exports::V0_2(e) => e.call_method(store, instance, call).await,
        }
    }

    pub(crate) async fn handle_route<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        route: &str,
        request: RouteRequest,
    ) -> wasmtime::Result<Result<RouteResponse, AddonError>> {
        match self {
            Exports::V0_1(e) => e.handle_route(store, instance, route, request).await,
            Exports::V0_2(e) => e.handle_route(store, instance, route, request).await,
        }
    }
}
