//! The manifest parser and the dependency graph: the input is one or more
//! `addon.toml` texts separated by a line `===`; each is parsed and
//! checked, and the valid ones are checked as a set, planned (install,
//! upgrade, uninstall) and drawn.

#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::on_worker_stack;
use pulse_manifest::graph::GraphView;
use pulse_manifest::plan::Installed;
use pulse_manifest::{Addon, check_graph, check_manifest};

/// Between two manifests of one input (not valid TOML, so never inside one).
const SEPARATOR: &str = "\n===\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    on_worker_stack(|| {
        let mut addons = BTreeMap::new();
        for (i, part) in text.split(SEPARATOR).enumerate() {
            // A folder that is no addon name, so the name need not match it;
            // nothing is there, so line numbers of set problems are unknown.
            let dir = PathBuf::from(format!("/nonexistent-fuzz/addon-{i}"));
            if let Ok(manifest) = check_manifest(part, &dir.join("addon.toml")) {
                addons
                    .entry(manifest.name.clone())
                    .or_insert(Addon { manifest, dir });
            }
        }
        let _ = check_graph(&addons);
        let names: Vec<String> = addons.keys().cloned().collect();
        let deps: BTreeMap<String, Vec<String>> = addons
            .iter()
            .map(|(name, addon)| {
                (
                    name.clone(),
                    addon.manifest.depend_names().map(String::from).collect(),
                )
            })
            .collect();
        let _ = pulse_manifest::plan_install(&addons, &Installed::new(), &names);
        // The first half counts as installed, to plan upgrades and uninstalls.
        let installed: Installed = deps
            .iter()
            .take(deps.len() / 2)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let targets: Vec<String> = installed.keys().cloned().collect();
        let _ = pulse_manifest::plan_install(&addons, &installed, &names);
        let _ = pulse_manifest::plan_upgrade(&addons, &installed, &targets);
        let _ = pulse_manifest::plan_uninstall(&installed, &targets);
        let labels: BTreeMap<String, String> = addons
            .iter()
            .map(|(name, addon)| (name.clone(), addon.manifest.version.to_string()))
            .collect();
        for root in [None, names.first().map(String::as_str)] {
            for reverse in [false, true] {
                let view = GraphView::new(&deps, &labels, root, reverse);
                let _ = (view.to_dot(), view.to_mermaid(), view.to_json());
            }
        }
        if let Some(target) = names.last() {
            let _ = pulse_manifest::graph::why(&deps, target);
        }
    });
});
