//! What the admin allowed each addon beyond the sandbox: superuser mode
//! and outbound HTTP to named hosts. An addon gets a permission only when
//! its manifest asks for it *and* the admin granted it (`pulse grant`);
//! `pulse plan` shows both before an install.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use pulse_runtime::AddonError;
use serde_json::{Map, Value, json};
use sqlx::Row;

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
pub async fn load(
    conn: &mut pulse_orm::Connection,
) -> Result<HashMap<String, BTreeSet<String>>, Error> {
    let mut grants: HashMap<String, BTreeSet<String>> = HashMap::new();
    for row in sqlx::query("SELECT addon, permission FROM pulse_grants")
        .fetch_all(&mut *conn)
        .await?
    {
        grants
            .entry(row.try_get(0)?)
            .or_default()
            .insert(row.try_get(1)?);
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

/// The shared client for outbound requests: no redirects (a redirect could
/// lead off the allowed hosts), a timeout on every request.
fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with default TLS settings builds")
    })
}

/// The most an outbound response body may hold.
const MAX_RESPONSE: usize = 8 << 20;

/// Sends the request `addon` asked for (JSON `{method, url, headers,
/// body}`), if `permissions` allow its host; answers JSON `{status,
/// headers, body}`.
pub async fn fetch(
    addon: &str,
    permissions: &Permissions,
    request: &str,
) -> Result<String, AddonError> {
    let request: Value = serde_json::from_str(request)
        .map_err(|e| AddonError::User(format!("invalid HTTP request JSON: {e}")))?;
    let url = request["url"].as_str().unwrap_or_default();
    let url = reqwest::Url::parse(url)
        .map_err(|e| AddonError::User(format!("invalid URL {url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AddonError::Access(format!(
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
        return Err(AddonError::Access(format!(
            "addon '{addon}' may not call {host}: its manifest does not list that host under [permissions] outbound_hosts"
        )));
    }
    if !permissions.hosts.iter().any(|p| host_matches(p, &host)) {
        return Err(AddonError::Access(format!(
            "addon '{addon}' may not call {host}: the admin has not granted it (pulse grant {addon} http:{host})"
        )));
    }
    let method = request["method"]
        .as_str()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| AddonError::User(format!("invalid HTTP method {method:?}")))?;
    let mut builder = client().request(method.clone(), url.clone());
    if let Some(headers) = request["headers"].as_object() {
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str().unwrap_or_default());
        }
    }
    if let Some(body) = request["body"].as_str() {
        builder = builder.body(body.to_string());
    }
    let failed =
        |e: reqwest::Error| AddonError::User(format!("HTTP request to {host} failed: {e}"));
    let mut response = builder.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        headers.insert(
            name.to_string(),
            Value::from(value.to_str().unwrap_or_default()),
        );
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_RESPONSE {
            return Err(AddonError::User(format!(
                "the response from {host} exceeds {MAX_RESPONSE} bytes"
            )));
        }
    }
    tracing::info!(addon, %method, host = %host, status, "outbound HTTP request");
    Ok(json!({
        "status": status,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    })
    .to_string())
}
