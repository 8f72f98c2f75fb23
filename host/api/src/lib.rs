//! The Odoo-compatible HTTP API of a Pulse host, over axum: XML-RPC and
//! JSON-RPC (`/xmlrpc/2/*`, `/jsonrpc`), JSON-2 (`/json/2/<model>/<method>`),
//! the web client's session and dataset endpoints, addon routes,
//! `/metrics`, `/health` and `/ready`.
//!
//! Everything with authority lives in `pulse-core`; this crate turns HTTP
//! into calls on a [`pulse_core::Host`] and the host's failures into each
//! protocol's faults, through one table ([`faults`]). It extracts one
//! caller identity per request: a session cookie, a bearer API key, or a
//! uid and password inside an RPC body. It also holds the host's outbound
//! HTTP client ([`HttpClient`]), which the binary hands to the host.

mod addon_routes;
mod binary;
mod body;
mod dataset;
pub mod faults;
#[doc(hidden)]
pub mod fuzzing;
mod identity;
mod json2;
mod jsonrpc;
mod outbound;
mod params;
mod serve;
mod services;
mod session;
mod webclient;
/// The XML-RPC codec, public for the fuzz targets (`xmlrpc::parse_call`).
#[doc(hidden)]
pub mod xmlrpc;
mod xmlrpc_endpoint;

/// Boxes the future of a `pub async fn` so its state machine is compiled
/// here once, not again in the `pulse` binary (see `pulse_core`'s `boxed`).
pub(crate) use async_recursion::async_recursion as boxed;

pub use body::{MAX_ANONYMOUS_BODY, MAX_BODY};
pub use identity::ProxyMode;
pub use ipnet::IpNet;
pub use outbound::HttpClient;
pub use serve::{
    HEADER_READ_TIMEOUT, MAX_CONNECTIONS, REQUEST_TIMEOUT, ServeOptions, router, router_with,
    serve, serve_with,
};
pub use services::SERVER_VERSION;
