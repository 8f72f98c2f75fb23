//! Who is calling: one identity from a session cookie, a bearer API key,
//! or a uid and password (or API key) inside an RPC body; the client's
//! address (behind trusted proxies only); and the login door with its
//! throttle.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use axum::response::Response;
use ipnet::IpNet;
use pulse_core::auth::{self, User};
use pulse_core::{Host, Kind, LoginDecision, LoginDoor};
use serde_json::Value;

use crate::faults::{RpcError, reply};

/// Serving behind a reverse proxy: the client's address is taken from
/// `X-Forwarded-For`, and HTTPS from `X-Forwarded-Proto`, only when
/// enabled and only from the trusted proxies; otherwise the peer address
/// is the client, so nobody can choose the address they are throttled by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyMode {
    /// Whether the forwarding headers are honoured at all.
    pub enabled: bool,
    /// The proxies whose forwarding headers are taken (loopback when
    /// enabled and none is given).
    pub trusted: Vec<IpNet>,
}

impl ProxyMode {
    /// A trusted proxy as given on the command line: `ADDR` or `ADDR/CIDR`.
    pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("expected an address or ADDR/CIDR, got {text:?}"))
    }

    /// Whether `peer` is a proxy whose forwarding headers count.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.enabled
            && if self.trusted.is_empty() {
                peer.is_loopback()
            } else {
                self.trusted.iter().any(|net| net.contains(&peer))
            }
    }
}

/// How many `X-Forwarded-For` hops are looked at, right to left.
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address, for throttling and logs: the peer's, unless the
/// host runs in proxy mode and the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` address that is not itself a trusted
/// proxy (what the proxy saw; anything left of it the client wrote).
pub(crate) fn client_address(proxy: &ProxyMode, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let mut client = peer.ip().to_canonical();
    if !proxy.trusts(client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .take(MAX_FORWARDED_HOPS);
    for hop in hops {
        let hop = hop.trim();
        let Some(address) = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        else {
            break;
        };
        client = address.to_canonical();
        if !proxy.trusts(client) {
            break;
        }
    }
    client
}

/// Whether the request came over HTTPS: as a trusted proxy says in
/// `X-Forwarded-Proto` (the right-most value, its own), in proxy mode only.
/// Pulse itself listens in plain HTTP.
pub(crate) fn came_over_https(proxy: &ProxyMode, peer: SocketAddr, headers: &HeaderMap) -> bool {
    proxy.trusts(peer.ip())
        && headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The token of `Authorization: Bearer TOKEN`, if the request has one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
}

/// The request's `session_id` cookie.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.to_string())
}

/// The user of the request's session: a live session whose user's
/// credentials are still those it was opened with (a new password or a
/// deactivation ends it here, see `auth::Stamp`).
pub(crate) async fn session_user(host: &Host, headers: &HeaderMap) -> Option<User> {
    let id = session_cookie(headers)?;
    let session = match host.sessions().get(&id).await {
        Ok(session) => session?,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a session");
            return None;
        }
    };
    match auth::current_stamp(&host.db, session.user.uid).await {
        Ok(Some(stamp)) if stamp == session.stamp => Some(session.user),
        Ok(_) => {
            tracing::info!(
                uid = session.user.uid,
                "session ended: the user's credentials changed"
            );
            if let Err(e) = host.sessions().close(&id).await {
                tracing::error!(error = %e, "cannot end a session");
            }
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check a session");
            None
        }
    }
}

/// The user of the request's session; the rejection is Odoo's "Session
/// expired", answered before the body is read.
pub(crate) struct SessionUser(pub User);

impl axum::extract::FromRequestParts<Arc<Host>> for SessionUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        host: &Arc<Host>,
    ) -> Result<Self, Response> {
        session_user(host, &parts.headers)
            .await
            .map(SessionUser)
            .ok_or_else(|| reply(&Value::Null, Err(RpcError::session_expired())))
    }
}

/// The database `db` is the one this server serves, or Odoo's error.
pub(crate) fn check_db(host: &Host, db: &str) -> Result<(), RpcError> {
    if db == host.db.name {
        Ok(())
    } else {
        Err(RpcError::core(
            Kind::AccessError,
            format!(
                "Database not found. (this server serves {:?})",
                host.db.name
            ),
        ))
    }
}

/// The most of a login a log line shows.
const LOGGED_LOGIN_CHARS: usize = 64;

/// Checks a login and password (at the RPC door, or an API key) on `db`,
/// throttling failures per login and per client address: the attempt is
/// counted as a failure before the password is checked, and forgiven (with
/// the address's and the login's earlier failures) when it succeeds.
///
/// Right credentials are then put to the authentication policies
/// ([`Host::check_login`], with `second_factor` if the client sent one): a
/// refusal fails as a wrong password does (and stays counted); a demand
/// for a second factor fails with [`Kind::SecondFactorRequired`] (and
/// stays counted too, so second factors cannot be guessed faster than
/// passwords).
pub(crate) async fn log_in(
    host: &Host,
    address: IpAddr,
    db: &str,
    login: &str,
    password: &str,
    door: auth::Door,
    second_factor: Option<&str>,
) -> Result<(User, auth::Stamp), RpcError> {
    check_db(host, db)?;
    let keys = auth::throttle_keys(login, address);
    let shown: String = login.chars().take(LOGGED_LOGIN_CHARS).collect();
    if host
        .throttle()
        .reserve(&keys)
        .await
        .map_err(RpcError::from)?
        .is_err()
    {
        tracing::warn!(login = %shown, %address, "login refused: too many failures");
        return Err(RpcError::core(
            Kind::AccessDenied,
            "Too many failed logins; try again later",
        ));
    }
    match auth::authenticate(&host.db, login, password, door)
        .await
        .map_err(RpcError::from)?
    {
        Some(found) => {
            let policy_door = match door {
                auth::Door::Interactive => LoginDoor::Web,
                auth::Door::Rpc => LoginDoor::Rpc,
            };
            let decision = host
                .check_login(
                    &found.0.login,
                    found.0.uid,
                    address,
                    policy_door,
                    second_factor,
                )
                .await
                .map_err(RpcError::from)?;
            if let Err(e) = refusal(decision) {
                tracing::info!(login = %shown, %address, "login refused or waiting for a second factor");
                return Err(e);
            }
            host.throttle()
                .succeeded(&keys)
                .await
                .map_err(RpcError::from)?;
            pulse_core::record_login(&host.db, found.0.uid)
                .await
                .map_err(RpcError::from)?;
            Ok(found)
        }
        None => {
            tracing::info!(login = %shown, %address, "login failed");
            Err(RpcError::access_denied())
        }
    }
}

/// What a policy's decision means for the caller: nothing, or Odoo's
/// `AccessDenied` (a refusal), or [`Kind::SecondFactorRequired`].
fn refusal(decision: LoginDecision) -> Result<(), RpcError> {
    match decision {
        LoginDecision::Allow => Ok(()),
        LoginDecision::Refuse(_) => Err(RpcError::access_denied()),
        LoginDecision::SecondFactor(which) => Err(RpcError::core(
            Kind::SecondFactorRequired,
            format!("A second factor is required to log in: {which}"),
        )),
    }
}

/// Puts a use of user `uid`'s API key as a bearer token (JSON-2, addon
/// routes) from `address` to the authentication policies, when there are
/// any: each use is a login they may refuse.
pub(crate) async fn check_api_key_use(
    host: &Host,
    uid: i64,
    address: IpAddr,
) -> Result<(), RpcError> {
    if !host.has_login_policies() {
        return Ok(());
    }
    let login = auth::login_of(&host.db, uid)
        .await?
        .ok_or_else(RpcError::access_denied)?;
    let decision = host
        .check_login(&login, uid, address, LoginDoor::ApiKey, None)
        .await?;
    refusal(decision)
}

/// Checks the `uid` and password (or API key) an `object` call carries.
/// Successful checks are remembered for a few minutes, by a digest of the
/// password, so scripts do not pay for argon2 on every call.
pub(crate) async fn check_uid_password(
    host: &Host,
    address: IpAddr,
    uid: i64,
    password: &str,
) -> Result<(), RpcError> {
    if password.is_empty() {
        return Err(RpcError::access_denied());
    }
    // Remembered credentials hold only while the user's are the same.
    let Some(stamp) = auth::current_stamp(&host.db, uid).await? else {
        return Err(RpcError::access_denied());
    };
    // API keys cost a digest and a query: they are checked every time, so
    // a revoked or expired key stops at once.
    let api_key = password.starts_with(auth::API_KEY_PREFIX);
    // With authentication policies installed, every call is a login they
    // are asked about (from wherever it comes).
    let policies = host.has_login_policies();
    if !api_key && !policies && host.credentials().is_fresh(uid, password, &stamp) {
        return Ok(());
    }
    let Some(login) = auth::login_of(&host.db, uid).await? else {
        return Err(RpcError::access_denied());
    };
    let (user, stamp) = log_in(
        host,
        address,
        &host.db.name,
        &login,
        password,
        auth::Door::Rpc,
        None,
    )
    .await?;
    if user.uid != uid {
        return Err(RpcError::access_denied());
    }
    if !api_key {
        host.credentials().remember(uid, password, &stamp);
    }
    Ok(())
}
