//! The host's outbound HTTP client, over reqwest: what addons' requests go
//! through once the core has allowed them (`pulse_core::Outbound`).

use std::time::Duration;

use pulse_core::{Outbound, OutboundError, OutboundFuture, OutboundRequest, OutboundResponse};

/// How long an outbound request may take, from connecting to the last
/// byte of the response.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Outbound HTTP over one shared reqwest client: no redirects (a redirect
/// could lead off the allowed hosts), a timeout on every request.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    /// The client, with default TLS settings.
    pub fn new() -> HttpClient {
        HttpClient {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIMEOUT)
                .build()
                .expect("an HTTP client with default TLS settings builds"),
        }
    }
}

impl Default for HttpClient {
    fn default() -> HttpClient {
        HttpClient::new()
    }
}

impl Outbound for HttpClient {
    fn send(&self, request: OutboundRequest) -> OutboundFuture<'_> {
        Box::pin(async move {
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|_| OutboundError::InvalidMethod)?;
            let failed = |e: reqwest::Error| OutboundError::Failed(e.to_string());
            let url = reqwest::Url::parse(&request.url)
                .map_err(|e| OutboundError::Failed(e.to_string()))?;
            let mut builder = self.client.request(method, url);
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            if !request.body.is_empty() {
                builder = builder.body(request.body);
            }
            let mut response = builder.send().await.map_err(failed)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.to_string(),
                        value.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                body.extend_from_slice(&chunk);
                if body.len() > request.max_body {
                    return Err(OutboundError::TooLarge);
                }
            }
            Ok(OutboundResponse {
                status,
                headers,
                body,
            })
        })
    }
}
