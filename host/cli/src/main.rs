//! `pulse`: build, install, uninstall and serve Pulse addons.
//!
//! A thin layer over `pulse-core` and `pulse-api`: it parses options, builds addon
//! components with the command their manifest gives, and prints results.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;

use pulse_core::{ChangeKind, Config, Host, Limits, ModuleState, Operation, PlanReport};
use pulse_manifest::graph::GraphView;
use pulse_manifest::{Addon, discover};

/// The `wasm32-wasip2` target addons are compiled for.
const WASM_TARGET: &str = "wasm32-wasip2";

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
    serving: Serving,

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

    #[command(subcommand)]
    command: Command,
}

/// How `pulse serve` and `pulse demo` treat connections and `/metrics`.
#[derive(Debug, clap::Args)]
struct Serving {
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
    fn options(&self) -> pulse_api::ServeOptions {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile addons (all in the addons paths, or those named) to WebAssembly components.
    Build {
        /// Addons to build.
        names: Vec<String>,
    },
    /// Install addons and the dependencies they need, in one transaction.
    Install {
        /// Addons to install.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Uninstall addons and every installed addon that depends on them, in one transaction.
    Uninstall {
        /// Addons to uninstall.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Upgrade addons and every installed addon that depends on them, in one transaction.
    Upgrade {
        /// Addons to upgrade.
        #[arg(required_unless_present = "changed")]
        names: Vec<String>,
        /// Upgrade the installed addons whose component or version changed since
        /// their last install or upgrade.
        #[arg(long)]
        changed: bool,
    },
    /// Mark addons to install, upgrade or uninstall (Odoo's button_install, …); `pulse apply` carries the marks out.
    Mark {
        /// install, upgrade or uninstall.
        #[arg(value_enum)]
        operation: PlanOperation,
        /// Addons to mark.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Carry out every pending mark in one transaction (Odoo's base.module.upgrade).
    Apply,
    /// Drop every pending mark (Odoo's button_reset_state).
    Reset,
    /// List every known addon with its state and version.
    Modules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show what an install, upgrade or uninstall would do, in order, changing nothing.
    Plan {
        /// install, upgrade or uninstall.
        #[arg(value_enum)]
        operation: PlanOperation,
        /// Addons the operation is for.
        #[arg(required = true)]
        names: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the dependency graph (edges point to dependencies).
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Only this addon and what it depends on (with --reverse: what depends on it).
        #[arg(long)]
        root: Option<String>,
        /// With --root, follow dependents instead of dependencies.
        #[arg(long)]
        reverse: bool,
        /// Only installed addons, as recorded in the database.
        #[arg(long)]
        installed: bool,
    },
    /// Which installed addons need NAME, and by which path.
    Why {
        /// The addon.
        name: String,
    },
    /// Record the addons of the addons paths in the database (Odoo's update_list).
    UpdateList,
    /// Check every manifest in the addons paths and report every problem.
    Check,
    /// Allow an addon what its manifest asks for beyond the sandbox:
    /// `sudo` (superuser mode) or `http:HOST` (outbound HTTP to HOST).
    Grant {
        /// The addon.
        addon: String,
        /// Permissions to grant.
        #[arg(required = true)]
        permissions: Vec<String>,
    },
    /// Take back permissions granted with `pulse grant`.
    Revoke {
        /// The addon.
        addon: String,
        /// Permissions to take back.
        #[arg(required = true)]
        permissions: Vec<String>,
    },
    /// Scheduled jobs (ir.cron): `list` them, or `run NAME` now.
    Cron {
        #[command(subcommand)]
        command: CronCommand,
    },
    /// Create an API key for a user: printed once, stored only as a digest.
    /// RPC clients pass it in place of the password (never in a web login).
    /// With --list LOGIN, list a user's keys; with --revoke, revoke one.
    Apikey {
        /// The user's login.
        #[arg(required_unless_present_any = ["list", "revoke"], conflicts_with_all = ["list", "revoke"])]
        login: Option<String>,
        /// What the key is for (e.g. "nightly export").
        #[arg(required_unless_present_any = ["list", "revoke"])]
        name: Option<String>,
        /// When the key stops working: a date (2027-01-01), a datetime or a duration (90d).
        #[arg(long, conflicts_with_all = ["list", "revoke"])]
        expires: Option<String>,
        /// List the keys of this user.
        #[arg(long, value_name = "LOGIN", conflicts_with = "revoke")]
        list: Option<String>,
        /// Revoke the key with this id or name.
        #[arg(long, value_name = "NAME_OR_ID")]
        revoke: Option<String>,
    },
    /// Serve the Odoo-compatible HTTP API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8069")]
        http: SocketAddr,
    },
    /// Build every addon, install the example `todo` addon and the finance addons with their demo data, and serve: the quickest look at Pulse.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8069")]
        http: SocketAddr,
    },
}

#[derive(Debug, clap::Subcommand)]
enum CronCommand {
    /// Every job with its schedule and state.
    List,
    /// Run a job now, whether due or not (its next call stays as it is).
    Run {
        /// The job's name.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PlanOperation {
    Install,
    Upgrade,
    Uninstall,
}

impl From<PlanOperation> for Operation {
    fn from(operation: PlanOperation) -> Operation {
        match operation {
            PlanOperation::Install => Operation::Install,
            PlanOperation::Upgrade => Operation::Upgrade,
            PlanOperation::Uninstall => Operation::Uninstall,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
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

async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Build { names } => build(&cli.addons_paths(), names),
        Command::Install { names } => {
            let host = Host::open(cli.config()).await?;
            let done = host.install(names).await?;
            if done.is_empty() {
                println!("nothing to install: {} already installed", names.join(", "));
            } else {
                println!("installed: {}", done.join(", "));
            }
            Ok(())
        }
        Command::Uninstall { names } => {
            let host = Host::open(cli.config()).await?;
            let done = host.uninstall(names).await?;
            println!("uninstalled: {}", done.join(", "));
            Ok(())
        }
        Command::Upgrade { names, changed } => {
            let host = Host::open(cli.config()).await?;
            let mut targets = names.clone();
            if *changed {
                targets.extend(host.changed().await?);
                targets.sort();
                targets.dedup();
            }
            if targets.is_empty() {
                println!("nothing to upgrade: no installed addon changed");
                return Ok(());
            }
            let done = host.upgrade(&targets).await?;
            println!("upgraded: {}", done.join(", "));
            Ok(())
        }
        Command::Mark { operation, names } => {
            let host = Host::open(cli.config()).await?;
            let plan = host.mark((*operation).into(), names).await?;
            for step in &plan.steps {
                println!("marked {} ({})", step.addon, step.reason);
            }
            Ok(())
        }
        Command::Apply => {
            let host = Host::open(cli.config()).await?;
            let done = host.apply_marked().await?;
            if done.is_empty() {
                println!("nothing to apply: no pending marks");
            } else {
                println!("applied: {}", done.join(", "));
            }
            Ok(())
        }
        Command::Reset => {
            let host = Host::open(cli.config()).await?;
            println!("reset {} mark(s)", host.reset_marks().await?);
            Ok(())
        }
        Command::Modules { json } => {
            let host = Host::open(cli.config()).await?;
            print_modules(&host, *json).await
        }
        Command::Plan {
            operation,
            names,
            json,
        } => {
            let host = Host::open(cli.config()).await?;
            let report = host.plan((*operation).into(), names).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_plan(&report);
            }
            Ok(())
        }
        Command::Graph {
            format,
            root,
            reverse,
            installed,
        } => {
            let host = Host::open(cli.config()).await?;
            let view = graph_view(&host, root.as_deref(), *reverse, *installed).await?;
            match format {
                GraphFormat::Dot => print!("{}", view.to_dot()),
                GraphFormat::Mermaid => print!("{}", view.to_mermaid()),
                GraphFormat::Json => println!("{}", serde_json::to_string_pretty(&view.to_json())?),
            }
            Ok(())
        }
        Command::Why { name } => {
            let host = Host::open(cli.config()).await?;
            let installed = host.installed().await?;
            if !installed.contains_key(name) {
                bail!("addon '{name}' is not installed");
            }
            let paths = pulse_manifest::graph::why(&installed, name);
            if paths.is_empty() {
                println!("no installed addon depends on {name}");
            }
            for path in paths {
                println!("{} (via {})", path[0], path.join(" -> "));
            }
            Ok(())
        }
        Command::UpdateList => {
            let host = Host::open(cli.config()).await?;
            let (updatable, added) = host.update_list().await?;
            println!("update_list: {updatable} updatable, {added} added");
            Ok(())
        }
        Command::Check => check(&cli.addons_paths()),
        Command::Grant { addon, permissions } | Command::Revoke { addon, permissions } => {
            let on = matches!(&cli.command, Command::Grant { .. });
            let host = Host::open(cli.config()).await?;
            host.grant(addon, permissions, on).await?;
            let verb = if on { "granted" } else { "revoked" };
            println!("{verb}: {} for {addon}", permissions.join(", "));
            Ok(())
        }
        Command::Cron { command } => {
            let host = Host::open(cli.config()).await?;
            match command {
                CronCommand::List => {
                    let jobs = host.cron_jobs().await?;
                    if jobs.is_empty() {
                        println!("no scheduled jobs");
                    }
                    for job in jobs {
                        println!(
                            "{:<32} {:<40} every {} {:<8} next {:<19} last {:<19} {}{}",
                            job.name,
                            job.call,
                            job.interval_number,
                            job.interval_type,
                            job.nextcall.as_deref().unwrap_or("-"),
                            job.lastcall.as_deref().unwrap_or("-"),
                            if job.active { "active" } else { "inactive" },
                            if job.failure_count > 0 {
                                format!(" ({} failures in a row)", job.failure_count)
                            } else {
                                String::new()
                            }
                        );
                    }
                }
                CronCommand::Run { name } => {
                    host.run_cron(name).await?;
                    println!("ran: {name}");
                }
            }
            Ok(())
        }
        Command::Apikey {
            login,
            name,
            expires,
            list,
            revoke,
        } => {
            let host = Host::open(cli.config()).await?;
            if let Some(login) = list {
                for key in host.api_keys(login).await? {
                    println!(
                        "{}\t{}\tcreated {}\texpires {}",
                        key.id,
                        key.name,
                        key.create_date.as_deref().unwrap_or("-"),
                        key.expiration_date.as_deref().unwrap_or("never"),
                    );
                }
            } else if let Some(name_or_id) = revoke {
                let key = host.revoke_api_key(name_or_id).await?;
                println!(
                    "revoked: API key {} ({}) of {}",
                    key.id, key.name, key.login
                );
            } else if let (Some(login), Some(name)) = (login, name) {
                let key = host.create_api_key(login, name, expires.as_deref()).await?;
                println!("API key for {login} ({name}), shown once; keep it safe:\n{key}");
            }
            Ok(())
        }
        Command::Serve { http } => {
            let host = Arc::new(Host::open(cli.config()).await?);
            serve(host, *http, cli.serve_options(), None).await
        }
        Command::Demo { http } => {
            build(&cli.addons_paths(), &[])?;
            let config = cli.config();
            let password = config
                .admin_password
                .clone()
                .unwrap_or_else(|| "admin".into());
            let host = Arc::new(Host::open(config).await?);
            host.enable_demo().await?;
            let demo: Vec<String> = ["todo", "hr", "ipai_finance_ssc", "ipai_expense"]
                .iter()
                .map(|name| name.to_string())
                .collect();
            let installed = host.install(&demo).await?;
            if !installed.is_empty() {
                println!("installed: {}", installed.join(", "));
            }
            serve(host, *http, cli.serve_options(), Some(password)).await
        }
    }
}

fn print_plan(report: &PlanReport) {
    let operation = serde_json::to_value(report.operation).unwrap_or_default();
    let operation = operation.as_str().unwrap_or("plan");
    if report.steps.is_empty() {
        println!("{operation} {}: nothing to do", report.targets.join(", "));
        return;
    }
    println!(
        "{operation} {}: {} step(s)",
        report.targets.join(", "),
        report.steps.len()
    );
    for (i, step) in report.steps.iter().enumerate() {
        let action = serde_json::to_value(step.action).unwrap_or_default();
        println!(
            "{:>4}. {:<10} {:<32} {}",
            i + 1,
            action.as_str().unwrap_or(""),
            step.addon,
            step.reason
        );
    }
    for change in &report.changes {
        let target = match &change.column {
            Some(column) => format!("{}.{column}", change.table),
            None => change.table.clone(),
        };
        let data = match change.kind {
            ChangeKind::CreateTable | ChangeKind::AddColumn => String::new(),
            ChangeKind::DropTable => format!(": {} row(s)", change.rows),
            ChangeKind::ChangeType | ChangeKind::DropColumn => {
                format!(": {} value(s)", change.rows)
            }
        };
        println!(
            "      {} {target} ({}){data}",
            change.kind.as_str(),
            change.addon
        );
    }
    for request in &report.permissions {
        if request.granted {
            println!(
                "      permission {} asked by {}: granted",
                request.permission, request.addon
            );
        } else {
            println!(
                "      permission {} asked by {}: NOT granted (pulse grant {} {})",
                request.permission, request.addon, request.addon, request.permission
            );
        }
    }
    for note in &report.notes {
        println!("      note: {note}");
    }
}

async fn graph_view(
    host: &Host,
    root: Option<&str>,
    reverse: bool,
    installed_only: bool,
) -> Result<GraphView> {
    let installed = host.installed().await?;
    let found = host.discovery();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    if installed_only {
        deps.extend(
            installed
                .iter()
                .filter(|(name, _)| !pulse_manifest::HOST_MODULES.contains(&name.as_str()))
                .map(|(name, d)| (name.clone(), d.clone())),
        );
    } else {
        for (name, addon) in &found.addons {
            deps.insert(
                name.clone(),
                addon.manifest.depend_names().map(str::to_string).collect(),
            );
        }
    }
    // The host's own modules are nodes too (always installed), where an
    // addon depends on them or the graph starts from one.
    for module in pulse_manifest::HOST_MODULES {
        let needed = root == Some(module) || deps.values().flatten().any(|d| d == module);
        if needed {
            deps.entry(module.to_string()).or_default();
        }
    }
    for name in deps.keys() {
        if pulse_manifest::HOST_MODULES.contains(&name.as_str()) && !found.addons.contains_key(name)
        {
            labels.insert(name.clone(), "host installed".to_string());
            continue;
        }
        let version = found
            .addons
            .get(name)
            .map(|a| a.manifest.version.to_string())
            .unwrap_or_default();
        let state = if installed.contains_key(name) {
            "installed"
        } else {
            "uninstalled"
        };
        labels.insert(
            name.clone(),
            format!("{version} {state}").trim().to_string(),
        );
    }
    if let Some(root) = root
        && !deps.contains_key(root)
    {
        bail!("addon '{root}' is not in the graph");
    }
    Ok(GraphView::new(&deps, &labels, root, reverse))
}

/// Reports every problem of every manifest; fails when there is one.
fn check(paths: &[PathBuf]) -> Result<()> {
    let found = discover(paths);
    for w in &found.warnings {
        println!("warning: {w}");
    }
    let mut problems = found.problems.clone();
    problems.extend(pulse_manifest::check_graph(&found.addons));
    for p in &problems {
        println!("error: {p}");
    }
    if problems.is_empty() {
        println!("{} addon(s) checked, no problem found", found.addons.len());
        Ok(())
    } else {
        bail!(
            "{} problem(s) found in the manifests of {paths:?}",
            problems.len()
        )
    }
}

async fn print_modules(host: &Host, json: bool) -> Result<()> {
    let modules = host.modules().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&modules)?);
        return Ok(());
    }
    println!(
        "{:<28} {:<14} {:<10} {:<10} TITLE",
        "NAME", "STATE", "INSTALLED", "AVAILABLE"
    );
    for m in modules {
        println!(
            "{:<28} {:<14} {:<10} {:<10} {}",
            m.name,
            m.state.as_str(),
            m.installed_version.as_deref().unwrap_or("-"),
            m.available_version.as_deref().unwrap_or("-"),
            m.title
        );
    }
    Ok(())
}

async fn serve(
    host: Arc<Host>,
    addr: SocketAddr,
    options: pulse_api::ServeOptions,
    demo_password: Option<String>,
) -> Result<()> {
    // Ready means loaded: /health answers only once the addons are.
    host.reload().await?;
    host.spawn_scheduler();
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

/// Builds the addons `names` (all with a `[build]` section when empty).
fn build(paths: &[PathBuf], names: &[String]) -> Result<()> {
    let found = discover(paths);
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    for p in &found.problems {
        eprintln!("error: {p}");
    }
    let targets: Vec<&Addon> = if names.is_empty() {
        found
            .addons
            .values()
            .filter(|a| a.manifest.build.is_some())
            .collect()
    } else {
        names
            .iter()
            .map(|n| {
                found
                    .addons
                    .get(n)
                    .with_context(|| format!("addon '{n}' is not in the addons paths {paths:?}"))
            })
            .collect::<Result<_>>()?
    };
    if targets.is_empty() {
        bail!("no addon to build in the addons paths {paths:?}");
    }
    let mut target_dirs: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut wasm_target_ready = false;
    for addon in targets {
        let Some(build) = &addon.manifest.build else {
            bail!(
                "addon '{}' has no [build] section in its addon.toml",
                addon.name()
            );
        };
        if build.command.contains(WASM_TARGET) && !wasm_target_ready {
            ensure_wasm_target()?;
            wasm_target_ready = true;
        }
        eprintln!("building {} ({})", addon.name(), build.command);
        let status = Process::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&addon.dir)
            .status()
            .with_context(|| format!("cannot run the build command of '{}'", addon.name()))?;
        if !status.success() {
            bail!(
                "building addon '{}' failed ({status}): {}",
                addon.name(),
                build.command
            );
        }
        let Some(output) = &build.output else {
            continue;
        };
        let output = if output.contains("{cargo_target_dir}") {
            let target_dir = cargo_target_dir(&addon.dir, &mut target_dirs)?;
            output.replace("{cargo_target_dir}", &target_dir.to_string_lossy())
        } else {
            output.clone()
        };
        let from = addon.dir.join(output);
        let to = addon.component_path();
        std::fs::copy(&from, &to).with_context(|| {
            format!(
                "the build of '{}' did not leave {} to copy to {}",
                addon.name(),
                from.display(),
                to.display()
            )
        })?;
        eprintln!("built {} -> {}", addon.name(), to.display());
    }
    Ok(())
}

/// Cargo's target directory for the crate in `dir` (honours `CARGO_TARGET_DIR`).
fn cargo_target_dir(dir: &Path, known: &mut Vec<(PathBuf, PathBuf)>) -> Result<PathBuf> {
    if let Some((_, target)) = known.iter().find(|(d, _)| d == dir) {
        return Ok(target.clone());
    }
    let output = Process::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(dir)
        .output()
        .context("cannot run `cargo metadata` to find the target directory")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let target = metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("`cargo metadata` printed no target_directory")?;
    known.push((dir.to_path_buf(), target.clone()));
    Ok(target)
}

/// Installs the `wasm32-wasip2` target with rustup when it is missing.
fn ensure_wasm_target() -> Result<()> {
    let installed = Process::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to install the wasm32-wasip2 target (https://rustup.rs)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {WASM_TARGET} target with rustup");
    let status = Process::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .context("cannot run rustup")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed ({status})");
    }
    Ok(())
}
