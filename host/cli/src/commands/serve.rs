//! `pulse serve` and `pulse demo`: the HTTP server, and the quickest look at Pulse.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use pulse_core::{Config, Host, ModuleState};

/// How `pulse serve` and `pulse demo` treat connections and `/metrics`.
#[derive(Debug, clap::Args)]
pub struct Serving {
    /// Seconds a client has to send a request's headers before the connection is closed.
    #[arg(long, env = "PULSE_HEADER_READ_TIMEOUT", default_value_t = pulse_api::HEADER_READ_TIMEOUT.as_secs(), global = true)]
    header_read_timeout: u64,

    /// Seconds one request may take, reading its body included.
    #[arg(long, env = "PULSE_REQUEST_TIMEOUT", default_value_t = pulse_api::REQUEST_TIMEOUT.as_secs(), global = true)]
    request_timeout: u64,

    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "PULSE_MAX_CONNECTIONS", default_value_t = pulse_api::MAX_CONNECTIONS, global = true)]
    max_connections: usize,

    /// Serve /metrics only on this address (e.g. 127.0.0.1:9090), not on --http.
    #[arg(long, env = "PULSE_METRICS_ADDR", global = true)]
    metrics_addr: Option<SocketAddr>,

    /// Require this bearer token for /metrics (Authorization: Bearer TOKEN).
    #[arg(
        long,
        env = "PULSE_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    metrics_token: Option<String>,
}

impl Serving {
    /// The server options these flags give.
    pub fn options(&self) -> pulse_api::ServeOptions {
        pulse_api::ServeOptions {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout),
            request_timeout: std::time::Duration::from_secs(self.request_timeout),
            max_connections: self.max_connections.max(1),
            metrics_addr: self.metrics_addr,
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
            ..pulse_api::ServeOptions::default()
        }
    }
}

/// Arguments of `pulse serve` and `pulse demo`.
#[derive(Debug, clap::Args)]
pub struct Listen {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8069")]
    pub http: SocketAddr,
}

/// The addons `pulse demo` installs, with their demo data.
const DEMO_ADDONS: [&str; 4] = ["todo", "hr", "ipai_finance_ssc", "ipai_expense"];

/// `pulse serve`.
pub async fn serve(host: Host, args: &Listen, options: pulse_api::ServeOptions) -> Result<()> {
    serve_host(Arc::new(host), args.http, options, None).await
}

/// `pulse demo`: build every addon, install the demo addons with their
/// demo data, and serve, printing how to log in.
pub async fn demo(
    config: Config,
    addons_paths: &[PathBuf],
    args: &Listen,
    options: pulse_api::ServeOptions,
) -> Result<()> {
    super::build::run(addons_paths, &[])?;
    let password = config
        .admin_password
        .clone()
        .unwrap_or_else(|| "admin".into());
    let host = Arc::new(Host::open(config).await?);
    host.enable_demo().await?;
    let demo: Vec<String> = DEMO_ADDONS.iter().map(|name| name.to_string()).collect();
    let installed = host.install(&demo).await?;
    if !installed.is_empty() {
        println!("installed: {}", installed.join(", "));
    }
    serve_host(host, args.http, options, Some(password)).await
}

async fn serve_host(
    host: Arc<Host>,
    addr: SocketAddr,
    options: pulse_api::ServeOptions,
    demo_password: Option<String>,
) -> Result<()> {
    // Ready means loaded: /health answers only once the addons are.
    host.reload().await?;
    host.spawn_scheduler();
    host.spawn_mailer();
    host.spawn_listener();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let db = host.db.name.clone();
    let installed = host
        .modules()
        .await?
        .into_iter()
        .filter(|m| m.state == ModuleState::Installed)
        .map(|m| m.name)
        .collect::<Vec<_>>();
    tracing::info!(%addr, db = %db, "serving");
    println!(
        "Pulse is serving http://{addr}  (database '{db}', addons installed: {})",
        installed.join(", ")
    );
    if let Some(password) = demo_password {
        println!("Log in as admin / {password}, e.g.:");
        println!(
            "  curl -c /tmp/pulse.cookies -H 'Content-Type: application/json' http://{addr}/web/session/authenticate \\\n    -d '{{\"jsonrpc\":\"2.0\",\"params\":{{\"db\":\"{db}\",\"login\":\"admin\",\"password\":\"{password}\"}}}}'"
        );
        println!(
            "  curl -b /tmp/pulse.cookies -H 'Content-Type: application/json' http://{addr}/web/dataset/call_kw \\\n    -d '{{\"jsonrpc\":\"2.0\",\"params\":{{\"model\":\"todo.task\",\"method\":\"search_read\",\"args\":[[]],\"kwargs\":{{\"fields\":[\"name\",\"done\"]}}}}}}'"
        );
    }
    if let Some(metrics) = options.metrics_addr {
        tracing::info!(%metrics, "serving /metrics on its own address");
    }
    pulse_api::serve_with(host, listener, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the HTTP server failed")
}
