//! Addon HTTP routes, like Odoo's controllers: an addon lists its routes
//! (method, path pattern, auth) in its description, and every request the
//! host's own API does not answer is matched against the installed addons'
//! routes.
//!
//! Here: the checks an addon's routes pass at install, the table of the
//! installed addons' routes a snapshot holds, and running a matched
//! route's handler ([`Host::run_route`]) in a fresh instance inside one
//! transaction, as the caller (no user at all for a public route),
//! committed when the handler answers. A handler that fails or traps is
//! rolled back. Authenticating the request, its body limit and the answer
//! over HTTP are `pulse-api`'s.

use std::sync::Arc;

use pulse_orm::Orm;
use pulse_runtime::{RouteRequest, RouteResponse};
use pulse_schema::{
    ROUTE_METHODS as METHODS, RouteSegment as Segment, RouteSpec, route_segments as segments,
};

use crate::{Error, Host, Snapshot, TxOrm};

/// The body limit of a route that sets none.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// The largest body limit a route may set.
pub const MAX_BODY_LIMIT: usize = 16 << 20;

/// Paths the host answers itself; no addon route may start with them.
const RESERVED: [&str; 7] = [
    "/web", "/jsonrpc", "/xmlrpc", "/json", "/metrics", "/health", "/ready",
];

/// Checks the routes an addon describes: known methods, well-formed
/// patterns outside the host's own paths, sane limits, no route twice.
pub fn validate(addon: &str, routes: &[RouteSpec]) -> Result<(), Error> {
    let bad = |why: String| Error::Lifecycle(format!("addon '{addon}': {why}"));
    let mut seen = std::collections::HashSet::new();
    for route in routes {
        if !METHODS.contains(&route.method.as_str()) {
            return Err(bad(format!(
                "route '{}' has the method '{}'; expected one of {}",
                route.name,
                route.method,
                METHODS.join(", ")
            )));
        }
        let pattern =
            segments(&route.path).map_err(|why| bad(format!("route '{}': {why}", route.name)))?;
        if let Some(prefix) = RESERVED
            .iter()
            .find(|p| route.path == **p || route.path.starts_with(&format!("{p}/")))
        {
            return Err(bad(format!(
                "route '{}' ({}) is under {prefix}, which the host serves itself",
                route.name, route.path
            )));
        }
        if route.max_body.is_some_and(|n| n > MAX_BODY_LIMIT) {
            return Err(bad(format!(
                "route '{}' asks for a body limit above the host's {MAX_BODY_LIMIT} bytes",
                route.name
            )));
        }
        if !seen.insert((route.method.clone(), shape(&pattern))) {
            return Err(bad(format!(
                "the route {} {} is declared twice",
                route.method, route.path
            )));
        }
    }
    Ok(())
}

/// A pattern with its parameter names blanked: two patterns of one shape
/// match the same paths.
fn shape(pattern: &[Segment]) -> Vec<Option<String>> {
    pattern
        .iter()
        .map(|s| match s {
            Segment::Literal(text) => Some(text.clone()),
            Segment::Param(_) => None,
        })
        .collect()
}

/// One route of an installed addon.
#[derive(Debug, Clone)]
pub struct Route {
    /// The addon serving it.
    pub addon: String,
    /// What the addon declared.
    pub spec: RouteSpec,
    pattern: Vec<Segment>,
}

/// The routes of the installed addons.
#[derive(Debug, Default)]
pub struct RouteTable {
    #[doc(hidden)]
    pub routes: Vec<Route>,
}

/// What a request path and method found.
#[derive(Debug)]
pub enum Found<'a> {
    /// The route, with the path's parameters.
    Route(&'a Route, Vec<(String, String)>),
    /// Routes match the path, with these methods only.
    WrongMethod(Vec<&'a str>),
    /// No route matches the path.
    Nothing,
}

impl RouteTable {
    /// The table of `addons` (name and routes, in load order): an addon
    /// later in load order overrides a route of the same method and shape.
    pub fn build<'a>(addons: impl IntoIterator<Item = (&'a str, &'a [RouteSpec])>) -> RouteTable {
        let mut routes: Vec<Route> = Vec::new();
        for (addon, specs) in addons {
            for spec in specs {
                let Ok(pattern) = segments(&spec.path) else {
                    tracing::warn!(addon, path = %spec.path, "skipping a route with a bad path");
                    continue;
                };
                if let Some(i) = routes.iter().position(|r| {
                    r.spec.method == spec.method && shape(&r.pattern) == shape(&pattern)
                }) {
                    tracing::info!(addon, path = %spec.path, overrides = %routes[i].addon, "route overridden");
                    routes.remove(i);
                }
                routes.push(Route {
                    addon: addon.to_string(),
                    spec: spec.clone(),
                    pattern,
                });
            }
        }
        RouteTable { routes }
    }

    /// The route for `method` and `path`: the most literal pattern that
    /// matches (`/x/new` before `/x/{id}`).
    pub fn find(&self, method: &str, path: &str) -> Found<'_> {
        let Some(rest) = path.strip_prefix('/') else {
            return Found::Nothing;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        // The best match so far, with its parameters and literal count.
        type Best<'r> = (&'r Route, Vec<(String, String)>, usize);
        let mut best: Option<Best<'_>> = None;
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = matches(&route.pattern, &parts) else {
                continue;
            };
            if route.spec.method != method {
                allowed.push(route.spec.method.as_str());
                continue;
            }
            let literals = route.pattern.len() - params.len();
            if best.as_ref().is_none_or(|(_, _, n)| literals > *n) {
                best = Some((route, params, literals));
            }
        }
        match best {
            Some((route, params, _)) => Found::Route(route, params),
            None if !allowed.is_empty() => Found::WrongMethod(allowed),
            None => Found::Nothing,
        }
    }
}

fn matches(pattern: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    if pattern.len() != parts.len() {
        return None;
    }
    let mut params = Vec::new();
    for (segment, part) in pattern.iter().zip(parts) {
        match segment {
            Segment::Literal(text) if text == part => {}
            Segment::Literal(_) => return None,
            Segment::Param(_) if part.is_empty() => return None,
            Segment::Param(name) => {
                let value = percent_encoding::percent_decode_str(part)
                    .decode_utf8()
                    .ok()?
                    .into_owned();
                params.push((name.clone(), value));
            }
        }
    }
    Some(params)
}

impl Host {
    /// Runs the handler of `route` on `request`, in a fresh instance of its
    /// addon inside one transaction, as the request's user (none for a
    /// public route); committed when the handler answers, run again when a
    /// concurrent transaction got in the way.
    #[crate::boxed]
    pub async fn run_route(
        &self,
        snapshot: &Arc<Snapshot>,
        route: &Route,
        request: RouteRequest,
    ) -> Result<RouteResponse, Error> {
        let Some(component) = snapshot.addons.get(&route.addon) else {
            return Err(Error::Lifecycle(format!(
                "the component of addon '{}' is not loaded",
                route.addon
            )));
        };
        let uid = request.uid;
        let request = &request;
        crate::db::retrying(&route.spec.path, move || async move {
            let scope = snapshot.scopes.get(&route.addon).cloned();
            // The transaction begins at the route's first ORM call, if any.
            let orm = TxOrm::deferred(
                &self.db.pool,
                Orm::new(self.db.dialect, snapshot.registry.clone()),
                Some(snapshot.clone()),
                uid.unwrap_or(crate::base::PUBLIC_UID),
            )
            .enter("", &route.spec.name, 0, scope);
            let span =
                tracing::info_span!("addon_call", addon = %route.addon, route = %route.spec.path);
            let (answer, orm) = tracing::Instrument::instrument(
                component.handle_route(orm, &route.spec.name, request.clone()),
                span,
            )
            .await;
            crate::metrics::metrics().addon_call(&route.addon, crate::metrics::outcome(&answer));
            match answer {
                Ok(answer) => orm
                    .leave()
                    .commit()
                    .await
                    .map(|()| answer)
                    .map_err(crate::db::tagged),
                Err(e) => {
                    let clashed = orm.conflicted();
                    Err((Error::from(e), clashed))
                }
            }
        })
        .await
    }
}
