//! Property tests on random dependency DAGs: plans respect every edge, and
//! the closures are exactly the ones the definitions give.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use pulse_manifest::plan::Installed;
use pulse_manifest::{Addon, Manifest, plan_install, plan_uninstall};

/// A DAG over `n` addons: addon i may depend only on addons j < i. Names
/// are shuffled (see [`Dag::name`]) so that name order is no topological
/// order by accident.
#[derive(Debug, Clone)]
struct Dag {
    deps: Vec<Vec<usize>>,
    names: Vec<usize>,
}

impl Dag {
    fn name(&self, i: usize) -> String {
        format!("a{:02}", self.names[i])
    }
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..40).prop_flat_map(|n| {
        let deps = (0..n)
            .map(|i| proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(5)))
            .collect::<Vec<_>>();
        let names = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        (deps, names).prop_map(|(deps, names)| Dag { deps, names })
    })
}

fn addons(dag: &Dag) -> BTreeMap<String, Addon> {
    dag.deps
        .iter()
        .enumerate()
        .map(|(i, ds)| {
            let depends: Vec<String> = ds.iter().map(|&j| format!("\"{}\"", dag.name(j))).collect();
            let text = format!(
                "name = \"{}\"\nversion = \"1.0.0\"\ndepends = [{}]\n",
                dag.name(i),
                depends.join(", ")
            );
            let manifest = Manifest::parse(&text, Path::new("addon.toml")).unwrap();
            (
                dag.name(i),
                Addon {
                    manifest,
                    dir: PathBuf::new(),
                },
            )
        })
        .collect()
}

/// Every addon `i` depends on, transitively.
fn closure(deps: &[Vec<usize>], i: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = deps[i].clone();
    while let Some(j) = stack.pop() {
        if seen.insert(j) {
            stack.extend(&deps[j]);
        }
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn install_order_respects_every_edge(dag in dag(), target_seed in any::<usize>(), installed_mask in any::<u64>()) {
        let deps = &dag.deps;
        let name = |i: usize| dag.name(i);
        let n = deps.len();
        let target = target_seed % n;
        // Installed addons must be closed under dependencies, as in a real database.
        let mut installed_set: BTreeSet<usize> = BTreeSet::new();
        for i in 0..n {
            if installed_mask >> (i % 64) & 1 == 1 && i != target {
                installed_set.insert(i);
                installed_set.extend(closure(deps, i));
            }
        }
        installed_set.remove(&target);
        installed_set.retain(|i| !closure(deps, *i).contains(&target) && *i != target);
        let installed: Installed = installed_set
            .iter()
            .map(|&i| (name(i), deps[i].iter().map(|&j| name(j)).collect()))
            .collect();
        let plan = plan_install(&addons(&dag), &installed, &[name(target)]).unwrap();
        let order = plan.addons();
        let position = |a: &str| order.iter().position(|x| x == a);
        // Exactly the target and its dependencies that are not installed.
        let mut expected: BTreeSet<String> = closure(deps, target).into_iter().chain([target]).map(name).collect();
        expected.retain(|a| !installed.contains_key(a));
        prop_assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), expected);
        // Every dependency comes before its dependent.
        for (i, ds) in deps.iter().enumerate() {
            for &j in ds {
                if let (Some(pi), Some(pj)) = (position(&name(i)), position(&name(j))) {
                    prop_assert!(pj < pi, "{} must come before {} in {:?}", name(j), name(i), order);
                }
            }
        }
    }

    #[test]
    fn uninstall_closure_is_every_installed_addon_reaching_the_target(dag in dag(), target_seed in any::<usize>()) {
        let deps = &dag.deps;
        let name = |i: usize| dag.name(i);
        let n = deps.len();
        let target = target_seed % n;
        let installed: Installed = (0..n).map(|i| (name(i), deps[i].iter().map(|&j| name(j)).collect())).collect();
        let plan = plan_uninstall(&installed, &[name(target)]).unwrap();
        let order = plan.addons();
        let expected: BTreeSet<String> = (0..n)
            .filter(|&i| i == target || closure(deps, i).contains(&target))
            .map(name)
            .collect();
        prop_assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), expected);
        // Dependents are removed before what they depend on.
        for (i, ds) in deps.iter().enumerate() {
            for &j in ds {
                let (pi, pj) = (order.iter().position(|x| *x == name(i)), order.iter().position(|x| *x == name(j)));
                if let (Some(pi), Some(pj)) = (pi, pj) {
                    prop_assert!(pi < pj);
                }
            }
        }
    }
}
