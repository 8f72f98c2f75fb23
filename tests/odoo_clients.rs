//! Odoo's external API as existing clients use it: Python's standard
//! `xmlrpc.client` drives the whole Apps lifecycle and the documented
//! `search_read` snippet; every error kind reaches XML-RPC and JSON-RPC
//! clients as Odoo shapes it (golden file); JSON-2 with a bearer API key.
//! On SQLite and PostgreSQL.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, root};
use serde_json::{Value, json};

on_both! {
    python_drives_the_lifecycle_over_xmlrpc => lifecycle_over_xmlrpc;
    every_error_kind_reaches_clients_as_odoo_sends_it => rpc_errors;
    json2_takes_a_bearer_api_key_and_named_arguments => json2;
}

fn python(script: &str, args: &[&str]) -> String {
    pulse_testing::python_script(script, args)
}

/// The step lines the lifecycle script printed, by their key.
fn steps(output: &str) -> Vec<(String, Value)> {
    output
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            let (key, value) = value.as_object().unwrap().iter().next().unwrap();
            (key.clone(), value.clone())
        })
        .collect()
}

/// What an install leaves, to compare the RPC path with the CLI's.
fn footprint(pulse: &Pulse) -> Value {
    json!({
        "state": pulse.module_state("agency_lab"),
        "version": pulse.module_version("agency_lab"),
        "agency_doc": pulse.has_table("agency_doc").then(|| pulse.columns("agency_doc")),
        "res_users": pulse.columns("res_users"),
        "ledger": pulse.strings("SELECT model || '.' || name FROM ir_model_fields WHERE module = 'agency_lab' ORDER BY 1"),
        "data": pulse.strings("SELECT name FROM ir_model_data WHERE module = 'agency_lab' ORDER BY 1"),
    })
}

fn lifecycle_over_xmlrpc(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    let server = pulse.serve();
    let output = python(
        "lifecycle_over_xmlrpc.py",
        &[&server.url, &pulse.db_name, "admin", "admin"],
    );
    let steps = steps(&output);
    let get = |key: &str| -> Vec<&Value> {
        steps
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect()
    };
    assert_eq!(get("version")[0]["server_version"], "19.0", "{output}");
    assert_eq!(get("version")[0]["server_version_info"][0], 19);
    assert_eq!(get("uid")[0], &json!(1));
    assert_eq!(get("found")[0], &json!(1));
    assert_eq!(get("button_install")[0]["res_model"], "base.module.upgrade");
    assert_eq!(get("marked")[0]["state"], "to install");
    assert_eq!(get("installed")[0]["state"], "installed");
    assert_eq!(get("installed")[0]["latest_version"], "1.0.0");
    assert_eq!(get("module")[0]["installed_version"], "1.0.0");
    assert_eq!(get("module")[0]["depends"], json!([]));
    assert_eq!(
        get("ir_model")[0],
        &json!([{"id": get("ir_model")[0][0]["id"], "model": "agency.doc", "name": "Agency Document", "module": "agency_lab"}])
    );
    assert_eq!(
        get("ir_model_data")[0],
        &json!(13),
        "the records of its data files: five of security, eight menus and actions"
    );
    assert_eq!(get("ir_model_fields")[0][0]["name"], "agency_id");
    assert_eq!(
        get("ledger_write")[0],
        &json!(4),
        "the ledger is read-only: an AccessError"
    );
    assert_eq!(
        get("records")[0],
        &json!([{"id": 1, "code": "A", "name": "Agency A", "tin": "111-222"}]),
        "the documented snippet works unchanged"
    );
    assert_eq!(get("marked_upgrade")[0]["state"], "to upgrade");
    assert_eq!(get("upgraded")[0]["state"], "installed");
    assert_eq!(get("marked_uninstall")[0]["state"], "to remove");
    assert_eq!(get("uninstalled")[0]["state"], "uninstalled");
    assert_eq!(get("uninstalled")[0]["latest_version"], false);
    let after_rpc = footprint(&pulse);
    drop(server);

    // The same through the CLI, on a fresh database, leaves the same.
    let cli = Pulse::on(backend, &["tests/fixtures/addons"]);
    cli.ok(&["install", "agency_lab"]);
    cli.ok(&["upgrade", "agency_lab"]);
    cli.ok(&["uninstall", "agency_lab"]);
    assert_eq!(footprint(&cli), after_rpc);
    assert!(!pulse.has_table("agency_doc"));
    assert!(
        !pulse
            .columns("res_users")
            .contains(&"agency_id".to_string())
    );

    // And an installed state compares too.
    let rpc_installed = Pulse::on(backend, &["tests/fixtures/addons"]);
    let server = rpc_installed.serve_in_process();
    let mut admin = Rpc::new(&server);
    admin.login(&rpc_installed.db_name);
    admin
        .call("ir.module.module", "update_list", json!([]), json!({}))
        .unwrap();
    let ids = admin
        .call(
            "ir.module.module",
            "search",
            json!([[["name", "=", "agency_lab"]]]),
            json!({}),
        )
        .unwrap();
    let action = admin
        .call(
            "ir.module.module",
            "button_immediate_install",
            json!([ids]),
            json!({}),
        )
        .unwrap();
    assert_eq!(action["tag"], "reload");
    let cli_installed = Pulse::on(backend, &["tests/fixtures/addons"]);
    cli_installed.ok(&["install", "agency_lab"]);
    assert_eq!(footprint(&rpc_installed), footprint(&cli_installed));
    assert_eq!(footprint(&cli_installed)["state"], "installed");
}

fn rpc_errors(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "agency_lab"]);
    let server = pulse.serve();
    let mut admin = pulse.admin(&server);
    let call = |rpc: &mut Rpc, model: &str, method: &str, args: Value| {
        rpc.call(model, method, args, json!({}))
            .unwrap_or_else(|e| panic!("{model}.{method}: {e}"))
    };
    let a = call(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "A", "name": "A"}]),
    );
    let b = call(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "B", "name": "B"}]),
    );
    let secret = call(
        &mut admin,
        "agency.doc",
        "create",
        json!([{"name": "B-1", "agency_id": b}]),
    );
    let group = call(
        &mut admin,
        "res.groups",
        "search",
        json!([[["name", "=", "Agency User"]]]),
    );
    call(
        &mut admin,
        "res.users",
        "create",
        json!([{"login": "ana", "name": "Ana", "password": "ana-pw", "agency_id": a, "group_ids": [[6, 0, group]]}]),
    );
    let output = python(
        "rpc_errors.py",
        &[&server.url, &pulse.db_name, &secret.to_string()],
    );
    let golden = root().join("tests/golden/rpc_errors.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &output).unwrap();
    }
    let expected =
        std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(output, expected, "{output}");
}

fn json2(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "agency_lab"]);
    let out = pulse.ok(&["apikey", "admin", "json2 test"]);
    let key = out.lines().last().unwrap().trim().to_string();
    let server = pulse.serve_in_process();
    let post = |path: &str, auth: Option<&str>, body: Value| {
        let bearer = auth.map(|k| format!("bearer {k}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        let r = server
            .request("POST", path, &headers, &body.to_string())
            .unwrap();
        (
            r.status,
            serde_json::from_str::<Value>(&r.body).unwrap_or(Value::String(r.body.clone())),
        )
    };
    let (status, id) = post(
        "/json/2/finance.ssc.agency/create",
        Some(&key),
        json!({"vals_list": [{"code": "A", "name": "Agency A"}]}),
    );
    assert_eq!(status, 200, "{id}");
    let (status, found) = post(
        "/json/2/finance.ssc.agency/search_read",
        Some(&key),
        json!({"domain": [["code", "=", "A"]], "fields": ["name"]}),
    );
    assert_eq!(
        (status, found),
        (200, json!([{"id": 1, "name": "Agency A"}]))
    );
    let (status, read) = post(
        "/json/2/finance.ssc.agency/read",
        Some(&key),
        json!({"ids": [1], "fields": ["code"]}),
    );
    assert_eq!((status, read), (200, json!([{"id": 1, "code": "A"}])));
    // Errors are HTTP statuses with Odoo's body.
    let (status, e) = post(
        "/json/2/finance.ssc.agency/search",
        Some("pulse_wrong"),
        json!({}),
    );
    assert_eq!(
        (status, e["name"].as_str()),
        (401, Some("werkzeug.exceptions.Unauthorized"))
    );
    let (status, _) = post("/json/2/finance.ssc.agency/search", None, json!({}));
    assert_eq!(status, 401);
    let (status, e) = post("/json/2/no.model/search", Some(&key), json!({}));
    assert_eq!(status, 404, "{e}");
    let (status, e) = post(
        "/json/2/finance.ssc.agency/create",
        Some(&key),
        json!({"vals_list": [{"code": "Z"}]}),
    );
    assert_eq!(
        (status, e["name"].as_str()),
        (422, Some("odoo.exceptions.ValidationError")),
        "{e}"
    );
    let (status, _) = post(
        "/json/2/finance.ssc.agency/search",
        Some(&key),
        json!({"ids": [1]}),
    );
    assert_eq!(status, 422);
    let (status, e) = post(
        "/json/2/finance.ssc.agency/write",
        Some(&key),
        json!({"ids": [999], "vals": {"name": "x"}}),
    );
    assert_eq!(
        (status, e["name"].as_str()),
        (404, Some("odoo.exceptions.MissingError")),
        "{e}"
    );
}

#[test]
fn session_version_and_db_services_answer_as_odoo() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    let version = rpc.post("/web/webclient/version_info", json!({}));
    assert_eq!(
        version["result"]["server_version_info"],
        json!([19, 0, 0, "final", 0, ""])
    );
    // Without a session: Odoo's "Session Expired".
    let info = rpc.post("/web/session/get_session_info", json!({}));
    assert_eq!(info["error"]["code"], 100, "{info}");
    rpc.login(&pulse.db_name);
    let info = rpc.post("/web/session/get_session_info", json!({}));
    assert_eq!(info["result"]["uid"], 1, "{info}");
    assert_eq!(info["result"]["db"], pulse.db_name.as_str());
    let service = |rpc: &mut Rpc, service: &str, method: &str, args: Value| {
        rpc.post(
            "/jsonrpc",
            json!({"service": service, "method": method, "args": args}),
        )
    };
    assert_eq!(
        service(&mut rpc, "db", "list", json!([]))["result"],
        json!([pulse.db_name])
    );
    assert_eq!(
        service(&mut rpc, "db", "server_version", json!([]))["result"],
        "19.0"
    );
    assert_eq!(
        service(&mut rpc, "db", "list_lang", json!([]))["result"][0][0],
        "en_US"
    );
    assert_eq!(
        service(&mut rpc, "db", "db_exist", json!(["nope"]))["result"],
        false
    );
    let drop = service(&mut rpc, "db", "drop", json!(["admin", pulse.db_name]));
    assert_eq!(
        drop["error"]["data"]["name"], "odoo.exceptions.AccessDenied",
        "{drop}"
    );
    assert_eq!(
        service(
            &mut rpc,
            "common",
            "login",
            json!([pulse.db_name, "admin", "wrong"])
        )["result"],
        false,
        "bad credentials are False, not an error"
    );
    let unknown = service(&mut rpc, "common", "no_such", json!([]));
    assert!(
        unknown["error"]["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Method not found: no_such")),
        "{unknown}"
    );
    let other_db = service(
        &mut rpc,
        "common",
        "authenticate",
        json!(["other", "admin", "admin", {}]),
    );
    assert_eq!(
        other_db["error"]["data"]["name"], "odoo.exceptions.AccessError",
        "{other_db}"
    );
    assert!(pulse.has_table("res_users"), "nothing was dropped");
}
