//! Odoo's XML-RPC endpoints: `/xmlrpc/2/<service>`, and the legacy
//! `/xmlrpc/<service>`, whose faults carry their code as text
//! (`warning -- AccessError\n\n<message>`, `AccessDenied`, …).

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use pulse_core::{Host, Kind};
use serde_json::Value;

use crate::body::read_body;
use crate::faults::{Exception, RpcError};
use crate::identity::{ProxyMode, client_address};
use crate::services::{service, service_body_limit};
use crate::xmlrpc;

/// `POST` of an XML-RPC service: Odoo's current faults, or its legacy ones.
pub(crate) fn route(legacy: bool) -> MethodRouter<Arc<Host>> {
    post(
        move |State(host): State<Arc<Host>>,
              Extension(proxy): Extension<Arc<ProxyMode>>,
              ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
              Path(name): Path<String>,
              headers: HeaderMap,
              body: Body| async move {
            let address = client_address(&proxy, peer, &headers);
            answer(&host, address, &name, &headers, body, legacy).await
        },
    )
}

async fn answer(
    host: &Host,
    address: std::net::IpAddr,
    name: &str,
    headers: &HeaderMap,
    body: Body,
    legacy: bool,
) -> Response {
    let body = match read_body(headers, body, service_body_limit(Some(name))).await {
        Ok(body) => body,
        // XML-RPC clients read faults, not JSON.
        Err((status, e)) => {
            let fault = xmlrpc::fault(1, &format!("{}: {}", e.name(), e.text));
            return (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                fault,
            )
                .into_response();
        }
    };
    let outcome = match std::str::from_utf8(&body)
        .map_err(|e| e.to_string())
        .and_then(|xml| xmlrpc::parse_call(xml).map_err(|e| e.to_string()))
    {
        Ok((method, args)) => service(host, address, name, &method, args).await,
        Err(e) => Err(RpcError::new(
            Exception::ExpatError,
            format!("invalid XML-RPC request: {e}"),
        )),
    };
    let xml = match outcome {
        Ok(value) => xmlrpc::response(&value),
        Err(e) if legacy => {
            let (code, text) = match e.exception.fault_code() {
                // AccessDenied never says more than its one message.
                3 => (
                    e.exception.short_name().to_string(),
                    RpcError::access_denied().text,
                ),
                1 => (
                    e.text.clone(),
                    format!("{}: {}", e.exception.short_name(), e.text),
                ),
                _ => {
                    // Odoo's legacy handler reports UserError's subclasses as UserError.
                    let label = match e.exception {
                        Exception::Core(Kind::ValidationError) => {
                            Exception::Core(Kind::UserError).short_name()
                        }
                        other => other.short_name(),
                    };
                    (format!("warning -- {label}\n\n{}", e.text), String::new())
                }
            };
            xmlrpc::fault_with(Value::String(code), &text)
        }
        Err(e) => {
            let code = e.exception.fault_code();
            let text = match code {
                3 => RpcError::access_denied().text,
                // Odoo sends a traceback; its last line names the error.
                1 => format!("{}: {}", e.name().trim_start_matches("builtins."), e.text),
                _ => e.text.clone(),
            };
            xmlrpc::fault(code, &text)
        }
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}
