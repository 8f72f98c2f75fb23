//! Install, upgrade and uninstall closures over the dependency graph, in
//! Odoo's order.
//!
//! Order: dependencies before dependents; among addons free to go next, by
//! depth (the longest dependency chain below the addon, 0 for none), then by
//! name — Odoo's `(depth, name)` rule. Uninstall runs the reverse. Every step
//! says why it is in the plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;
use serde::Serialize;

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
    /// An upgrade or uninstall target is not installed.
    #[error("addon '{0}' is not installed")]
    NotInstalled(String),
    /// An upgrade or uninstall target is a module the host provides.
    #[error(
        "'{0}' is provided by the host: it is always installed and is never upgraded or uninstalled on its own"
    )]
    HostModule(String),
}

fn unknown_message(name: &str, needed_by: Option<&str>) -> String {
    match needed_by {
        Some(by) => format!(
            "You try to install module \"{by}\" that depends on module \"{name}\".\nBut the latter module is not available in your system."
        ),
        None => format!("addon '{name}' is not in any addons path"),
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Install the addon.
    Install,
    /// Upgrade the installed addon.
    Upgrade,
    /// Uninstall the addon.
    Uninstall,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The addon.
    pub addon: String,
    /// What happens to it.
    pub action: Action,
    /// Why it is in the plan: `requested`, `dependency of X`,
    /// `auto-install (triggers: …)`, `depends on X`.
    pub reason: String,
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The addons of the plan, in order.
    pub fn addons(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.addon.clone()).collect()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The installed addons: name to recorded dependencies (as recorded at
/// install, so an addon whose folder is gone still plans).
pub type Installed = BTreeMap<String, Vec<String>>;

/// The plan to install `targets` given what is already `installed`: every
/// missing dependency first, then the targets, then `auto_install` addons
/// whose triggers become satisfied (to a fixpoint, by Odoo's rule: all
/// triggers installed or being installed, at least one being installed now).
pub fn plan_install(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    targets: &[String],
) -> Result<Plan, PlanError> {
    let mut marked: HashMap<String, String> = HashMap::new();
    for target in targets {
        if !installed.contains_key(target) {
            mark(addons, installed, target, "requested".into(), &mut marked)?;
        }
    }
    auto_install(addons, installed, &mut marked)?;
    check_excludes(addons, installed, &marked)?;
    in_dependency_order(addons, installed, marked, |_| Action::Install)
}

/// The steps for the addons of `reasons` (each with why it is in the plan),
/// dependencies first, each taking the action `action` gives it.
fn in_dependency_order(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    reasons: impl IntoIterator<Item = (String, String)>,
    action: impl Fn(&str) -> Action,
) -> Result<Plan, PlanError> {
    let mut reasons: HashMap<String, String> = reasons.into_iter().collect();
    let names: BTreeSet<&str> = reasons.keys().map(String::as_str).collect();
    let order = order_by_depth(&dependency_map(addons, installed), &names)?;
    Ok(Plan {
        steps: order
            .into_iter()
            .map(|addon| Step {
                reason: reasons.remove(&addon).unwrap_or_default(),
                action: action(&addon),
                addon,
            })
            .collect(),
    })
}

/// The plan to upgrade `targets`: each target and every installed addon that
/// depends on one, dependencies first; dependencies the new versions add
/// are installed first, with their auto-install glue.
pub fn plan_upgrade(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    targets: &[String],
) -> Result<Plan, PlanError> {
    check_installed(installed, targets)?;
    let upgrading = downstream(installed, targets);
    let mut installing: HashMap<String, String> = HashMap::new();
    for name in upgrading.keys() {
        let addon = addons.get(name).ok_or_else(|| PlanError::Unknown {
            name: name.clone(),
            needed_by: None,
        })?;
        for dep in &addon.manifest.depends {
            check_version(addons, name, dep)?;
            if !installed.contains_key(&dep.name) {
                mark(
                    addons,
                    installed,
                    &dep.name,
                    format!("new dependency of {name}"),
                    &mut installing,
                )?;
            }
        }
    }
    auto_install(addons, installed, &mut installing)?;
    check_excludes(addons, installed, &installing)?;
    let mut reasons = upgrading;
    reasons.extend(installing.iter().map(|(k, v)| (k.clone(), v.clone())));
    in_dependency_order(addons, installed, reasons, |addon| {
        if installing.contains_key(addon) {
            Action::Install
        } else {
            Action::Upgrade
        }
    })
}

/// The plan to uninstall `targets`: the targets and every installed addon
/// that depends on one of them, directly or not, dependents first.
pub fn plan_uninstall(installed: &Installed, targets: &[String]) -> Result<Plan, PlanError> {
    check_installed(installed, targets)?;
    let removing = downstream(installed, targets);
    let deps: HashMap<&str, Vec<&str>> = installed
        .iter()
        .map(|(n, ds)| (n.as_str(), ds.iter().map(String::as_str).collect()))
        .collect();
    let names: BTreeSet<&str> = removing.keys().map(String::as_str).collect();
    let mut order = order_by_depth(&deps, &names)?;
    order.reverse();
    Ok(Plan {
        steps: order
            .into_iter()
            .map(|addon| Step {
                reason: removing[&addon].clone(),
                addon,
                action: Action::Uninstall,
            })
            .collect(),
    })
}

/// Refuses targets of an upgrade or an uninstall that are the host's own
/// modules or are not installed.
fn check_installed(installed: &Installed, targets: &[String]) -> Result<(), PlanError> {
    for t in targets {
        if crate::HOST_MODULES.contains(&t.as_str()) {
            return Err(PlanError::HostModule(t.clone()));
        }
        if !installed.contains_key(t) {
            return Err(PlanError::NotInstalled(t.clone()));
        }
    }
    Ok(())
}

/// For each addon of `deps` (addon -> its dependencies), the addons that
/// depend on it directly.
pub(crate) fn dependents(deps: &BTreeMap<String, Vec<String>>) -> BTreeMap<&str, Vec<&str>> {
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, ds) in deps {
        for d in ds {
            dependents
                .entry(d.as_str())
                .or_default()
                .push(name.as_str());
        }
    }
    dependents
}

/// The targets and every installed addon depending on one of them, with why.
fn downstream(installed: &Installed, targets: &[String]) -> BTreeMap<String, String> {
    let dependents = dependents(installed);
    let mut found: BTreeMap<String, String> = targets
        .iter()
        .map(|t| (t.clone(), "requested".into()))
        .collect();
    let mut stack: Vec<&str> = targets.iter().map(String::as_str).collect();
    while let Some(name) = stack.pop() {
        for dependent in dependents.get(name).into_iter().flatten() {
            if !found.contains_key(*dependent) {
                found.insert(dependent.to_string(), format!("depends on {name}"));
                stack.push(dependent);
            }
        }
    }
    found
}

fn dependency_map<'a>(
    addons: &'a BTreeMap<String, Addon>,
    installed: &'a Installed,
) -> HashMap<&'a str, Vec<&'a str>> {
    let mut deps: HashMap<&str, Vec<&str>> = installed
        .iter()
        .map(|(n, ds)| (n.as_str(), ds.iter().map(String::as_str).collect()))
        .collect();
    for (name, addon) in addons {
        deps.insert(name.as_str(), addon.manifest.depend_names().collect());
    }
    deps
}

fn check_version(
    addons: &BTreeMap<String, Addon>,
    name: &str,
    dep: &crate::Dependency,
) -> Result<(), PlanError> {
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
    Ok(())
}

fn mark(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    name: &str,
    reason: String,
    marked: &mut HashMap<String, String>,
) -> Result<(), PlanError> {
    // An explicit stack of (addon, the addon that needs it), so a
    // 10,000-deep chain cannot overflow; strings are made only for marks.
    let mut root_reason = Some(reason);
    let mut stack: Vec<(&str, Option<&str>)> = vec![(name, None)];
    while let Some((name, needed_by)) = stack.pop() {
        if installed.contains_key(name) || marked.contains_key(name) {
            continue;
        }
        let Some((key, addon)) = addons.get_key_value(name) else {
            return Err(PlanError::Unknown {
                name: name.to_string(),
                needed_by: needed_by.map(str::to_string),
            });
        };
        if !addon.manifest.installable {
            return Err(PlanError::NotInstallable {
                name: name.to_string(),
                reason: "its manifest says installable = false".into(),
            });
        }
        if !addon.manifest.is_installable() {
            return Err(PlanError::NotInstallable {
                reason: format!(
                    "it targets series {}, this host runs {}",
                    addon.manifest.series,
                    crate::HOST_SERIES
                ),
                name: name.to_string(),
            });
        }
        for dep in addon.manifest.depends.iter().rev() {
            check_version(addons, name, dep)?;
            stack.push((dep.name.as_str(), Some(key.as_str())));
        }
        let reason = match needed_by {
            Some(parent) => format!("dependency of {parent}"),
            None => root_reason.take().unwrap_or_else(|| "requested".into()),
        };
        marked.insert(key.clone(), reason);
    }
    Ok(())
}

fn auto_install(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    marked: &mut HashMap<String, String>,
) -> Result<(), PlanError> {
    loop {
        let mut added = false;
        for (name, addon) in addons {
            if installed.contains_key(name)
                || marked.contains_key(name)
                || !addon.manifest.is_installable()
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
                .all(|t| installed.contains_key(*t) || marked.contains_key(*t));
            let one_new = triggers.iter().any(|t| marked.contains_key(*t));
            if all_there && one_new {
                let reason = format!("auto-install (triggers: {})", triggers.join(", "));
                mark(addons, installed, name, reason, marked)?;
                added = true;
            }
        }
        if !added {
            return Ok(());
        }
    }
}

fn check_excludes(
    addons: &BTreeMap<String, Addon>,
    installed: &Installed,
    marked: &HashMap<String, String>,
) -> Result<(), PlanError> {
    let all: BTreeSet<&str> = installed
        .keys()
        .chain(marked.keys())
        .map(String::as_str)
        .collect();
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

/// Orders `names` by `(depth, name)` over the dependency map `deps`,
/// reporting a cycle among them with its full path.
pub fn order_by_depth<'a, S: std::hash::BuildHasher>(
    deps: &HashMap<&'a str, Vec<&'a str>, S>,
    names: &BTreeSet<&'a str>,
) -> Result<Vec<String>, PlanError> {
    let mut depth: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    let mut on_path = std::collections::HashSet::new();
    let mut ordered: Vec<(usize, &str)> = Vec::with_capacity(names.len());
    for &name in names {
        match depth_of(name, deps, &mut depth, &mut on_path) {
            Some(d) => ordered.push((d, name)),
            None => {
                // Rare: only now build the graph, to name the cycle exactly.
                let mut graph = DiGraphMap::<&str, ()>::new();
                for (n, ds) in deps.iter() {
                    for d in ds {
                        graph.add_edge(*n, *d, ());
                    }
                }
                let cycle = cycles_in(&graph)
                    .into_iter()
                    .next()
                    .expect("depth_of only fails on a cycle");
                return Err(PlanError::Cycle(cycle));
            }
        }
    }
    ordered.sort_unstable();
    Ok(ordered.into_iter().map(|(_, n)| n.to_string()).collect())
}

/// Longest dependency chain below `name`, memoized, without recursion;
/// `None` when a dependency cycle is reachable from `name`.
fn depth_of<'a, S: std::hash::BuildHasher>(
    name: &'a str,
    deps: &HashMap<&'a str, Vec<&'a str>, S>,
    memo: &mut HashMap<&'a str, usize>,
    on_path: &mut std::collections::HashSet<&'a str>,
) -> Option<usize> {
    let mut stack = vec![(name, false)];
    while let Some((node, expanded)) = stack.pop() {
        if memo.contains_key(node) {
            continue;
        }
        let children = deps.get(node).map(Vec::as_slice).unwrap_or(&[]);
        if expanded {
            on_path.remove(node);
            let d = children
                .iter()
                .map(|c| memo.get(c).map_or(0, |d| d + 1))
                .max()
                .unwrap_or(0);
            memo.insert(node, d);
            continue;
        }
        on_path.insert(node);
        stack.push((node, true));
        for child in children {
            if on_path.contains(child) {
                on_path.clear();
                return None;
            }
            if !memo.contains_key(child) {
                stack.push((child, false));
            }
        }
    }
    memo.get(name).copied()
}

/// Every dependency cycle of `deps`, each as `a -> b -> … -> a`.
pub fn cycles(deps: &BTreeMap<&str, Vec<&str>>) -> Vec<Vec<String>> {
    let mut graph = DiGraphMap::<&str, ()>::new();
    for (name, ds) in deps {
        graph.add_node(name);
        for d in ds {
            if deps.contains_key(d) {
                graph.add_edge(name, d, ());
            }
        }
    }
    cycles_in(&graph)
}

fn cycles_in(graph: &DiGraphMap<&str, ()>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
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
                found.push(cycle);
                break;
            }
            path.push(next);
            current = next;
        }
    }
    found.sort();
    found
}
