//! Record events through compiled addons, on SQLite and PostgreSQL:
//! `event_lab` keeps an audit log of the create, write and unlink of its
//! items, with the values before and after, whoever makes them and through
//! whichever door (JSON-RPC, XML-RPC, an addon's own ORM calls, another
//! addon's). The handlers run in the operation's transaction: when the
//! operation fails afterwards, or a handler refuses or traps, nothing is
//! kept. A handler that keeps causing its own events is stopped at a
//! bounded depth; a subscription to a model outside the addon's
//! dependency graph is refused at install.

use pulse_testing::{Backend, Pulse, Rpc, Server, build_addons, id, logged_in, ok, refused};
use pulse_testing::{create_user, groups_named};
use serde_json::{Value, json};

use crate::hostile::assert_serving;

on_both! {
    an_audit_log_sees_old_and_new_values_from_every_door => audit_log;
    a_failure_after_the_handler_keeps_nothing => failure_after;
    a_handler_that_refuses_or_traps_fails_the_operation => failing_handlers;
    a_handler_that_keeps_causing_its_own_events_is_stopped => recursion;
    a_subscription_outside_the_dependency_graph_is_refused_at_install => outside_graph;
}

const ANA_PASSWORD: &str = "Ana-S3cret-pw!7";

struct Lab {
    pulse: Pulse,
    server: Server,
    admin: Rpc,
}

/// `event_lab` and `event_writer` installed and served in this process.
fn lab(backend: Backend) -> Lab {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "event_lab", "event_writer"]);
    let server = pulse.serve_in_process();
    let admin = pulse.admin(&server);
    Lab {
        pulse,
        server,
        admin,
    }
}

/// The audit lines, oldest first: `(handler, kind, res_id, fields, old, new, uid)`.
fn audit(admin: &mut Rpc) -> Vec<(String, String, i64, String, Value, Value, i64)> {
    let lines = ok(
        admin,
        "event.audit",
        "search_read",
        json!([
            [],
            [
                "handler",
                "kind",
                "res_id",
                "written_fields",
                "old_values",
                "new_values",
                "uid"
            ]
        ]),
    );
    let parse = |v: &Value| -> Value {
        match v.as_str() {
            Some(text) if !text.is_empty() => serde_json::from_str(text).unwrap(),
            _ => Value::Null,
        }
    };
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["handler"].as_str().unwrap().to_string(),
                l["kind"].as_str().unwrap().to_string(),
                l["res_id"].as_i64().unwrap(),
                l["written_fields"].as_str().unwrap_or_default().to_string(),
                parse(&l["old_values"]),
                parse(&l["new_values"]),
                l["uid"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn count(admin: &mut Rpc, model: &str) -> i64 {
    ok(admin, model, "search_count", json!([[]]))
        .as_i64()
        .unwrap()
}

/// An internal user `ana`, who may change items but not write the audit log.
fn ana(lab: &mut Lab) -> (i64, Rpc) {
    let internal = groups_named(&mut lab.admin, "Internal User");
    let uid = create_user(&mut lab.admin, "ana", "Ana", Some(ANA_PASSWORD), &internal);
    let rpc = logged_in(&lab.server, &lab.pulse.db_name, "ana", ANA_PASSWORD);
    (uid, rpc)
}

fn audit_log(backend: Backend) {
    let mut lab = lab(backend);
    let (ana_uid, mut ana) = ana(&mut lab);
    // Ana may not write the log herself …
    let (kind, _) = refused(
        &mut ana,
        "event.audit",
        "create",
        json!([{"handler": "forged", "kind": "create", "res_id": 1}]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    // … but what she does is logged, by the handler's own rights.
    let item = id(ok(
        &mut ana,
        "event.item",
        "create",
        json!([{"name": "Lamp", "state": "draft", "amount": 50.0}]),
    ));
    let log = audit(&mut lab.admin);
    assert_eq!(log.len(), 1, "{log:?}");
    let (handler, kind, res_id, _, old, new, uid) = &log[0];
    assert_eq!(
        (handler.as_str(), kind.as_str(), *res_id, uid),
        ("audit_items", "create", item, &ana_uid)
    );
    assert_eq!(old, &Value::Null, "a create has no values before");
    assert_eq!(
        (&new["name"], &new["state"], &new["amount"]),
        (&json!("Lamp"), &json!("draft"), &json!(50.0)),
        "a create's values after are the whole record: {new}"
    );

    // A write: the fields written, before and after.
    ok(
        &mut ana,
        "event.item",
        "write",
        json!([[item], {"name": "Desk lamp", "amount": 150.0}]),
    );
    let log = audit(&mut lab.admin);
    assert_eq!(log.len(), 2, "{log:?}");
    let (handler, kind, res_id, fields, old, new, _) = &log[1];
    assert_eq!(
        (handler.as_str(), kind.as_str(), *res_id, fields.as_str()),
        ("audit_items", "write", item, "amount,name")
    );
    assert_eq!(old, &json!({"id": item, "name": "Lamp", "amount": 50.0}));
    assert_eq!(
        new,
        &json!({"id": item, "name": "Desk lamp", "amount": 150.0})
    );

    // The filtered handler sees writes of `state` on items above 100 only.
    let small = id(ok(
        &mut ana,
        "event.item",
        "create",
        json!([{"name": "Pen", "state": "draft", "amount": 2.0}]),
    ));
    ok(
        &mut ana,
        "event.item",
        "write",
        json!([[item, small], {"state": "done"}]),
    );
    let big: Vec<_> = audit(&mut lab.admin)
        .into_iter()
        .filter(|l| l.0 == "big_state")
        .collect();
    assert_eq!(big.len(), 1, "{big:?}");
    assert_eq!(big[0].2, item, "only the item above 100");
    assert_eq!(
        (&big[0].4, &big[0].5),
        (
            &json!({"id": item, "state": "draft"}),
            &json!({"id": item, "state": "done"})
        )
    );
    ok(
        &mut ana,
        "event.item",
        "write",
        json!([[item], {"amount": 300.0}]),
    );
    assert_eq!(
        audit(&mut lab.admin)
            .iter()
            .filter(|l| l.0 == "big_state")
            .count(),
        1,
        "a write of other fields does not concern it"
    );

    // Another door: the addon's own ORM calls, and another addon's.
    ok(
        &mut ana,
        "event.item",
        "rename",
        json!([[small], "Fountain pen"]),
    );
    ok(
        &mut ana,
        "event.item",
        "touch_from_writer",
        json!([[small], "checked"]),
    );
    let log = audit(&mut lab.admin);
    let last_two: Vec<(&str, &Value)> = log[log.len() - 2..]
        .iter()
        .map(|l| (l.1.as_str(), &l.5))
        .collect();
    assert_eq!(
        last_two,
        [
            ("write", &json!({"id": small, "name": "Fountain pen"})),
            ("write", &json!({"id": small, "state": "checked"})),
        ]
    );

    // An unlink: the whole records as they were.
    ok(&mut ana, "event.item", "unlink", json!([[small]]));
    let log = audit(&mut lab.admin);
    let (handler, kind, res_id, _, old, new, _) = log.last().unwrap();
    assert_eq!(
        (handler.as_str(), kind.as_str(), *res_id),
        ("audit_items", "unlink", small)
    );
    assert_eq!(
        (&old["name"], &old["state"], new),
        (&json!("Fountain pen"), &json!("checked"), &Value::Null)
    );
    assert_eq!(lab.pulse.scalar("SELECT COUNT(*) FROM event_item"), 1);
}

fn failure_after(backend: Backend) {
    let mut lab = lab(backend);
    let item = id(ok(
        &mut lab.admin,
        "event.item",
        "create",
        json!([{"name": "Chair", "state": "draft", "amount": 500.0}]),
    ));
    let before = count(&mut lab.admin, "event.audit");
    assert_eq!(before, 1);
    // The method writes (its handlers write audit lines), then fails: the
    // call's one transaction keeps neither the write nor the lines.
    let (kind, message) = refused(
        &mut lab.admin,
        "event.item",
        "set_state_then_fail",
        json!([[item], "done"]),
    );
    assert_eq!(kind, "odoo.exceptions.UserError");
    assert!(message.contains("failing after the write"), "{message}");
    assert_eq!(count(&mut lab.admin, "event.audit"), before);
    let state = ok(
        &mut lab.admin,
        "event.item",
        "read",
        json!([[item], ["state"]]),
    );
    assert_eq!(state[0]["state"], json!("draft"));
    assert_serving(&lab.server);
}

fn failing_handlers(backend: Backend) {
    let mut lab = lab(backend);
    let item = id(ok(
        &mut lab.admin,
        "event.item",
        "create",
        json!([{"name": "Table", "state": "draft"}]),
    ));
    let lines = count(&mut lab.admin, "event.audit");
    // A handler's refusal is the operation's, by its kind.
    let (kind, message) = refused(
        &mut lab.admin,
        "event.item",
        "create",
        json!([{"name": "refuse"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(message.contains("the audit refuses"), "{message}");
    let (kind, _) = refused(
        &mut lab.admin,
        "event.item",
        "write",
        json!([[item], {"name": "refuse"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    // A trap fails the operation and names the addon.
    let (kind, message) = refused(
        &mut lab.admin,
        "event.item",
        "write",
        json!([[item], {"name": "trap", "state": "done"}]),
    );
    assert_eq!(kind, "pulse.exceptions.AddonTrap");
    assert!(message.contains("event_lab"), "{message}");
    // Nothing of the three was kept.
    assert_eq!(count(&mut lab.admin, "event.item"), 1);
    assert_eq!(count(&mut lab.admin, "event.audit"), lines);
    let kept = ok(
        &mut lab.admin,
        "event.item",
        "read",
        json!([[item], ["name", "state"]]),
    );
    assert_eq!(
        (&kept[0]["name"], &kept[0]["state"]),
        (&json!("Table"), &json!("draft"))
    );
    assert_serving(&lab.server);
}

fn recursion(backend: Backend) {
    let mut lab = lab(backend);
    let item = id(ok(
        &mut lab.admin,
        "event.item",
        "create",
        json!([{"name": "Clock", "counter": 0}]),
    ));
    let lines = count(&mut lab.admin, "event.audit");
    let (kind, message) = refused(
        &mut lab.admin,
        "event.item",
        "write",
        json!([[item], {"counter": 1}]),
    );
    assert_eq!(kind, "odoo.exceptions.UserError", "{message}");
    assert!(
        message.contains("Record events nest more than 8 deep")
            && message.contains("event_lab")
            && message.contains("event_lab.count_again (on the write of event.item)"),
        "the error names the depth, the addon and the handler: {message}"
    );
    let kept = ok(
        &mut lab.admin,
        "event.item",
        "read",
        json!([[item], ["counter"]]),
    );
    assert_eq!(kept[0]["counter"], json!(0));
    assert_eq!(count(&mut lab.admin, "event.audit"), lines);
    assert_serving(&lab.server);
}

fn outside_graph(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "event_lab"]);
    let out = pulse.run(&["install", "event_outside_graph"]);
    assert!(!out.status.success(), "the install must fail");
    let said = pulse_testing::text(&out);
    assert!(
        said.contains(
            "addon 'event_outside_graph' may not subscribe 'spy' to the record events of model 'event.item': model 'event.item' belongs to addon 'event_lab', which is not among its dependencies"
        ),
        "{said}"
    );
    assert_ne!(
        pulse.module_state("event_outside_graph").as_deref(),
        Some("installed")
    );
    // The items are created as before, and nobody else heard of them.
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    ok(
        &mut admin,
        "event.item",
        "create",
        json!([{"name": "Sofa"}]),
    );
    assert_eq!(count(&mut admin, "event.audit"), 1);
}
