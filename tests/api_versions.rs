//! Versions of the WIT contract side by side: the released
//! `pulse:addon@0.1.0` stays frozen (a digest of its parsed form) and its
//! compiled fixture keeps running beside 0.2 addons on both engines; a
//! component of a version the host does not know, or whose manifest asks
//! for another version than it is built against, is refused at install;
//! a 0.2 method runs with the context and identity of its caller.

use std::path::Path;

use pulse_runtime::ApiVersion;
use pulse_testing::http::request;
use pulse_testing::{
    Backend, FrozenWit, Pulse, build_addons, check_frozen, logged_in, ok, root, text, wit_digest,
};
use pulse_testing::{create_user, groups_named};
use serde_json::{Value, json};

/// The released versions and the digests of their normalised WIT
/// (`pulse_testing::wit_digest`), recorded when each was released. A
/// released version never changes: a new capability goes into the
/// current version, or a new one.
const FROZEN: [(&str, &str); 1] = [(
    "0.1.0",
    "90777ebc3ff64a6233467bca84f6a0963e7fdb0d9bafbb697463f66c47c2e40f",
)];

#[test]
fn released_wit_versions_are_unchanged() {
    for (version, digest) in FROZEN {
        let dir = root().join("wit").join(version);
        let package = check_frozen(&dir, digest).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(package, format!("pulse:addon@{version}"));
    }
}

#[test]
fn every_version_the_host_runs_has_its_wit_and_all_but_the_current_are_frozen() {
    for version in ApiVersion::ALL {
        let dir = root().join("wit").join(version.as_str());
        let (package, _) = wit_digest(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(package, format!("pulse:addon@{version}"));
        let frozen = FROZEN.iter().any(|(v, _)| *v == version.as_str());
        assert_eq!(
            frozen,
            version != ApiVersion::CURRENT,
            "pulse:addon@{version}: every released version, and only those, has a recorded digest"
        );
    }
    let folders = std::fs::read_dir(root().join("wit")).unwrap().count();
    assert_eq!(
        folders,
        ApiVersion::ALL.len(),
        "a WIT folder the host does not run"
    );
}

#[test]
fn changing_one_line_of_a_frozen_wit_fails_the_check() {
    let (version, digest) = FROZEN[0];
    let copy = tempfile::tempdir().unwrap();
    let file = "pulse-addon.wit";
    let text = std::fs::read_to_string(root().join("wit").join(version).join(file)).unwrap();
    let line = "search-count: func(model: string, domain: string) -> result<u64, error>;";
    assert!(text.contains(line), "the line this test changes is gone");
    std::fs::write(
        copy.path().join(file),
        text.replace(line, &line.replace("u64", "u32")),
    )
    .unwrap();
    // Layout and comments are not the contract: they may change.
    let reflowed = tempfile::tempdir().unwrap();
    let comments = text.replace("/// ", "///   ").replace(";\n", " ;\n");
    std::fs::write(reflowed.path().join(file), comments).unwrap();
    check_frozen(reflowed.path(), digest).unwrap_or_else(|e| panic!("{e}"));

    let failure = check_frozen(copy.path(), digest).expect_err("a changed signature is caught");
    assert!(matches!(failure, FrozenWit::Changed { .. }), "{failure}");
    let message = failure.to_string();
    assert!(
        message.contains(&format!("pulse:addon@{version}"))
            && message.contains(&copy.path().display().to_string()),
        "the failure names the package and its folder: {message}"
    );
}

on_both! {
    a_v0_1_component_runs_beside_v0_2_addons => v0_1_beside_v0_2;
    a_method_runs_with_its_callers_context_and_identity => context_and_identity;
}

fn v0_1_beside_v0_2(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    // route_lab is built from the tree, so against the current version.
    pulse.ok(&["install", "route_lab", "built_against_v0_1"]);
    assert_eq!(
        pulse.module_state("built_against_v0_1").as_deref(),
        Some("installed")
    );
    assert!(pulse.has_table("legacy_note"));
    {
        let server = pulse.serve();
        let mut admin = pulse.admin(&server);
        let ids = ok(
            &mut admin,
            "legacy.note",
            "create",
            json!([[{"name": "first"}, {"name": "second"}, {"name": "third"}]]),
        );
        let first_two = json!([ids[0], ids[1]]);
        let done = ok(&mut admin, "legacy.note", "action_done", json!([first_two]));
        assert_eq!(done, json!({"names": ["first", "second"], "open": 1}));
        let read = ok(
            &mut admin,
            "legacy.note",
            "search_read",
            json!([[["done", "=", true]], ["name"]]),
        );
        assert_eq!(read.as_array().map(Vec::len), Some(2), "{read}");

        // Its route, and a 0.2 addon's route, in the same host.
        let cookie = admin.cookie().expect("a session").to_string();
        let url = format!("{}/built_against_v0_1/notes", server.url);
        let added = request(
            "POST",
            &url,
            &[("Cookie", &cookie)],
            r#"{"name": "fourth"}"#,
        )
        .expect("request sent");
        assert_eq!(added.status, 201, "{}", added.body);
        let added: Value = serde_json::from_str(&added.body).unwrap();
        assert_eq!(
            added["names"],
            json!(["first", "second", "third", "fourth"])
        );
        let hello = request("GET", &format!("{}/route_lab/hello", server.url), &[], "")
            .expect("request sent");
        assert_eq!(hello.status, 200, "{}", hello.body);
    }
    pulse.ok(&["uninstall", "built_against_v0_1"]);
    assert!(!pulse.has_table("legacy_note"));
    assert_eq!(
        pulse.module_state("route_lab").as_deref(),
        Some("installed")
    );
}

/// A component importing only `interface` (one function, `ping`), and no
/// code: enough for the host to read the version it is built against.
fn component_importing(interface: &str) -> Vec<u8> {
    use wasm_encoder::{
        Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection, InstanceType,
        PrimitiveValType,
    };
    let mut instance = InstanceType::new();
    instance
        .ty()
        .function()
        .params(std::iter::empty::<(&str, PrimitiveValType)>())
        .result(None);
    instance.export("ping", ComponentTypeRef::Func(0));
    let mut types = ComponentTypeSection::new();
    types.instance(&instance);
    let mut imports = ComponentImportSection::new();
    imports.import(interface, ComponentTypeRef::Instance(0));
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}

/// An addon folder `name` in `dir` holding `component` and a manifest
/// with `extra` lines.
fn prebuilt_addon(dir: &Path, name: &str, component: &[u8], extra: &str) {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(format!("{name}.wasm")), component).unwrap();
    std::fs::write(
        folder.join("addon.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\n{extra}"),
    )
    .unwrap();
}

#[test]
fn a_component_of_a_version_the_host_does_not_know_is_refused_at_install() {
    let addons = tempfile::tempdir().unwrap();
    prebuilt_addon(
        addons.path(),
        "from_the_future",
        &component_importing("pulse:addon/orm@9.0.0"),
        "",
    );
    let pulse = Pulse::on(Backend::Sqlite, &[addons.path().to_str().unwrap()]);
    let out = pulse.run(&["install", "from_the_future"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("from_the_future.wasm")
            && said.contains("pulse:addon@9.0.0")
            && said.contains("0.1.0, 0.2.0"),
        "the refusal names the component, its version and the versions this host runs: {said}"
    );
    assert_ne!(
        pulse.module_state("from_the_future").as_deref(),
        Some("installed")
    );
}

#[test]
fn the_manifests_api_requirement_is_checked_against_the_component() {
    let addons = tempfile::tempdir().unwrap();
    let v0_1 = root().join("tests/fixtures/addons/built_against_v0_1/built_against_v0_1.wasm");
    let component = std::fs::read(v0_1).unwrap();
    prebuilt_addon(addons.path(), "claims_v0_2", &component, "api = \"^0.2\"\n");
    let pulse = Pulse::on(Backend::Sqlite, &[addons.path().to_str().unwrap()]);
    let out = pulse.run(&["install", "claims_v0_2"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("requires pulse:addon ^0.2")
            && said.contains("built against pulse:addon@0.1.0"),
        "the refusal names both versions: {said}"
    );
}

fn context_and_identity(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "reads_its_context"]);
    let server = pulse.serve();
    let mut admin = pulse.admin(&server);

    // The context an RPC client passes reaches the method, typed keys
    // and free ones alike.
    let context = json!({
        "lang": "fr_FR", "tz": "Europe/Brussels", "active_test": false,
        "allowed_company_ids": [1], "default_kind": "a",
    });
    let seen = admin
        .call(
            "context.probe",
            "context_seen",
            json!([[]]),
            json!({"context": context}),
        )
        .expect("context_seen answers");
    assert_eq!(
        seen,
        json!({"lang": "fr_FR", "tz": "Europe/Brussels", "active_test": false,
               "company_id": 1, "extra": {"default_kind": "a"}})
    );
    // No context: nothing set.
    let none = ok(&mut admin, "context.probe", "context_seen", json!([[]]));
    assert_eq!(none["lang"], Value::Null);
    // A method passes a changed context on to the methods it calls.
    let passed = admin
        .call(
            "context.probe",
            "context_passed_on",
            json!([[], "de_DE"]),
            json!({"context": {"lang": "fr_FR", "tz": "Europe/Brussels"}}),
        )
        .expect("context_passed_on answers");
    assert_eq!(passed["lang"], "de_DE");
    assert_eq!(passed["tz"], "Europe/Brussels");

    // search_read, read_group and name_search from the addon.
    ok(
        &mut admin,
        "context.probe",
        "create",
        json!([[
            {"name": "alpha", "kind": "a", "amount": 1.5},
            {"name": "beta", "kind": "b", "amount": 2.0},
            {"name": "alphabet", "kind": "a", "amount": 3.0},
        ]]),
    );
    let tour = ok(
        &mut admin,
        "context.probe",
        "orm_tour",
        json!([[], "alpha"]),
    );
    let names: Vec<&str> = tour["search_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "alphabet", "beta"], "{tour}");
    assert_eq!(
        tour["read_group"],
        json!([["a", 4.5, 2], ["b", 2.0, 1]]),
        "{tour}"
    );
    let named: Vec<&str> = tour["name_search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);
    assert_eq!(named, ["alpha", "alphabet"], "{tour}");
    assert_eq!(tour["typed"], json!(["alpha", "alphabet"]), "{tour}");

    // The caller's identity: an internal user sees its uid and groups.
    let group = groups_named(&mut admin, "Internal User");
    let ana = create_user(&mut admin, "ana", "Ana", Some("Ana-S3cret-pw!7"), &group);
    let mut as_ana = logged_in(&server, &pulse.db_name, "ana", "Ana-S3cret-pw!7");
    let user = ok(&mut as_ana, "context.probe", "user_seen", json!([[]]));
    assert_eq!(user["uid"], ana, "{user}");
    assert_eq!(user["is_internal"], true, "{user}");
    assert!(user["company_id"].as_i64().is_some(), "{user}");
}
