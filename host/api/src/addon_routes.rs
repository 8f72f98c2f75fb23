//! Addon HTTP routes over HTTP: every request the host's own API does not
//! answer is matched against the installed addons' routes (the table is
//! the core's, in the snapshot), authenticated as its route asks, its body
//! read up to the route's limit (413 past it), and handed to the core to
//! run (`Host::run_route`). A handler that fails or traps is answered with
//! a JSON error naming its kind; the host carries on.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use pulse_core::routes::{DEFAULT_MAX_BODY, Found, Route};
use pulse_core::{Error, Host, Kind, Snapshot, auth};
use pulse_runtime::{CallError, RouteRequest};
use pulse_schema::RouteAuth;

use crate::faults::{Exception, RpcError, json_error};
use crate::identity::{ProxyMode, bearer_token, check_api_key_use, client_address, session_user};

/// An error answer in JSON-2's shape.
fn refuse(exception: Exception, message: impl Into<String>) -> Response {
    json_error(exception.status(), &RpcError::new(exception, message))
}

/// Serves every request the host's own routes did not match.
pub async fn serve(State(host): State<Arc<Host>>, request: Request) -> Response {
    if let Err(e) = host.refresh().await {
        tracing::error!(error = %e, "cannot load the installed addons");
        return refuse(
            Exception::ServiceUnavailable,
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
                Exception::MethodNotAllowed,
                format!("{path} does not answer {method}; it answers {allow}"),
            );
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
        Found::Nothing => {
            return refuse(Exception::NotFound, format!("nothing is served at {path}"));
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
    snapshot: &Arc<Snapshot>,
    route: &Route,
    params: Vec<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let address = match (
        parts.extensions.get::<ConnectInfo<SocketAddr>>(),
        parts.extensions.get::<Arc<ProxyMode>>(),
    ) {
        (Some(ConnectInfo(peer)), Some(proxy)) => client_address(proxy, *peer, &parts.headers),
        (Some(ConnectInfo(peer)), None) => peer.ip(),
        _ => IpAddr::from([0, 0, 0, 0]),
    };
    let uid = match authenticate(host, route.spec.auth, &parts.headers, address).await {
        Ok(uid) => uid,
        Err(response) => return response,
    };
    let limit = route.spec.max_body.unwrap_or(DEFAULT_MAX_BODY);
    let too_large = || {
        refuse(
            Exception::RequestEntityTooLarge,
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
    let request = RouteRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        params,
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: forwarded_headers(&parts.headers),
        body: body.to_vec(),
        uid,
    };
    match host.run_route(snapshot, route, request).await {
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
        // The route's component is not loaded (see `Host::run_route`).
        Err(Error::Lifecycle(message)) => refuse(Exception::ServiceUnavailable, message),
        Err(e) => {
            // The addon's own errors keep their kind's status; a trap, a
            // timeout or a bad answer is the server's fault.
            let kind_status = matches!(&e, Error::Call(CallError::Addon(_)) | Error::Orm(_));
            let error = RpcError::from(e);
            let status = if kind_status {
                error.exception.status()
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            json_error(status, &error)
        }
    }
}

/// The caller's user id as the route's auth asks: `None` for public
/// routes, or a 401 answer.
async fn authenticate(
    host: &Host,
    auth: RouteAuth,
    headers: &HeaderMap,
    address: IpAddr,
) -> Result<Option<i64>, Response> {
    if auth == RouteAuth::Public {
        return Ok(None);
    }
    if let Some(key) = bearer_token(headers) {
        match auth::api_key_owner(&host.db, &key).await {
            Ok(Some(uid)) => {
                // Each use of a key is a login the authentication policies see.
                return match check_api_key_use(host, uid, address).await {
                    Ok(()) => Ok(Some(uid)),
                    Err(e) => Err(json_error(e.exception.status(), &e)),
                };
            }
            Ok(None) => {}
            Err(e) => {
                return Err(refuse(
                    Exception::Core(Kind::DatabaseError),
                    format!("cannot check the API key: {e}"),
                ));
            }
        }
    } else if auth == RouteAuth::User
        && let Some(user) = session_user(host, headers).await
    {
        return Ok(Some(user.uid));
    }
    let wanted = match auth {
        RouteAuth::ApiKey => "an API key (Authorization: Bearer …)",
        _ => "a session (log in first) or an API key (Authorization: Bearer …)",
    };
    let mut response = refuse(
        Exception::Unauthorized,
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
