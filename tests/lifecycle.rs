//! The Apps lifecycle through the CLI on SQLite and PostgreSQL: install
//! order, cascading uninstall, extension columns, vanished addons, failing
//! hooks, SIGKILL mid-install, upgrades with migrations, refused destructive
//! upgrades, and the lifecycle lock.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use pulse_testing::{Backend, Pulse, Rpc, build_addons, text};
use serde_json::json;

const FIXTURES: &str = "tests/fixtures/addons";

on_both! {
    installs_dependencies_first_and_uninstall_cascades => install_order_and_cascade;
    uninstalling_an_extension_drops_only_its_columns => extension_uninstall;
    an_addon_whose_folder_is_gone_uninstalls => vanished_addon;
    a_failing_post_init_leaves_nothing_behind => failing_post_init;
    sigkill_mid_install_leaves_nothing_behind => sigkill_mid_install;
    upgrade_adds_the_column_and_runs_the_migration => upgrade_with_migration;
    a_failing_migration_rolls_the_upgrade_back => failing_migration;
    an_upgrade_that_would_lose_data_is_refused => destructive_upgrade;
    marks_are_applied_together_or_reset => marks_apply_and_reset;
    data_files_are_loaded_updated_and_removed_with_the_addon => data_files_follow_the_addon;
    a_bad_data_file_rolls_the_install_back => bad_data_file;
    an_override_with_super_comes_and_goes_with_its_addon => override_with_super;
}

fn install_order_and_cascade(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    let out = pulse.ok(&["install", "needs_b_and_c"]);
    assert!(
        out.contains("installed: base_b, base_c, needs_b_and_c"),
        "{out}"
    );
    for table in ["a_item", "b_item", "c_item"] {
        assert!(pulse.has_table(table), "{table} missing after install");
    }
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM c_item"),
        1,
        "base_c's post-init seeded one row"
    );

    let why = pulse.ok(&["why", "base_b"]);
    assert_eq!(why.trim(), "needs_b_and_c (via needs_b_and_c -> base_b)");
    let graph: serde_json::Value =
        serde_json::from_str(&pulse.ok(&["graph", "--installed", "--format", "json"])).unwrap();
    let nodes: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        nodes,
        ["base_b", "base_c", "needs_b_and_c"],
        "only what is installed"
    );

    let plan = pulse.ok(&["plan", "uninstall", "base_b"]);
    assert!(
        plan.contains("drop table a_item (needs_b_and_c): 0 row(s)"),
        "{plan}"
    );

    let out = pulse.ok(&["uninstall", "base_b"]);
    assert!(out.contains("uninstalled: needs_b_and_c, base_b"), "{out}");
    assert!(!pulse.has_table("a_item") && !pulse.has_table("b_item"));
    assert!(pulse.has_table("c_item"), "base_c is untouched");
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM c_item"),
        1,
        "and so is its data"
    );
    assert_eq!(pulse.module_state("base_c").as_deref(), Some("installed"));
    assert_eq!(pulse.module_state("base_b").as_deref(), Some("uninstalled"));
    assert_eq!(
        pulse.module_state("needs_b_and_c").as_deref(),
        Some("uninstalled")
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model WHERE module IN ('base_b', 'needs_b_and_c')"),
        0
    );
}

fn extension_uninstall(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    assert!(
        pulse
            .ok(&["install", "extends_other"])
            .contains("installed: base_b, extends_other")
    );
    assert_eq!(pulse.columns("b_item"), ["id", "name", "priority", "code"]);
    let plan = pulse.ok(&["plan", "uninstall", "extends_other"]);
    assert!(
        plan.contains("drop column b_item.priority (extends_other): 0 value(s)"),
        "{plan}"
    );
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        let id = rpc
            .call(
                "b.item",
                "create",
                json!([{"name": "keep me", "priority": 1}]),
                json!({}),
            )
            .unwrap();
        assert_eq!(
            rpc.call("b.item", "set_priority", json!([[id], 5]), json!({}))
                .unwrap(),
            json!(true)
        );
        let read = rpc
            .call(
                "b.item",
                "read",
                json!([[id]]),
                json!({"fields": ["name", "priority"]}),
            )
            .unwrap();
        assert_eq!(read, json!([{"id": id, "name": "keep me", "priority": 5}]));
    }
    assert!(
        pulse
            .ok(&["uninstall", "extends_other"])
            .contains("uninstalled: extends_other")
    );
    assert_eq!(
        pulse.columns("b_item"),
        ["id", "name"],
        "the extension's column is gone"
    );
    assert_eq!(
        pulse.strings("SELECT name FROM b_item"),
        ["keep me"],
        "the model's own data stays"
    );
    assert_eq!(pulse.module_state("base_b").as_deref(), Some("installed"));
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_fields WHERE module = 'extends_other'"),
        0
    );
}

fn vanished_addon(backend: Backend) {
    build_addons();
    let shelf = tempfile::tempdir().unwrap();
    let copy = shelf.path().join("base_b");
    std::fs::create_dir(&copy).unwrap();
    for file in ["addon.toml", "base_b.wasm"] {
        std::fs::copy(
            pulse_testing::root()
                .join(FIXTURES)
                .join("base_b")
                .join(file),
            copy.join(file),
        )
        .unwrap();
    }
    let mut pulse = Pulse::on(backend, &[]);
    pulse.addons_paths = vec![shelf.path().to_path_buf()];
    pulse.ok(&["install", "base_b"]);
    assert!(pulse.has_table("b_item"));
    std::fs::remove_dir_all(&copy).unwrap();
    let out = pulse.ok(&["uninstall", "base_b"]);
    assert!(out.contains("uninstalled: base_b"), "{out}");
    assert!(!pulse.has_table("b_item"));
    assert_eq!(pulse.module_state("base_b").as_deref(), Some("uninstalled"));
}

/// Nothing of a failed install may remain: no table, no ledger row, no state.
fn assert_untouched(pulse: &Pulse, tables: &[&str], modules: &[&str]) {
    for table in tables {
        assert!(
            !pulse.has_table(table),
            "{table} survived the failed install"
        );
    }
    for module in modules {
        assert_ne!(
            pulse.module_state(module).as_deref(),
            Some("installed"),
            "{module} is marked installed"
        );
    }
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model WHERE module <> 'base'"),
        0
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_fields WHERE module <> 'base'"),
        0
    );
}

fn failing_post_init(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    let out = pulse.run(&["install", "trap_in_post_init"]);
    assert!(!out.status.success());
    let message = text(&out);
    assert!(
        message.contains("addon 'trap_in_post_init' failed in the post-init hook: addon 'trap_in_post_init' trapped"),
        "{message}"
    );
    assert_untouched(
        &pulse,
        &["t_post", "c_item"],
        &["trap_in_post_init", "base_c"],
    );
}

fn sigkill_mid_install(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    let mut child = pulse.spawn(&["install", "slow_post_init"]);
    // Wait until the post-init hook runs: its table exists and holds a row,
    // inside the open transaction.
    let stderr = child.stderr.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines
            .next()
            .expect("pulse exited before post-init")
            .unwrap();
        if line.contains("slow_post_init: spinning") {
            break;
        }
        assert!(Instant::now() < deadline, "post-init never started");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_untouched(&pulse, &["s_slow"], &["slow_post_init"]);
    // The database is usable afterwards.
    assert!(
        pulse
            .ok(&["install", "base_b"])
            .contains("installed: base_b")
    );
}

/// Installs adds_field 1.0.0 and writes two notes over RPC.
fn adds_field_v1_with_notes(backend: Backend) -> Pulse {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/upgrade/v1"]);
    pulse.ok(&["install", "adds_field"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    rpc.call(
        "u.note",
        "create",
        json!([[{"name": "one two three"}, {"name": "four"}]]),
        json!({}),
    )
    .unwrap();
    pulse
}

fn upgrade_with_migration(backend: Backend) {
    let mut pulse = adds_field_v1_with_notes(backend);
    assert_eq!(pulse.columns("u_note"), ["id", "name"]);
    pulse.set_addons_paths(&["tests/fixtures/upgrade/v2"]);
    let plan = pulse.ok(&["plan", "upgrade", "adds_field"]);
    assert!(plan.contains("upgrade    adds_field"), "{plan}");
    assert!(
        plan.contains("add column u_note.words (adds_field)"),
        "{plan}"
    );
    assert!(
        pulse
            .ok(&["upgrade", "adds_field"])
            .contains("upgraded: adds_field")
    );
    assert_eq!(pulse.columns("u_note"), ["id", "name", "words"]);
    assert_eq!(
        pulse.strings("SELECT CAST(words AS TEXT) || ':' || name FROM u_note ORDER BY id"),
        ["3:one two three", "1:four"],
        "the migration saw the old data"
    );
    assert_eq!(pulse.module_version("adds_field").as_deref(), Some("2.0.0"));
    let again = pulse.ok(&["upgrade", "--changed"]);
    assert!(again.contains("nothing to upgrade"), "{again}");
}

fn failing_migration(backend: Backend) {
    let mut pulse = adds_field_v1_with_notes(backend);
    pulse.set_addons_paths(&["tests/fixtures/upgrade/v2_failing"]);
    let out = pulse.run(&["upgrade", "adds_field"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(
            "addon 'adds_field' failed in the migrate hook: the 2.0 migration refuses to run"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(
        pulse.columns("u_note"),
        ["id", "name"],
        "the new column was rolled back"
    );
    assert_eq!(pulse.module_version("adds_field").as_deref(), Some("1.0.0"));
    assert_eq!(
        pulse.strings("SELECT name FROM u_note ORDER BY id"),
        ["one two three", "four"]
    );
}

fn destructive_upgrade(backend: Backend) {
    let mut pulse = adds_field_v1_with_notes(backend);
    pulse.set_addons_paths(&["tests/fixtures/upgrade/v2_drops"]);
    let plan = pulse.ok(&["plan", "upgrade", "adds_field"]);
    assert!(
        plan.contains("drop column u_note.name (adds_field): 2 value(s)"),
        "the plan shows the loss: {plan}"
    );
    let out = pulse.run(&["upgrade", "adds_field"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(
            "upgrading 'adds_field' would drop column u_note.name, which holds 2 value(s)"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(pulse.columns("u_note"), ["id", "name"]);
    assert_eq!(pulse.module_version("adds_field").as_deref(), Some("1.0.0"));
}

#[test]
fn a_second_lifecycle_operation_is_refused_while_one_runs() {
    build_addons();
    let pulse = Pulse::on(Backend::Postgres, &[FIXTURES]);
    let mut child = pulse.spawn(&["install", "slow_post_init"]);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while !lines
        .next()
        .expect("pulse exited early")
        .unwrap()
        .contains("slow_post_init: spinning")
    {}
    let out = pulse.run(&["install", "base_b"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("another install, upgrade or uninstall is running on this database"),
        "{}",
        text(&out)
    );
}

fn marks_apply_and_reset(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    let marked = pulse.ok(&["mark", "install", "needs_b_and_c"]);
    assert!(
        marked.contains("marked base_b (dependency of needs_b_and_c)"),
        "{marked}"
    );
    for module in ["base_b", "base_c", "needs_b_and_c"] {
        assert_eq!(pulse.module_state(module).as_deref(), Some("to install"));
    }
    assert!(!pulse.has_table("a_item"), "marking changes no schema");
    assert!(
        pulse
            .ok(&["apply"])
            .contains("applied: base_b, base_c, needs_b_and_c")
    );
    assert_eq!(
        pulse.module_state("needs_b_and_c").as_deref(),
        Some("installed")
    );
    assert!(pulse.has_table("a_item"));

    // Marks for removal can be cancelled, and the schema never moved.
    pulse.ok(&["mark", "uninstall", "base_b"]);
    assert_eq!(
        pulse.module_state("needs_b_and_c").as_deref(),
        Some("to remove")
    );
    assert!(pulse.ok(&["reset"]).contains("reset 2 mark(s)"));
    assert_eq!(pulse.module_state("base_b").as_deref(), Some("installed"));
    assert!(pulse.has_table("b_item"));

    // A failing apply leaves the marks pending and nothing else; reset clears them.
    pulse.ok(&["mark", "install", "trap_in_post_init"]);
    let out = pulse.run(&["apply"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("addon 'trap_in_post_init' failed in the post-init hook"),
        "{}",
        text(&out)
    );
    assert!(!pulse.has_table("t_post"));
    assert_eq!(
        pulse.module_state("trap_in_post_init").as_deref(),
        Some("to install")
    );
    pulse.ok(&["reset"]);
    assert_eq!(
        pulse.module_state("trap_in_post_init").as_deref(),
        Some("uninstalled")
    );

    pulse.ok(&["mark", "uninstall", "base_b"]);
    assert!(
        pulse
            .ok(&["apply"])
            .contains("applied: needs_b_and_c, base_b")
    );
    assert!(!pulse.has_table("b_item") && pulse.has_table("c_item"));
    assert!(pulse.ok(&["apply"]).contains("nothing to apply"));
}

fn data_files_follow_the_addon(backend: Backend) {
    build_addons();
    let mut pulse = Pulse::on(backend, &[FIXTURES, "tests/fixtures/data/v1"]);
    pulse.ok(&["install", "with_data"]);
    assert_eq!(
        pulse.strings("SELECT name FROM b_item ORDER BY id"),
        ["Alpha", "Beta"]
    );
    assert_eq!(
        pulse.strings("SELECT b.name FROM d_item d JOIN b_item b ON b.id = d.item_id"),
        ["Alpha"],
        "a reference resolves to the record's id"
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_data WHERE module = 'with_data'"),
        3
    );

    // A user deletes a record that came from the data; the upgrade brings it back.
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        let alpha = rpc
            .call(
                "b.item",
                "search",
                json!([[["name", "=", "Alpha"]]]),
                json!({}),
            )
            .unwrap();
        rpc.call("b.item", "unlink", json!([alpha]), json!({}))
            .unwrap();
    }
    pulse.set_addons_paths(&[FIXTURES, "tests/fixtures/data/v2"]);
    let changed = pulse.ok(&["upgrade", "--changed"]);
    assert!(changed.contains("upgraded: with_data"), "{changed}");
    assert_eq!(
        pulse.strings("SELECT name FROM b_item ORDER BY id"),
        ["Alpha 2", "Gamma"],
        "rewritten, dropped and added with the data"
    );
    assert!(
        pulse
            .ok(&["upgrade", "--changed"])
            .contains("nothing to upgrade")
    );

    pulse.ok(&["uninstall", "with_data"]);
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM b_item"),
        0,
        "its records in base_b's table go with it"
    );
    assert!(pulse.has_table("b_item") && !pulse.has_table("d_item"));
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_data WHERE module <> 'base'"),
        0
    );
}

fn bad_data_file(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    let out = pulse.run(&["install", "bad_data"]);
    assert!(!out.status.success());
    let message = text(&out);
    assert!(
        message.contains("addon 'bad_data': data file "),
        "{message}"
    );
    assert!(
        message.contains(
            "records.toml: record 'broken' (b.item): Invalid field 'colour' on model 'b.item'"
        ),
        "{message}"
    );
    assert_untouched(&pulse, &["b_item", "d_item"], &["bad_data", "base_b"]);
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_data WHERE module <> 'base'"),
        0
    );
}

/// Calls `b.item.label` on every item, in id order.
fn labels(pulse: &Pulse) -> serde_json::Value {
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    let ids = rpc
        .call("b.item", "search", json!([[]]), json!({"order": "id"}))
        .unwrap();
    rpc.call("b.item", "label", json!([ids]), json!({}))
        .unwrap()
}

fn override_with_super(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[FIXTURES]);
    pulse.ok(&["install", "base_b"]);
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        rpc.call("b.item", "create", json!([{"name": "pen"}]), json!({}))
            .unwrap();
    }
    assert_eq!(labels(&pulse), json!(["Item: pen"]));

    pulse.ok(&["install", "extends_other"]);
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        // The extender's create override fills its field, then the ORM's create runs.
        let cup = rpc
            .call("b.item", "create", json!([{"name": "cup"}]), json!({}))
            .unwrap();
        let both = rpc
            .call(
                "b.item",
                "create",
                json!([[{"name": "mug"}, {"name": "jar", "priority": 7}]]),
                json!({}),
            )
            .unwrap();
        assert_eq!(both.as_array().unwrap().len(), 2);
        let read = rpc
            .call("b.item", "read", json!([[cup], ["priority"]]), json!({}))
            .unwrap();
        assert_eq!(read, json!([{"id": cup, "priority": 3}]));
    }
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        let refused = rpc
            .call(
                "b.item",
                "rename_despite_errors",
                json!([[1, 2], "pencil"]),
                json!({}),
            )
            .unwrap();
        assert_eq!(refused, json!(true), "the bad write was refused");
        let read = rpc
            .call("b.item", "read", json!([[1], ["name"]]), json!({}))
            .unwrap();
        assert_eq!(
            read,
            json!([{"id": 1, "name": "pencil"}]),
            "the good write before it was kept"
        );
        rpc.call("b.item", "write", json!([[1], {"name": "pen"}]), json!({}))
            .unwrap();
    }
    // Both behaviours: base_b's label, through super, with the extender's suffix.
    assert_eq!(
        labels(&pulse),
        json!([
            "Item: pen (priority 0)",
            "Item: cup (priority 3)",
            "Item: mug (priority 3)",
            "Item: jar (priority 7)"
        ])
    );

    pulse.ok(&["uninstall", "extends_other"]);
    assert_eq!(
        labels(&pulse),
        json!(["Item: pen", "Item: cup", "Item: mug", "Item: jar"])
    );
    assert_eq!(pulse.columns("b_item"), ["id", "name"]);
}

/// What a committed plan logs about its work: how many registries and
/// snapshots it built.
fn builds(pulse: &Pulse, args: &[&str]) -> (u64, u64) {
    let mut full = vec!["--log-format", "json"];
    full.extend(args);
    let out = pulse.run(&full);
    assert!(
        out.status.success(),
        "pulse {args:?} failed:\n{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fields = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|line| line["fields"].clone())
        .find(|fields| fields["message"] == "plan committed")
        .unwrap_or_else(|| panic!("no 'plan committed' log line:\n{stderr}"));
    (
        fields["registry_builds"].as_u64().unwrap(),
        fields["snapshot_builds"].as_u64().unwrap(),
    )
}

/// A plan builds the registry once to start and once per change to the
/// installed modules: one per install or uninstall step, two per upgrade
/// step (old and new fields together for the migrate hook, then the new
/// ones alone), and the snapshot at most as often. The host serves the
/// plan's last snapshot, so nothing is rebuilt to reload it either.
#[test]
fn a_plan_builds_the_registry_once_per_change() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &[FIXTURES]);
    // base_b, base_c, needs_b_and_c: three changes.
    assert_eq!(builds(&pulse, &["install", "needs_b_and_c"]), (4, 4));
    // needs_b_and_c, then base_b: two changes, and a snapshot to publish.
    assert_eq!(builds(&pulse, &["uninstall", "base_b"]), (3, 3));

    let mut pulse = Pulse::on(Backend::Sqlite, &["tests/fixtures/upgrade/v1"]);
    assert_eq!(builds(&pulse, &["install", "adds_field"]), (2, 2));
    pulse.set_addons_paths(&["tests/fixtures/upgrade/v2"]);
    // The migrate hook's snapshot, then the one of the new fields alone.
    assert_eq!(builds(&pulse, &["upgrade", "adds_field"]), (3, 2));
}
