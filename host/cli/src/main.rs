//! `pulse`: build, install, uninstall and serve Pulse addons.
//!
//! A thin layer over `pulse-server`: it parses options, builds addon
//! components with the command their manifest gives, and prints results.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pulse_manifest::{Addon, discover};
use pulse_server::{Config, Host, Limits, ModuleState};

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

    /// Password of the user `admin` when a new database is created [default: admin].
    #[arg(
        long,
        env = "PULSE_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    admin_password: Option<String>,

    #[command(subcommand)]
    command: Command,
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
    /// List every known addon with its state and version.
    Modules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve the Odoo-compatible HTTP API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8069")]
        http: SocketAddr,
    },
    /// Build every addon, install the example `todo` addon and serve: the quickest look at Pulse.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8069")]
        http: SocketAddr,
    },
}

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PULSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
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
        let admin_password = self.admin_password.clone().unwrap_or_else(|| {
            tracing::warn!(
                "no --admin-password or PULSE_ADMIN_PASSWORD: a new database gets admin/admin"
            );
            "admin".into()
        });
        Config {
            db_url,
            addons_paths: self.addons_paths(),
            data_dir: self.data_dir.clone(),
            admin_password,
            limits: Limits::default(),
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
        Command::Modules { json } => {
            let host = Host::open(cli.config()).await?;
            print_modules(&host, *json).await
        }
        Command::Serve { http } => {
            let host = Arc::new(Host::open(cli.config()).await?);
            serve(host, *http, None).await
        }
        Command::Demo { http } => {
            build(&cli.addons_paths(), &[])?;
            let config = cli.config();
            let password = config.admin_password.clone();
            let host = Arc::new(Host::open(config).await?);
            let installed = host.install(&["todo".to_string()]).await?;
            if !installed.is_empty() {
                println!("installed: {}", installed.join(", "));
            }
            serve(host, *http, Some(password)).await
        }
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

async fn serve(host: Arc<Host>, addr: SocketAddr, demo_password: Option<String>) -> Result<()> {
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
    pulse_server::serve(host, listener, async {
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
