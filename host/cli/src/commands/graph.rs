//! `pulse graph` and `pulse why`: the dependency graph, drawn or explained.

use anyhow::{Result, bail};
use pulse_core::Host;
use pulse_manifest::graph::{GraphQuery, GraphView};

/// Arguments of `pulse graph`.
#[derive(Debug, clap::Args)]
pub struct Graph {
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
    /// Only this addon and what it depends on (with --reverse: what depends on it).
    #[arg(long)]
    pub root: Option<String>,
    /// With --root, follow dependents instead of dependencies.
    #[arg(long)]
    pub reverse: bool,
    /// Only installed addons, as recorded in the database.
    #[arg(long)]
    pub installed: bool,
}

/// How `pulse graph` prints the graph.
// No doc comments on the variants: clap would list them in the help text.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

/// Arguments of `pulse why`.
#[derive(Debug, clap::Args)]
pub struct Why {
    /// The addon.
    pub name: String,
}

/// `pulse graph`.
pub async fn graph(host: &Host, args: &Graph) -> Result<()> {
    let query = GraphQuery {
        root: args.root.as_deref(),
        reverse: args.reverse,
        installed_only: args.installed,
    };
    let view = GraphView::of_addons(&host.discovery(), &host.installed().await?, query)?;
    match args.format {
        GraphFormat::Dot => print!("{}", view.to_dot()),
        GraphFormat::Mermaid => print!("{}", view.to_mermaid()),
        GraphFormat::Json => println!("{}", serde_json::to_string_pretty(&view.to_json())?),
    }
    Ok(())
}

/// `pulse why`: each installed addon that needs the one named, by its shortest path.
pub async fn why(host: &Host, args: &Why) -> Result<()> {
    let name = &args.name;
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
