//! `pulse check`: every problem of every manifest in the addons paths.

use std::path::PathBuf;

use anyhow::{Result, bail};
use pulse_manifest::discover;

/// Reports every problem of every manifest; fails when there is one.
pub fn run(paths: &[PathBuf]) -> Result<()> {
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
