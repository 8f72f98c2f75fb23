//! The dependency graph through the CLI, as an admin uses it: plans,
//! manifest checks, graphs, `why` and `update-list`, on fixture sets shaped
//! like the InsightPulse addons.

use std::process::{Command, Stdio};

use pulse_testing::{Pulse, text};
use serde_json::Value;

const INSIGHTPULSE: &str = "tests/fixtures/graphs/insightpulse";

fn plan_json(pulse: &Pulse, args: &[&str]) -> Value {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&pulse.ok(&all)).expect("plan --json prints JSON")
}

fn step_names(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["addon"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn install_plan_lists_dependencies_first_and_auto_installed_glue() {
    let pulse = Pulse::with_addons_paths(&[INSIGHTPULSE]);
    let plan = plan_json(&pulse, &["install", "ipai_finance_ssc", "ipai_expense"]);
    assert_eq!(
        step_names(&plan),
        [
            "account",
            "hr",
            "account_reports",
            "ipai_expense",
            "ipai_finance_ssc",
            "ipai_finance_expense_bridge"
        ]
    );
    let glue = &plan["steps"][5];
    assert_eq!(glue["action"], "install");
    assert_eq!(
        glue["reason"],
        "auto-install (triggers: ipai_finance_ssc, ipai_expense)"
    );
    assert_eq!(plan["steps"][0]["reason"], "dependency of ipai_finance_ssc");

    // Planning changed nothing: the same plan again, and nothing installed.
    assert_eq!(
        plan_json(&pulse, &["install", "ipai_finance_ssc", "ipai_expense"]),
        plan
    );
    // base and web are the host's: always installed, never removed.
    let e = pulse.run(&["plan", "uninstall", "base"]);
    assert!(!e.status.success());
    assert!(
        text(&e).contains("'base' is provided by the host"),
        "{}",
        text(&e)
    );
}

#[test]
fn a_cycle_prints_its_path_and_fails() {
    let pulse = Pulse::with_addons_paths(&["tests/fixtures/graphs/cycle"]);
    let out = pulse.run(&["plan", "install", "a"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("dependency cycle: a -> b -> c -> a"),
        "{}",
        text(&out)
    );
    let out = pulse.run(&["check"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("a/addon.toml:6: depends: dependency cycle: a -> b -> c -> a"),
        "{}",
        text(&out)
    );
    // An addon outside the cycle still plans.
    assert_eq!(step_names(&plan_json(&pulse, &["install", "d"])), ["d"]);
}

#[test]
fn five_mistakes_are_reported_in_one_run() {
    let pulse = Pulse::with_addons_paths(&["tests/fixtures/graphs/five_mistakes"]);
    let out = pulse.run(&["check"]);
    assert!(!out.status.success());
    let report = text(&out);
    let expected = [
        "bad_name/addon.toml:1: name: \"Bad-Name\" is not a valid technical name",
        "bad_version/addon.toml:4: version: \"1.0\" is not a semantic version",
        "unknown_key/addon.toml:6: dependss: unknown key `dependss`; did you mean `depends`?",
        "missing_dep/addon.toml:6: depends: depends on \"ghost_addon\", which is in no addons path",
        "wants_newer/addon.toml:6: depends: requires base_lib >=2.0, but the available version is 1.0.0",
        "5 problem(s) found",
    ];
    for line in expected {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }
    assert_eq!(
        report.lines().filter(|l| l.starts_with("error: ")).count(),
        6,
        "{report}"
    );
}

#[test]
fn graph_renders_in_every_format_and_dot_draws() {
    let pulse = Pulse::with_addons_paths(&[INSIGHTPULSE]);
    let dot = pulse.ok(&["graph", "--root", "ipai_finance_ssc"]);
    assert!(dot.starts_with("digraph addons {"), "{dot}");
    assert!(
        dot.contains("\"ipai_finance_ssc\" -> \"account_reports\";"),
        "{dot}"
    );
    assert!(
        !dot.contains("ipai_expense"),
        "--root keeps only what the root needs:\n{dot}"
    );

    let reverse: Value = serde_json::from_str(&pulse.ok(&[
        "graph",
        "--root",
        "web",
        "--reverse",
        "--format",
        "json",
    ]))
    .unwrap();
    let names: Vec<&str> = reverse["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ipai_superset_connector") && !names.contains(&"hr"),
        "{names:?}"
    );
    let mermaid = pulse.ok(&["graph", "--format", "mermaid"]);
    assert!(
        mermaid.starts_with("graph BT\n") && mermaid.contains("  account_reports --> account\n"),
        "{mermaid}"
    );

    // Graphviz must accept the dot output. CI installs Graphviz, so there a
    // missing `dot` is a failure, not a skip.
    let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Graphviz `dot` is missing in CI"
        );
        eprintln!("skipping the Graphviz render: `dot` is not installed");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot rejected the graph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}

#[test]
fn why_and_update_list_follow_the_database() {
    let pulse = Pulse::with_addons_paths(&[INSIGHTPULSE]);
    // A new database lists its addons as it is made (Odoo's update_list
    // at database creation): nothing is left to add.
    let listed = pulse.ok(&["update-list"]);
    assert!(listed.contains("0 updatable, 0 added"), "{listed}");
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_module_module WHERE state = 'uninstalled'"),
        16
    );
    let out = pulse.run(&["why", "account"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("addon 'account' is not installed"));
    assert!(
        pulse
            .ok(&["why", "base"])
            .contains("no installed addon depends on base")
    );
}
