//! Addon HTTP routes, like Odoo's controllers: an addon lists its routes
//! (method, path pattern, auth) in its description, and every request the
//! host's own API does not answer is matched against the installed addons'
//! routes.
//!
//! A matched request is authenticated as its route asks, its body is read
//! up to the route's limit (413 past it), and the addon's `handle` runs in
//! a fresh instance inside one transaction, as the caller (no user at all
//! for a public route), committed when the handler answers. A handler that
//! fails or traps is rolled back and answered with a JSON error naming the
//! addon; the host carries on.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use pulse_orm::Orm;
use pulse_runtime::{CallError, RouteRequest};
use pulse_schema::{
    ROUTE_METHODS as METHODS, RouteAuth, RouteSegment as Segment, RouteSpec,
    route_segments as segments,
};

use crate::http::RpcError;
use crate::{Error, Host, TxOrm};

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
    routes: Vec<Route>,
}

/// What a request path and method found.
enum Found<'a> {
    Route(&'a Route, Vec<(String, String)>),
    WrongMethod(Vec<&'a str>),
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
    fn find(&self, method: &str, path: &str) -> Found<'_> {
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

/// An error answer in JSON-2's shape, with the route's addon named.
fn refuse(status: StatusCode, name: &str, message: impl Into<String>) -> Response {
    crate::http::json_error(status, &RpcError::server(name, message))
}

/// Serves every request the host's own routes did not match.
pub async fn serve(State(host): State<Arc<Host>>, request: Request) -> Response {
    if let Err(e) = host.refresh().await {
        tracing::error!(error = %e, "cannot load the installed addons");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "werkzeug.exceptions.ServiceUnavailable",
            format!("the installed addons cannot be loaded: {e}"),
        );
    }
    let snapshot = host.snapshot();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let (route, params) = match snapshot.routes.find(&method, &path) {
        Found::Route(route, params) => (route.clone(), params),
        Found::WrongMethod(allowed) => {
            let allow = allowed.join(", ");
            let mut response = refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "werkzeug.exceptions.MethodNotAllowed",
                format!("{path} does not answer {method}; it answers {allow}"),
            );
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
        Found::Nothing => {
            return refuse(
                StatusCode::NOT_FOUND,
                "werkzeug.exceptions.NotFound",
                format!("nothing is served at {path}"),
            );
        }
    };
    let mut response = run(&host, &snapshot, &route, params, request).await;
    response
        .extensions_mut()
        .insert(RoutePattern(route.spec.path.clone()));
    response
}

/// The pattern of the addon route that answered, for the request metrics
/// (which label requests by pattern, never by raw path).
#[derive(Debug, Clone)]
pub(crate) struct RoutePattern(pub String);

async fn run(
    host: &Host,
    snapshot: &Arc<crate::Snapshot>,
    route: &Route,
    params: Vec<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let uid = match authenticate(host, route.spec.auth, &parts.headers).await {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let limit = route.spec.max_body.unwrap_or(DEFAULT_MAX_BODY);
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "werkzeug.exceptions.RequestEntityTooLarge",
            format!(
                "{} {} accepts bodies of at most {limit} bytes",
                route.spec.method, route.spec.path
            ),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        return too_large();
    };
    let Some(component) = snapshot.addons.get(&route.addon) else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "werkzeug.exceptions.ServiceUnavailable",
            format!("the component of addon '{}' is not loaded", route.addon),
        );
    };
    let request = RouteRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        params,
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: forwarded_headers(&parts.headers),
        body: body.to_vec(),
        uid,
    };
    // Another transaction getting in the way rolls the request back and
    // runs it again.
    let request = &request;
    let outcome = crate::db::retrying(&route.spec.path, move || async move {
        let scope = snapshot.scopes.get(&route.addon).cloned();
        // The transaction begins at the route's first ORM call, if any.
        let orm = TxOrm::deferred(
            &host.db.pool,
            Orm::new(host.db.dialect, snapshot.registry.clone()),
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
    .await;
    match outcome {
        Ok(answer) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in answer.headers {
                match (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value),
                ) {
                    (Ok(name), Ok(value)) => {
                        response.headers_mut().append(name, value);
                    }
                    _ => {
                        tracing::warn!(addon = %route.addon, header = %name, "dropping an invalid response header")
                    }
                }
            }
            response
        }
        Err(e) => {
            // The addon's own errors keep their kind's status; a trap, a
            // timeout or a bad answer is the server's fault.
            let kind_status = matches!(&e, Error::Call(CallError::Addon(_)) | Error::Orm(_));
            let error = RpcError::from(e);
            let status = if kind_status {
                crate::http::json2_status(&error)
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            crate::http::json_error(status, &error)
        }
    }
}

/// The caller's user id as the route's auth asks: `None` for public
/// routes, or a 401 answer.
async fn authenticate(
    host: &Host,
    auth: RouteAuth,
    headers: &HeaderMap,
) -> Result<Option<i64>, Response> {
    if auth == RouteAuth::Public {
        return Ok(None);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_string());
    if let Some(key) = bearer {
        match crate::auth::api_key_owner(&host.db, &key).await {
            Ok(Some(uid)) => return Ok(Some(uid)),
            Ok(None) => {}
            Err(e) => {
                return Err(refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "psycopg2.Error",
                    format!("cannot check the API key: {e}"),
                ));
            }
        }
    } else if auth == RouteAuth::User
        && let Some(user) = crate::http::session_user(host, headers).await
    {
        return Ok(Some(user.uid));
    }
    let wanted = match auth {
        RouteAuth::ApiKey => "an API key (Authorization: Bearer …)",
        _ => "a session (log in first) or an API key (Authorization: Bearer …)",
    };
    let mut response = refuse(
        StatusCode::UNAUTHORIZED,
        "werkzeug.exceptions.Unauthorized",
        format!("this route needs {wanted}"),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Err(response)
}

/// The request's headers an addon sees: names in lower case, without
/// cookies or credentials.
fn forwarded_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| **name != header::COOKIE && **name != header::AUTHORIZATION)
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, method: &str, path: &str) -> RouteSpec {
        RouteSpec {
            name: name.into(),
            method: method.into(),
            path: path.into(),
            auth: RouteAuth::User,
            max_body: None,
        }
    }

    #[test]
    fn literal_segments_win_and_methods_are_told_apart() {
        let a = [
            spec("by_id", "GET", "/x/{id}"),
            spec("new", "GET", "/x/new"),
        ];
        let b = [spec("post", "POST", "/x/{id}")];
        let table = RouteTable::build([("a", &a[..]), ("b", &b[..])]);
        match table.find("GET", "/x/new") {
            Found::Route(r, params) => assert_eq!((r.spec.name.as_str(), params.len()), ("new", 0)),
            _ => panic!("no route"),
        }
        match table.find("GET", "/x/caf%C3%A9") {
            Found::Route(r, params) => {
                assert_eq!(r.spec.name, "by_id");
                assert_eq!(params, [("id".to_string(), "café".to_string())]);
            }
            _ => panic!("no route"),
        }
        assert!(matches!(table.find("DELETE", "/x/1"), Found::WrongMethod(m) if m.len() == 2));
        assert!(matches!(table.find("GET", "/x/1/more"), Found::Nothing));
        assert!(matches!(table.find("GET", "/x/"), Found::Nothing));
    }

    #[test]
    fn a_later_addon_overrides_a_route_of_the_same_shape() {
        let a = [spec("one", "GET", "/x/{id}")];
        let b = [spec("two", "GET", "/x/{record}")];
        let table = RouteTable::build([("a", &a[..]), ("b", &b[..])]);
        assert_eq!(table.routes.len(), 1);
        assert!(matches!(table.find("GET", "/x/1"), Found::Route(r, _) if r.addon == "b"));
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        let check = |routes: &[RouteSpec]| validate("shop", routes).unwrap_err().to_string();
        assert!(check(&[spec("a", "TRACE", "/x")]).contains("method 'TRACE'"));
        assert!(check(&[spec("a", "GET", "/jsonrpc")]).contains("host serves itself"));
        assert!(check(&[spec("a", "GET", "/web/login")]).contains("host serves itself"));
        assert!(check(&[spec("a", "GET", "x")]).contains("must start with '/'"));
        assert!(check(&[spec("a", "GET", "/x/{a}"), spec("b", "GET", "/x/{b}")]).contains("twice"));
        let mut big = spec("a", "POST", "/x");
        big.max_body = Some(MAX_BODY_LIMIT + 1);
        assert!(check(&[big]).contains("body limit"));
        assert!(
            validate(
                "shop",
                &[
                    spec("a", "GET", "/webhooks/x"),
                    spec("b", "POST", "/x/{id}")
                ]
            )
            .is_ok()
        );
    }
}
