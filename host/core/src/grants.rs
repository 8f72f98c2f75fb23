//! What the admin allowed each addon beyond the sandbox: superuser mode
//! and outbound HTTP to named hosts. An addon gets a permission only when
//! its manifest asks for it *and* the admin granted it (`pulse grant`);
//! `pulse plan` shows both before an install.

use std::collections::{BTreeSet, HashMap};

use pulse_runtime::{Exception, HttpRequest, HttpResponse};

use crate::Error;

/// The grant of superuser mode.
pub const SUDO: &str = "sudo";

/// The grant of outbound HTTP to `host` (a name, or `*.domain`).
pub fn http(host: &str) -> String {
    format!("http:{host}")
}

/// The permissions an addon's manifest asks for, as grant names.
pub fn asked(manifest: &pulse_manifest::Permissions) -> Vec<String> {
    let mut out = Vec::new();
    if manifest.sudo {
        out.push(SUDO.to_string());
    }
    out.extend(manifest.outbound_hosts.iter().map(|h| http(h)));
    out
}

/// What one addon may do: asked for and granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// The manifest asks for superuser mode.
    pub sudo_asked: bool,
    /// ... and the admin granted it.
    pub sudo: bool,
    /// Host patterns the manifest lists.
    pub hosts_asked: Vec<String>,
    /// Those the admin granted too.
    pub hosts: Vec<String>,
}

impl Permissions {
    /// The manifest's request, narrowed to what `granted` holds.
    pub fn of(manifest: &pulse_manifest::Permissions, granted: &BTreeSet<String>) -> Permissions {
        Permissions {
            sudo_asked: manifest.sudo,
            sudo: manifest.sudo && granted.contains(SUDO),
            hosts_asked: manifest.outbound_hosts.clone(),
            hosts: manifest
                .outbound_hosts
                .iter()
                .filter(|h| granted.contains(&http(h)))
                .cloned()
                .collect(),
        }
    }
}

/// Whether `host` matches `pattern`: the same name, or for `*.domain` any
/// name under that domain.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => pattern == host,
    }
}

/// Every grant, by addon.
#[crate::boxed]
pub async fn load(
    conn: &mut pulse_orm::Connection,
) -> Result<HashMap<String, BTreeSet<String>>, Error> {
    let mut grants: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (addon, permission) in
        pulse_orm::pairs(conn, "SELECT addon, permission FROM pulse_grants").await?
    {
        grants.entry(addon).or_default().insert(permission);
    }
    Ok(grants)
}

/// Checks a permission name given on the command line.
pub fn parse(permission: &str) -> Result<String, Error> {
    if permission == SUDO {
        return Ok(permission.to_string());
    }
    if let Some(host) = permission.strip_prefix("http:") {
        let name = host.strip_prefix("*.").unwrap_or(host);
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if valid {
            return Ok(permission.to_ascii_lowercase());
        }
    }
    Err(Error::Config(format!(
        "unknown permission {permission:?}: expected `sudo` or `http:HOST` (HOST a name such as api.example.com, or *.example.com)"
    )))
}

/// Sends the outbound HTTP requests of addons once [`fetch`] has allowed
/// them. The core has no HTTP client of its own: whoever builds the host
/// hands one over ([`crate::Config::outbound`]; `pulse-api` has one).
pub trait Outbound: std::fmt::Debug + Send + Sync {
    /// Sends `request`; a response body longer than `request.max_body`
    /// bytes is [`OutboundError::TooLarge`]. No redirects are followed (a
    /// redirect could lead off the allowed hosts).
    fn send(&self, request: OutboundRequest) -> OutboundFuture<'_>;
}

/// An outbound request in progress.
pub type OutboundFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<OutboundResponse, OutboundError>> + Send + 'a>,
>;

/// An outbound request, its URL's scheme and host already allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The method, upper case (`GET`, `POST`, …).
    pub method: String,
    /// The URL (`http` or `https`).
    pub url: String,
    /// Headers, in the order given.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// The most the response body may hold.
    pub max_body: usize,
}

/// The answer to an outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_body` bytes.
    pub body: Vec<u8>,
}

/// Why an outbound request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The method is no valid HTTP method.
    #[error("invalid HTTP method")]
    InvalidMethod,
    /// The body went past the request's `max_body`.
    #[error("the response is too large")]
    TooLarge,
    /// Connecting, sending or reading failed.
    #[error("{0}")]
    Failed(String),
}

/// The most an outbound response body may hold.
const MAX_RESPONSE: usize = 8 << 20;

/// Sends the request `addon` asked for through `outbound`, if
/// `permissions` allow its host.
#[crate::boxed]
pub async fn fetch(
    outbound: Option<&dyn Outbound>,
    addon: &str,
    permissions: &Permissions,
    request: &HttpRequest,
) -> Result<HttpResponse, Exception> {
    let url = request.url.as_str();
    let url =
        url::Url::parse(url).map_err(|e| Exception::User(format!("invalid URL {url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Exception::Access(format!(
            "addon '{addon}' may only make http and https requests, not {}",
            url.scheme()
        )));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    if !permissions
        .hosts_asked
        .iter()
        .any(|p| host_matches(p, &host))
    {
        return Err(Exception::Access(format!(
            "addon '{addon}' may not call {host}: its manifest does not list that host under [permissions] outbound_hosts"
        )));
    }
    if !permissions.hosts.iter().any(|p| host_matches(p, &host)) {
        return Err(Exception::Access(format!(
            "addon '{addon}' may not call {host}: the admin has not granted it (pulse grant {addon} http:{host})"
        )));
    }
    let Some(outbound) = outbound else {
        return Err(Exception::User(format!(
            "HTTP request to {host} failed: this host makes no outbound requests"
        )));
    };
    let method = if request.method.is_empty() {
        "GET".to_string()
    } else {
        request.method.to_ascii_uppercase()
    };
    let sent = OutboundRequest {
        method: method.clone(),
        url: url.to_string(),
        headers: request.headers.clone(),
        body: request.body.clone(),
        max_body: MAX_RESPONSE,
    };
    let response = outbound.send(sent).await.map_err(|e| match e {
        OutboundError::InvalidMethod => Exception::User(format!("invalid HTTP method {method:?}")),
        OutboundError::TooLarge => Exception::User(format!(
            "the response from {host} exceeds {MAX_RESPONSE} bytes"
        )),
        OutboundError::Failed(e) => Exception::User(format!("HTTP request to {host} failed: {e}")),
    })?;
    tracing::info!(addon, %method, host = %host, status = response.status, "outbound HTTP request");
    Ok(HttpResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    })
}
