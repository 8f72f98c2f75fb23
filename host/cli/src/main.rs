//! `pulse`: build, install, uninstall and serve Pulse addons.
//!
//! A thin layer over `pulse-core`, `pulse-api` and `pulse-manifest`: `main` parses the
//! options, sets up logging and hands each command to its module under
//! `commands/`, which calls the libraries and prints the results.

mod commands;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use commands::{apikey, build, check, cron, grants, graph, modules, serve};
use std::sync::Arc;

use pulse_core::{Config, Host, Limits};

#[derive(Debug, Parser)]
#[command(
    name = "pulse",
    version,
    about = "Odoo-style Apps lifecycle for sandboxed WebAssembly addons"
)]
struct Cli {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB [default: an SQLite file in the data directory]
    #[arg(long, env = "PULSE_DB", global = true)]
    db: Option<String>,

    /// A folder of addons (repeatable; the first wins for a duplicate name) [default: ./addons and ./examples]
    #[arg(
        long = "addons-path",
        env = "PULSE_ADDONS_PATH",
        value_delimiter = ',',
        global = true
    )]
    addons_paths: Vec<PathBuf>,

    /// Where Pulse keeps its SQLite database and compiled-component cache.
    #[arg(long, env = "PULSE_DATA_DIR", default_value = ".pulse", global = true)]
    data_dir: PathBuf,

    /// Where compiled addon components are cached [default: DATA_DIR/cache]. Entries are
    /// keyed by content and engine version, so several data directories may share one.
    #[arg(long, env = "PULSE_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,

    /// Wall-clock deadline of one call into an addon, in milliseconds.
    #[arg(
        long,
        env = "PULSE_CALL_DEADLINE_MS",
        default_value_t = 10_000,
        global = true
    )]
    call_deadline_ms: u64,

    /// Memory cap of one addon instance, in MiB.
    #[arg(
        long,
        env = "PULSE_MEMORY_LIMIT_MB",
        default_value_t = 64,
        global = true
    )]
    memory_limit_mb: usize,

    /// Limits for one addon: NAME=DEADLINE_MS:MEMORY_MB (repeatable).
    #[arg(long = "addon-limit", value_parser = parse_addon_limit, global = true)]
    addon_limits: Vec<(String, Limits)>,

    /// Password of the user `admin` when a new database is created [default: admin].
    #[arg(
        long,
        env = "PULSE_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    admin_password: Option<String>,

    /// Log lines as text or as JSON objects (one per line, for log shippers).
    #[arg(
        long,
        env = "PULSE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,

    #[command(flatten)]
    serving: serve::Serving,

    /// Most database connections the server keeps open [default: 4 on SQLite, 10 on PostgreSQL].
    #[arg(long, env = "PULSE_DB_POOL_SIZE", global = true)]
    db_pool_size: Option<u32>,

    /// Longest one PostgreSQL statement may run (e.g. 60s, 500ms; 0: no limit).
    #[arg(
        long,
        env = "PULSE_STATEMENT_TIMEOUT",
        default_value = "60s",
        value_parser = pulse_core::parse_duration,
        global = true
    )]
    statement_timeout: std::time::Duration,

    /// Serve behind a reverse proxy: take the client's address from
    /// X-Forwarded-For and HTTPS from X-Forwarded-Proto, from trusted proxies only.
    #[arg(long, env = "PULSE_PROXY_MODE", global = true)]
    proxy_mode: bool,

    /// A trusted proxy, ADDR or ADDR/CIDR (repeatable) [default: loopback, with --proxy-mode].
    #[arg(
        long = "proxy",
        env = "PULSE_PROXY",
        value_delimiter = ',',
        value_parser = pulse_api::ProxyMode::parse_proxy,
        global = true
    )]
    proxies: Vec<pulse_api::IpNet>,

    /// The SMTP server queued mail goes through when no ir.mail_server record is active:
    /// smtp://[USER[:PASSWORD]@]HOST[:PORT], smtp+starttls://… or smtps://…
    #[arg(long, env = "PULSE_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile addons (all in the addons paths, or those named) to WebAssembly components.
    Build(build::Build),
    /// Install addons and the dependencies they need, in one transaction.
    Install(modules::Install),
    /// Uninstall addons and every installed addon that depends on them, in one transaction.
    Uninstall(modules::Uninstall),
    /// Upgrade addons and every installed addon that depends on them, in one transaction.
    Upgrade(modules::Upgrade),
    /// Mark addons to install, upgrade or uninstall (Odoo's button_install, …); `pulse apply` carries the marks out.
    Mark(modules::Mark),
    /// Carry out every pending mark in one transaction (Odoo's base.module.upgrade).
    Apply,
    /// Drop every pending mark (Odoo's button_reset_state).
    Reset,
    /// List every known addon with its state and version.
    Modules(modules::List),
    /// Show what an install, upgrade or uninstall would do, in order, changing nothing.
    Plan(modules::Plan),
    /// Print the dependency graph (edges point to dependencies).
    Graph(graph::Graph),
    /// Which installed addons need NAME, and by which path.
    Why(graph::Why),
    /// Record the addons of the addons paths in the database (Odoo's update_list).
    UpdateList,
    /// Check every manifest in the addons paths and report every problem.
    Check,
    /// Allow an addon what its manifest asks for beyond the sandbox:
    /// `sudo` (superuser mode) or `http:HOST` (outbound HTTP to HOST).
    Grant(grants::Grant),
    /// Take back permissions granted with `pulse grant`.
    Revoke(grants::Revoke),
    /// Scheduled jobs (ir.cron): `list` them, or `run NAME` now.
    Cron {
        #[command(subcommand)]
        command: cron::CronCommand,
    },
    /// Create an API key for a user: printed once, stored only as a digest.
    /// RPC clients pass it in place of the password (never in a web login).
    /// With --list LOGIN, list a user's keys; with --revoke, revoke one.
    Apikey(apikey::Apikey),
    /// Serve the Odoo-compatible HTTP API.
    Serve(serve::Listen),
    /// Build every addon, install the example `todo` addon and the finance addons with their demo data, and serve: the quickest look at Pulse.
    Demo(serve::Listen),
}

/// `NAME=DEADLINE_MS:MEMORY_MB`, e.g. `ipai_hub_sync=30000:128`.
fn parse_addon_limit(text: &str) -> Result<(String, Limits), String> {
    let bad =
        || format!("expected NAME=DEADLINE_MS:MEMORY_MB, e.g. my_addon=30000:128, got {text:?}");
    let (name, limits) = text.split_once('=').ok_or_else(bad)?;
    let (ms, mb) = limits.split_once(':').ok_or_else(bad)?;
    Ok((
        name.to_string(),
        Limits {
            deadline: std::time::Duration::from_millis(ms.parse().map_err(|_| bad())?),
            memory_bytes: mb.parse::<usize>().map_err(|_| bad())? << 20,
        },
    ))
}

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("PULSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(pulse_core::DEFAULT_LOG_FILTER));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().with_current_span(true).init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("starting the tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

impl Cli {
    fn addons_paths(&self) -> Vec<PathBuf> {
        if !self.addons_paths.is_empty() {
            return self.addons_paths.clone();
        }
        ["addons", "examples"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect()
    }

    fn config(&self) -> Config {
        let db_url = self.db.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("pulse.sqlite").display())
        });
        let admin_password = self.admin_password.clone();
        Config {
            db_url,
            addons_paths: self.addons_paths(),
            data_dir: self.data_dir.clone(),
            cache_dir: self.cache_dir.clone(),
            admin_password,
            limits: Limits {
                deadline: std::time::Duration::from_millis(self.call_deadline_ms),
                memory_bytes: self.memory_limit_mb << 20,
            },
            addon_limits: self.addon_limits.iter().cloned().collect(),
            pool: pulse_core::PoolSettings {
                max_connections: self.db_pool_size,
                statement_timeout: Some(self.statement_timeout),
            },
            outbound: Some(Arc::new(pulse_api::HttpClient::new())),
            mail: pulse_core::MailSettings {
                // Checked by `run` before any host opens.
                smtp: self
                    .smtp_url
                    .as_deref()
                    .and_then(|url| pulse_core::SmtpServer::from_url(url).ok()),
                mailer: Some(Arc::new(pulse_smtp::SmtpMailer::new())),
            },
        }
    }

    /// How `pulse serve` and `pulse demo` serve, behind proxies or not.
    fn serve_options(&self) -> pulse_api::ServeOptions {
        pulse_api::ServeOptions {
            proxy: pulse_api::ProxyMode {
                enabled: self.proxy_mode,
                trusted: self.proxies.clone(),
            },
            ..self.serving.options()
        }
    }
}

/// Runs one command; the host is opened only by the commands that need it.
async fn run(cli: Cli) -> Result<()> {
    if let Some(url) = &cli.smtp_url {
        pulse_core::SmtpServer::from_url(url)?;
    }
    let host = || Host::open(cli.config());
    match &cli.command {
        Command::Build(args) => build::run(&cli.addons_paths(), &args.names),
        Command::Install(args) => modules::install(&host().await?, args).await,
        Command::Uninstall(args) => modules::uninstall(&host().await?, args).await,
        Command::Upgrade(args) => modules::upgrade(&host().await?, args).await,
        Command::Mark(args) => modules::mark(&host().await?, args).await,
        Command::Apply => modules::apply(&host().await?).await,
        Command::Reset => modules::reset(&host().await?).await,
        Command::Modules(args) => modules::list(&host().await?, args).await,
        Command::Plan(args) => modules::plan(&host().await?, args).await,
        Command::Graph(args) => graph::graph(&host().await?, args).await,
        Command::Why(args) => graph::why(&host().await?, args).await,
        Command::UpdateList => modules::update_list(&host().await?).await,
        Command::Check => check::run(&cli.addons_paths()),
        Command::Grant(args) => grants::grant(&host().await?, args).await,
        Command::Revoke(args) => grants::revoke(&host().await?, args).await,
        Command::Cron { command } => cron::run(&host().await?, command).await,
        Command::Apikey(args) => apikey::run(&host().await?, args).await,
        Command::Serve(args) => serve::serve(host().await?, args, cli.serve_options()).await,
        Command::Demo(args) => {
            serve::demo(cli.config(), &cli.addons_paths(), args, cli.serve_options()).await
        }
    }
}
