//! The dependency graph as Graphviz dot, Mermaid or JSON, for `pulse graph`.
//! Edges point from an addon to what it depends on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::plan::Installed;
use crate::{Discovery, HOST_MODULES};

/// Why a graph cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The root asked for is neither an addon of the graph nor a host
    /// module one of them depends on.
    #[error("addon '{0}' is not in the graph")]
    NotInGraph(String),
}

/// Which part of the addons [`GraphView::of_addons`] draws.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphQuery<'a> {
    /// Only this addon and what it depends on (with `reverse`: what depends on it).
    pub root: Option<&'a str>,
    /// With `root`, follow dependents instead of dependencies.
    pub reverse: bool,
    /// Only the installed addons, with the dependencies recorded at install,
    /// instead of every addon of the addons paths.
    pub installed_only: bool,
}

/// A graph to draw: addons (with a label such as version and state) and
/// dependency edges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GraphView {
    /// Addon name to its label.
    pub nodes: BTreeMap<String, String>,
    /// `(addon, dependency)` pairs.
    pub edges: BTreeSet<(String, String)>,
}

impl GraphView {
    /// The graph of `deps` (addon to dependencies, labels in `labels`),
    /// cut to what `root` depends on (or, `reverse`, what depends on `root`).
    pub fn new(
        deps: &BTreeMap<String, Vec<String>>,
        labels: &BTreeMap<String, String>,
        root: Option<&str>,
        reverse: bool,
    ) -> GraphView {
        let keep: BTreeSet<String> = match root {
            None => deps.keys().cloned().collect(),
            Some(root) => reachable(deps, root, reverse),
        };
        let mut view = GraphView::default();
        for name in &keep {
            view.nodes
                .insert(name.clone(), labels.get(name).cloned().unwrap_or_default());
            for dep in deps.get(name).into_iter().flatten() {
                if keep.contains(dep) {
                    view.edges.insert((name.clone(), dep.clone()));
                }
            }
        }
        view
    }

    /// The graph `pulse graph` draws: the addons found (or, `installed_only`,
    /// those installed) labelled with version and state, plus the host's own
    /// modules where an addon depends on them or the graph starts from one.
    pub fn of_addons(
        found: &Discovery,
        installed: &Installed,
        query: GraphQuery<'_>,
    ) -> Result<GraphView, GraphError> {
        let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if query.installed_only {
            deps.extend(
                installed
                    .iter()
                    .filter(|(name, _)| !HOST_MODULES.contains(&name.as_str()))
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
        // The host's modules are always installed; they are drawn only where
        // they explain an edge or were asked for, not as noise in every graph.
        for module in HOST_MODULES {
            let needed = query.root == Some(module) || deps.values().flatten().any(|d| d == module);
            if needed {
                deps.entry(module.to_string()).or_default();
            }
        }
        let mut labels = BTreeMap::new();
        for name in deps.keys() {
            if HOST_MODULES.contains(&name.as_str()) && !found.addons.contains_key(name) {
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
        if let Some(root) = query.root
            && !deps.contains_key(root)
        {
            return Err(GraphError::NotInGraph(root.to_string()));
        }
        Ok(GraphView::new(&deps, &labels, query.root, query.reverse))
    }

    /// Graphviz `dot` source.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph addons {\n  rankdir=BT;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        );
        for (name, label) in &self.nodes {
            let text = if label.is_empty() {
                name.clone()
            } else {
                format!("{name}\\n{label}")
            };
            let _ = writeln!(out, "  {} [label={}];", quote(name), quote(&text));
        }
        for (from, to) in &self.edges {
            let _ = writeln!(out, "  {} -> {};", quote(from), quote(to));
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid `graph` source.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("graph BT\n");
        for (name, label) in &self.nodes {
            let text = if label.is_empty() {
                name.clone()
            } else {
                format!("{name}<br/>{label}")
            };
            let _ = writeln!(out, "  {name}[\"{}\"]", text.replace('"', "'"));
        }
        for (from, to) in &self.edges {
            let _ = writeln!(out, "  {from} --> {to}");
        }
        out
    }

    /// JSON: `{"nodes": [{"name", "label"}], "edges": [{"from", "to"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "nodes": self.nodes.iter().map(|(n, l)| serde_json::json!({"name": n, "label": l})).collect::<Vec<_>>(),
            "edges": self.edges.iter().map(|(f, t)| serde_json::json!({"from": f, "to": t})).collect::<Vec<_>>(),
        })
    }
}

fn quote(text: &str) -> String {
    format!(
        "\"{}\"",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("\\\\n", "\\n")
    )
}

/// `root` and what it depends on (or, `reverse`, what depends on it), transitively.
fn reachable(deps: &BTreeMap<String, Vec<String>>, root: &str, reverse: bool) -> BTreeSet<String> {
    let dependents = crate::plan::dependents(deps);
    let mut seen = BTreeSet::from([root.to_string()]);
    let mut stack = vec![root.to_string()];
    while let Some(node) = stack.pop() {
        let next: Vec<&str> = if reverse {
            dependents.get(node.as_str()).cloned().unwrap_or_default()
        } else {
            deps.get(&node)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default()
        };
        for n in next {
            if seen.insert(n.to_string()) {
                stack.push(n.to_string());
            }
        }
    }
    seen
}

/// Every path by which an installed addon needs `target`: chains
/// `[dependent, …, target]`, shortest first. `deps` maps installed addons to
/// their dependencies.
pub fn why(deps: &BTreeMap<String, Vec<String>>, target: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for start in deps.keys().filter(|n| n.as_str() != target) {
        // Breadth-first from each addon to the target: its shortest path.
        let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.as_str()]);
        let mut seen = BTreeSet::from([start.as_str()]);
        while let Some(node) = queue.pop_front() {
            if node == target {
                let mut path = vec![target.to_string()];
                let mut at = target;
                while let Some(p) = previous.get(at) {
                    path.push(p.to_string());
                    at = p;
                }
                path.reverse();
                paths.push(path);
                break;
            }
            for d in deps.get(node).into_iter().flatten() {
                if seen.insert(d.as_str()) {
                    previous.insert(d.as_str(), node);
                    queue.push_back(d.as_str());
                }
            }
        }
    }
    paths.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    paths
}
