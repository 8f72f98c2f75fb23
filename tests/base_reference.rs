//! Odoo's base reference data and the models describing the others, as an
//! Odoo 19 script reads them over XML-RPC (Python's `xmlrpc.client`) on a
//! brand-new database: every addon of the addons paths listed in Apps as
//! `uninstalled` with its metadata before any `update_list`; countries and
//! US states by their external ids; en_US active and the other languages
//! archived; currency rates; `ir.model` and `ir.model.fields` with Odoo's
//! columns for an addon's model; `check_object_reference`, its errors and
//! hostile arguments. On SQLite and PostgreSQL.

use pulse_testing::{Backend, Pulse, build_addons};
use serde_json::Value;

on_both! {
    base_reference_data_over_xmlrpc => reference_data;
}

fn reference_data(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["addons", "tests/fixtures/addons"]);
    let server = pulse.serve();
    let root = pulse_testing::root();
    let addons = root.join("addons");
    let fixtures = root.join("tests/fixtures/addons");
    let output = pulse_testing::python_script(
        "base_reference.py",
        &[
            &server.url,
            &pulse.db_name,
            "admin",
            "admin",
            &addons.to_string_lossy(),
            &fixtures.to_string_lossy(),
        ],
    );
    let mut lines = output.lines();
    assert_eq!(lines.next(), Some("ok"), "{output}");
    let summary: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(summary["countries"], 250, "{summary}");
    assert_eq!(summary["us_states"], 62, "{summary}");
    assert_eq!(summary["active_langs"], 1, "{summary}");
    assert_eq!(summary["langs"], 13, "{summary}");
    assert!(summary["apps"].as_u64().unwrap() > 5, "{summary}");
    assert_eq!(
        summary["agency_doc_fields"],
        serde_json::json!(["agency_id", "amount", "name"]),
        "{summary}"
    );
}
