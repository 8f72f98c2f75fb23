//! Manifest benchmarks: parse and validate 10,000 generated manifests, and
//! plan the install of the top of a 10,000-addon graph (about 5 dependencies
//! each). Prints the median of several runs.
//!
//! Run: `cargo bench -p pulse-manifest --bench manifest`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pulse_manifest::plan::Installed;
use pulse_manifest::{Addon, check_graph, check_manifest, plan_install};

const ADDONS: usize = 10_000;
const RUNS: usize = 7;

/// A deterministic pseudo-random generator (xorshift), so every run plans the same graph.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Addon i depends on about five addons among the 200 below it, so the top
/// of the graph needs most of it.
fn manifests() -> Vec<(PathBuf, String)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..ADDONS)
        .map(|i| {
            let mut depends: Vec<String> = Vec::new();
            if i > 0 {
                for _ in 0..5 {
                    let j = i - 1 - (rng.next() as usize % i.min(200));
                    let dep = format!("\"addon_{j:05}\"");
                    if !depends.contains(&dep) {
                        depends.push(dep);
                    }
                }
            }
            let text = format!(
                "name = \"addon_{i:05}\"\ntitle = \"Addon {i}\"\nsummary = \"Generated\"\nversion = \"1.{}.0\"\nseries = \"19.0\"\ndepends = [{}]\nlicense = \"LGPL-3\"\n",
                i % 7,
                depends.join(", ")
            );
            (PathBuf::from(format!("addon_{i:05}/addon.toml")), text)
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let generated = manifests();

    let mut validate = Vec::new();
    let mut addons = BTreeMap::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        addons = generated
            .iter()
            .map(|(path, text)| {
                let manifest = check_manifest(text, path).expect("generated manifests are valid");
                let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                (manifest.name.clone(), Addon { manifest, dir })
            })
            .collect::<BTreeMap<String, Addon>>();
        let problems = check_graph(&addons);
        validate.push(start.elapsed());
        assert!(problems.is_empty(), "{problems:?}");
    }

    let top = vec![format!("addon_{:05}", ADDONS - 1)];
    let mut plan = Vec::new();
    let mut steps = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let p = plan_install(&addons, &Installed::new(), &top).expect("the graph plans");
        plan.push(start.elapsed());
        steps = p.steps.len();
    }

    println!(
        "parse + validate {ADDONS} manifests: median {:?} (target < 1 s)",
        median(validate)
    );
    println!(
        "plan install of the top of a {ADDONS}-addon graph ({steps} steps): median {:?} (target < 20 ms)",
        median(plan)
    );
}
