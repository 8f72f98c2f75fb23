//! Install and uninstall closures over the dependency graph, in Odoo's order.
//!
//! Order: dependencies before dependents; among addons free to go next, by
//! depth (the longest dependency path below the addon, 0 for none), then by
//! name — Odoo's `(depth, name)` rule. Uninstall runs the reverse.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;

use crate::{Addon, AutoInstall};

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An addon (or a dependency) is not in any addons path.
    #[error("{}", unknown_message(.name, .needed_by.as_deref()))]
    Unknown {
        /// The missing addon.
        name: String,
        /// The addon that depends on it, if any.
        needed_by: Option<String>,
    },
    /// The addon cannot be installed on this host (installable = false, or another series).
    #[error("addon '{name}' cannot be installed: {reason}")]
    NotInstallable {
        /// The addon.
        name: String,
        /// Why.
        reason: String,
    },
    /// A dependency's version does not meet the requirement.
    #[error("addon '{needed_by}' requires {name} {req}, but version {found} is available")]
    Version {
        /// The dependency.
        name: String,
        /// The requirement.
        req: String,
        /// The available version.
        found: String,
        /// The addon that states the requirement.
        needed_by: String,
    },
    /// The dependencies form a cycle.
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Two addons exclude each other.
    #[error("Modules \"{0}\" and \"{1}\" are incompatible.")]
    Excluded(String, String),
    /// An uninstall target is not installed.
    #[error("addon '{0}' is not installed")]
    NotInstalled(String),
}

fn unknown_message(name: &str, needed_by: Option<&str>) -> String {
    match needed_by {
        Some(by) => format!(
            "You try to install module \"{by}\" that depends on module \"{name}\".\nBut the latter module is not available in your system."
        ),
        None => format!("addon '{name}' is not in any addons path"),
    }
}

/// The addons to install, in order, to install `targets` given what is
/// already `installed`: every missing dependency first, then the targets,
/// then `auto_install` addons whose triggers become satisfied (to a fixpoint,
/// by Odoo's rule: all triggers installed or being installed, at least one
/// being installed now).
pub fn plan_install(
    addons: &BTreeMap<String, Addon>,
    installed: &BTreeSet<String>,
    targets: &[String],
) -> Result<Vec<String>, PlanError> {
    let mut marked = BTreeSet::new();
    for target in targets {
        if installed.contains(target) {
            continue;
        }
        mark(addons, installed, target, None, &mut marked)?;
    }
    loop {
        let mut added = false;
        for (name, addon) in addons {
            if installed.contains(name) || marked.contains(name) || !addon.manifest.is_installable()
            {
                continue;
            }
            let triggers: Vec<&str> = match &addon.manifest.auto_install {
                AutoInstall::No => continue,
                AutoInstall::AllDepends => addon.manifest.depend_names().collect(),
                AutoInstall::Triggers(t) => t.iter().map(String::as_str).collect(),
            };
            let all_there = triggers
                .iter()
                .all(|t| installed.contains(*t) || marked.contains(*t));
            let one_new = triggers.iter().any(|t| marked.contains(*t));
            if all_there && one_new {
                mark(addons, installed, name, None, &mut marked)?;
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    check_excludes(addons, installed, &marked)?;
    order(addons, &marked)
}

fn mark(
    addons: &BTreeMap<String, Addon>,
    installed: &BTreeSet<String>,
    name: &str,
    needed_by: Option<&str>,
    marked: &mut BTreeSet<String>,
) -> Result<(), PlanError> {
    if installed.contains(name) || marked.contains(name) {
        return Ok(());
    }
    let addon = addons.get(name).ok_or_else(|| PlanError::Unknown {
        name: name.to_string(),
        needed_by: needed_by.map(str::to_string),
    })?;
    if !addon.manifest.installable {
        return Err(PlanError::NotInstallable {
            name: name.into(),
            reason: "its manifest says installable = false".into(),
        });
    }
    if !addon.manifest.is_installable() {
        return Err(PlanError::NotInstallable {
            name: name.into(),
            reason: format!(
                "it targets series {}, this host runs {}",
                addon.manifest.series,
                crate::HOST_SERIES
            ),
        });
    }
    marked.insert(name.to_string());
    for dep in &addon.manifest.depends {
        if let (Some(req), Some(found)) = (&dep.req, addons.get(&dep.name))
            && !req.matches(&found.manifest.version)
        {
            return Err(PlanError::Version {
                name: dep.name.clone(),
                req: req.to_string(),
                found: found.manifest.version.to_string(),
                needed_by: name.to_string(),
            });
        }
        mark(addons, installed, &dep.name, Some(name), marked)?;
    }
    Ok(())
}

fn check_excludes(
    addons: &BTreeMap<String, Addon>,
    installed: &BTreeSet<String>,
    marked: &BTreeSet<String>,
) -> Result<(), PlanError> {
    let all: BTreeSet<&str> = installed.iter().chain(marked).map(String::as_str).collect();
    for name in &all {
        if let Some(addon) = addons.get(*name) {
            for excluded in &addon.manifest.excludes {
                if all.contains(excluded.as_str()) {
                    return Err(PlanError::Excluded(name.to_string(), excluded.clone()));
                }
            }
        }
    }
    Ok(())
}

/// Orders `names` dependencies first, ties by (depth, name).
fn order(
    addons: &BTreeMap<String, Addon>,
    names: &BTreeSet<String>,
) -> Result<Vec<String>, PlanError> {
    let deps: BTreeMap<&str, Vec<&str>> = addons
        .iter()
        .map(|(n, a)| (n.as_str(), a.manifest.depend_names().collect()))
        .collect();
    order_by_depth(&deps, names)
}

/// Orders `names` by `(depth, name)` over the dependency map `deps`,
/// reporting a cycle with its full path.
pub fn order_by_depth(
    deps: &BTreeMap<&str, Vec<&str>>,
    names: &BTreeSet<String>,
) -> Result<Vec<String>, PlanError> {
    let mut graph = DiGraphMap::<&str, ()>::new();
    for (name, ds) in deps {
        graph.add_node(name);
        for d in ds {
            graph.add_edge(name, d, ());
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        return Err(PlanError::Cycle(cycle));
    }
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    fn depth_of<'a>(
        name: &'a str,
        deps: &BTreeMap<&'a str, Vec<&'a str>>,
        memo: &mut BTreeMap<&'a str, usize>,
    ) -> usize {
        if let Some(d) = memo.get(name) {
            return *d;
        }
        let d = deps
            .get(name)
            .map(|ds| {
                ds.iter()
                    .map(|d| depth_of(d, deps, memo) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(name, d);
        d
    }
    let mut ordered: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (depth_of(n.as_str(), deps, &mut depth), n))
        .collect();
    ordered.sort();
    Ok(ordered.into_iter().map(|(_, n)| n.clone()).collect())
}

/// A dependency cycle as `a -> b -> … -> a`, if there is one.
fn find_cycle(graph: &DiGraphMap<&str, ()>) -> Option<Vec<String>> {
    for scc in kosaraju_scc(graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: BTreeSet<&str> = scc.iter().copied().collect();
        let start = *members.iter().next().expect("non-empty");
        // Walk inside the component until a node repeats.
        let mut path = vec![start];
        let mut current = start;
        loop {
            let next = graph
                .neighbors(current)
                .filter(|n| members.contains(n))
                .min()
                .expect("every node of a cycle has a successor in it");
            if let Some(at) = path.iter().position(|n| *n == next) {
                let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(next.to_string());
                return Some(cycle);
            }
            path.push(next);
            current = next;
        }
    }
    None
}

/// The installed addons to remove to uninstall `targets`, dependents first:
/// the targets and every installed addon that depends on one of them,
/// directly or not. `installed` maps each installed addon to its
/// dependencies as recorded at install (so an addon whose folder is gone
/// still uninstalls).
pub fn plan_uninstall(
    installed: &BTreeMap<String, Vec<String>>,
    targets: &[String],
) -> Result<Vec<String>, PlanError> {
    let mut removing: BTreeSet<String> = BTreeSet::new();
    for t in targets {
        if !installed.contains_key(t) {
            return Err(PlanError::NotInstalled(t.clone()));
        }
        removing.insert(t.clone());
    }
    loop {
        let before = removing.len();
        for (name, deps) in installed {
            if deps.iter().any(|d| removing.contains(d)) {
                removing.insert(name.clone());
            }
        }
        if removing.len() == before {
            break;
        }
    }
    let deps: BTreeMap<&str, Vec<&str>> = installed
        .iter()
        .map(|(n, ds)| (n.as_str(), ds.iter().map(String::as_str).collect()))
        .collect();
    let mut ordered = order_by_depth(&deps, &removing)?;
    ordered.reverse();
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Manifest;
    use std::path::{Path, PathBuf};

    fn set(specs: &[&str]) -> BTreeMap<String, Addon> {
        specs
            .iter()
            .map(|s| {
                let m = Manifest::parse(s, Path::new("t/addon.toml")).unwrap();
                (
                    m.name.clone(),
                    Addon {
                        manifest: m,
                        dir: PathBuf::new(),
                    },
                )
            })
            .collect()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dependencies_come_first_and_glue_auto_installs() {
        let addons = set(&[
            "name='a'\nversion='1.0.0'\ndepends=['b','c']",
            "name='b'\nversion='1.0.0'",
            "name='c'\nversion='1.0.0'",
            "name='glue'\nversion='1.0.0'\ndepends=['a','c']\nauto_install=true",
        ]);
        let plan = plan_install(&addons, &BTreeSet::new(), &names(&["a"])).unwrap();
        assert_eq!(plan, names(&["b", "c", "a", "glue"]));
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let addons = set(&[
            "name='a'\nversion='1.0.0'\ndepends=['b']",
            "name='b'\nversion='1.0.0'\ndepends=['c']",
            "name='c'\nversion='1.0.0'\ndepends=['a']",
        ]);
        let e = plan_install(&addons, &BTreeSet::new(), &names(&["a"])).unwrap_err();
        assert_eq!(e.to_string(), "dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn uninstall_takes_dependents_first() {
        let installed: BTreeMap<String, Vec<String>> =
            [("a", vec!["b", "c"]), ("b", vec![]), ("c", vec![])]
                .into_iter()
                .map(|(n, d)| (n.to_string(), names(&d)))
                .collect();
        assert_eq!(
            plan_uninstall(&installed, &names(&["b"])).unwrap(),
            names(&["a", "b"])
        );
    }

    #[test]
    fn unknown_dependency_names_both() {
        let addons = set(&["name='a'\nversion='1.0.0'\ndepends=['ghost']"]);
        let e = plan_install(&addons, &BTreeSet::new(), &names(&["a"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"a\" that depends on module \"ghost\""),
            "{e}"
        );
    }
}
