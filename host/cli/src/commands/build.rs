//! `pulse build`: compile addons to components with their manifests' build commands.

use std::path::PathBuf;

use anyhow::Result;
use pulse_manifest::build::{Progress, build_addons};
use pulse_manifest::discover;

/// Arguments of `pulse build`.
#[derive(Debug, clap::Args)]
pub struct Build {
    /// Addons to build.
    pub names: Vec<String>,
}

/// Builds `names` (all with a `[build]` section when empty), reporting the
/// manifests' problems and each step as it happens, on stderr: stdout stays
/// for what a script reads.
pub fn run(paths: &[PathBuf], names: &[String]) -> Result<()> {
    let found = discover(paths);
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    for p in &found.problems {
        eprintln!("error: {p}");
    }
    build_addons(&found, paths, names, |progress| match progress {
        Progress::InstallingTarget => eprintln!(
            "installing the {} target with rustup",
            pulse_manifest::build::WASM_TARGET
        ),
        Progress::Compiling { addons, command } => {
            eprintln!("compiling {} addons together ({command})", addons.len());
        }
        Progress::Building { addon, command } => {
            eprintln!("building {} ({command})", addon.name());
        }
        Progress::Built(built) => {
            eprintln!("built {} -> {}", built.addon, built.component.display());
        }
    })?;
    Ok(())
}
