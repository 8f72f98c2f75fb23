//! Published Odoo client libraries, installed from PyPI unmodified and
//! pinned (`tests/python/clients/requirements.txt`), drive Pulse as they
//! drive Odoo 19: OdooRPC over JSON-RPC (`/jsonrpc`, `object.execute`,
//! `execute_kw`) and odoo-client-lib over XML-RPC (the legacy `/xmlrpc/`). Each runs
//! the same integration: log in, partners, archived records with
//! `active_test`, many2many and one2many commands, `formatted_read_group`
//! and `read_group`, external ids, and an error of each kind. On SQLite
//! and PostgreSQL.

use std::collections::BTreeMap;

use pulse_testing::{Backend, Pulse};
use serde_json::{Value, json};

on_both! {
    odoorpc_runs_an_odoo_19_integration_unchanged => with_odoorpc;
    odoo_client_lib_runs_an_odoo_19_integration_unchanged => with_odoolib;
}

fn with_odoorpc(backend: Backend) {
    run("with_odoorpc.py", backend, |kind, message| {
        // OdooRPC hands over JSON-RPC's `error.data`: the exception's
        // Python name and its message.
        let name = match kind {
            "ValueError" | "AttributeError" => format!("builtins.{kind}"),
            _ => format!("odoo.exceptions.{kind}"),
        };
        format!("{name}: {message}")
    });
}

fn with_odoolib(backend: Backend) {
    run("with_odoolib.py", backend, |kind, message| {
        // odoo-client-lib posts to the legacy `/xmlrpc/<service>`, whose
        // faults carry Odoo's text codes (`warning -- Kind` and the message;
        // the message itself, and `Kind: message` as the text, for the
        // rest). The script prints `code: text`.
        match kind {
            "AccessError" | "MissingError" => format!("warning -- {kind}\n\n{message}: "),
            "ValidationError" | "UserError" => format!("warning -- UserError\n\n{message}: "),
            _ => format!("{message}: {kind}: {message}"),
        }
    });
}

/// Runs the integration `script` against a new database and checks every
/// step; `error(kind, message)` is how the library shows an Odoo error.
fn run(script: &str, backend: Backend, error: impl Fn(&str, &str) -> String) {
    let pulse = Pulse::on(backend, &[]);
    let server = pulse.serve();
    let output = pulse_testing::python_client_script(
        &format!("clients/{script}"),
        &[&server.url, &pulse.db_name],
    );
    let steps: BTreeMap<String, Value> = output
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            let (key, value) = value.as_object().unwrap().iter().next().unwrap();
            (key.clone(), value.clone())
        })
        .collect();
    let step = |key: &str| {
        steps
            .get(key)
            .unwrap_or_else(|| panic!("{script} printed no step {key}:\n{output}"))
            .clone()
    };
    let one = |sql: &str| pulse.strings(sql).pop().unwrap_or_default();
    let admin: i64 = one("SELECT CAST(id AS TEXT) FROM res_users WHERE login = 'admin'")
        .parse()
        .unwrap();
    let admin_name = one(
        "SELECT p.name FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.login = 'admin'",
    );
    let main_partner = one(
        "SELECT p.name FROM res_partner p JOIN ir_model_data d ON d.res_id = p.id AND d.model = 'res.partner' WHERE d.module = 'base' AND d.name = 'main_partner'",
    );
    let acme: i64 = one("SELECT CAST(id AS TEXT) FROM res_partner WHERE name = 'Acme'")
        .parse()
        .unwrap();

    // Logged in, with the user's context.
    assert!(
        step("version").as_str().unwrap().starts_with("19.0"),
        "{output}"
    );
    assert_eq!(step("uid"), json!(admin));
    let context = step("context");
    assert_eq!(
        (&context["lang"], &context["uid"]),
        (&json!("en_US"), &json!(admin)),
        "{context}"
    );
    assert_eq!(step("user"), json!(admin_name));

    // Partners.
    assert_eq!(
        step("contact"),
        json!({"display_name": "Acme, Jane", "commercial_partner": true, "parent": "Acme",
               "email": "jane@acme.test", "type": "contact"})
    );
    assert_eq!(step("written"), json!("+1 555 0100"));
    assert_eq!(step("search"), json!(true));
    assert_eq!(step("name_search"), json!(["Acme, Jane"]));
    assert_eq!(step("unlinked"), json!([]));

    // Archived records.
    assert_eq!(step("archived_hidden"), json!([]));
    assert_eq!(step("archived_with_active_test_false"), json!(true));
    assert_eq!(step("archived_read_by_id"), json!(false));
    assert_eq!(step("unarchived"), json!(true));

    // x2many commands.
    for key in ["m2m_set", "m2m_unlink", "m2m_link", "o2m_read"] {
        assert_eq!(step(key), json!(true), "{key}: {output}");
    }
    assert_eq!(step("m2m_clear"), json!([]));
    assert_eq!(
        step("o2m_create_update"),
        json!([["Bob", false], ["Jane", "CFO"]])
    );
    assert_eq!(step("o2m_delete"), json!([]));

    // Groupings, in whatever order the library got them.
    let sorted = |value: Value| {
        let mut rows = value.as_array().unwrap().clone();
        rows.sort_by_key(|row| row.to_string());
        Value::Array(rows)
    };
    let expected = sorted(json!([[[acme, "Acme"], 1, 3], [false, 1, 4]]));
    assert_eq!(sorted(step("formatted_read_group")), expected, "{output}");
    assert_eq!(sorted(step("read_group")), expected, "{output}");

    // External ids.
    assert_eq!(
        step("ref_main_partner"),
        json!(["res.partner", main_partner])
    );
    assert_eq!(step("ref_admin"), json!(true));
    assert_eq!(step("ref_group_user"), json!("res.groups"));
    assert_eq!(
        step("ref_unknown"),
        json!(error(
            "ValueError",
            "External ID not found in the system: base.no_such_thing"
        ))
    );

    // An error of each kind, as the library shows it.
    let errors = [
        ("ValidationError", "You cannot create recursive Partner hierarchies.".to_string()),
        (
            "MissingError",
            "Record does not exist or has been deleted.\n(Records: res.partner[999999])".to_string(),
        ),
        ("ValueError", "Invalid field 'no_such_field' on model 'res.partner'".to_string()),
        (
            "UserError",
            "Module records change only through the lifecycle (button_install, button_upgrade, button_uninstall, update_list), not through write".to_string(),
        ),
        (
            "AttributeError",
            "The method 'no_such_method' does not exist on the model 'res.partner'".to_string(),
        ),
    ];
    for (kind, message) in errors {
        assert_eq!(step(kind), json!(error(kind, &message)), "{kind}: {output}");
    }
    // Odoo names the groups that could; their names are Pulse's own.
    let refused = step("AccessError");
    let expected = error(
        "AccessError",
        "You are not allowed to create 'User' (res.users) records.",
    );
    let expected = expected.trim_end_matches(": ");
    assert!(refused.as_str().unwrap().starts_with(expected), "{refused}");
    let denied = step("AccessDenied");
    assert!(
        ["Wrong login ID or password", "Authentication failure"]
            .contains(&denied.as_str().unwrap()),
        "{denied}"
    );
    // Nothing the refused calls sent was written.
    assert_eq!(step("unchanged"), json!(2), "{output}");
}
