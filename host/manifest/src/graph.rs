//! The dependency graph as Graphviz dot, Mermaid or JSON, for `pulse graph`.
//! Edges point from an addon to what it depends on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

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
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, ds) in deps {
        for d in ds {
            dependents
                .entry(d.as_str())
                .or_default()
                .push(name.as_str());
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn deps() -> BTreeMap<String, Vec<String>> {
        [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec![]),
            ("x", vec!["c"]),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), d.into_iter().map(String::from).collect()))
        .collect()
    }

    #[test]
    fn roots_cut_the_graph_both_ways() {
        let view = GraphView::new(&deps(), &BTreeMap::new(), Some("b"), false);
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["b", "c"]);
        let view = GraphView::new(&deps(), &BTreeMap::new(), Some("b"), true);
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(view.to_dot().contains("\"a\" -> \"b\";"));
        assert!(view.to_mermaid().contains("a --> b"));
    }

    #[test]
    fn why_lists_shortest_paths() {
        assert_eq!(
            why(&deps(), "c"),
            vec![
                vec!["b".to_string(), "c".into()],
                vec!["x".into(), "c".into()],
                vec!["a".into(), "b".into(), "c".into()]
            ]
        );
    }
}
