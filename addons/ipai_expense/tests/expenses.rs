//! `ipai_expense` over JSON-RPC on SQLite and PostgreSQL: an employee
//! submits, a user cannot approve, a manager approves and posts (a
//! balanced, posted journal entry), rejects with a reason; users see only
//! their own expenses.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, id, ok, refused};
use serde_json::json;

on_both! {
    expenses_are_approved_by_managers_and_posted_balanced => expenses;
}

fn user(admin: &mut Rpc, login: &str, group: &str) -> i64 {
    let groups = ok(
        admin,
        "res.groups",
        "search",
        json!([[["name", "=", group]]]),
    );
    id(ok(
        admin,
        "res.users",
        "create",
        json!([{"login": login, "name": login, "password": format!("{login}-S3cret-pw!"), "group_ids": [[6, 0, groups]]}]),
    ))
}

fn logged_in(server: &pulse_testing::Server, db: &str, login: &str) -> Rpc {
    pulse_testing::logged_in(server, db, login, &format!("{login}-S3cret-pw!"))
}

fn expenses(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["addons"]);
    pulse.ok(&["install", "ipai_expense"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let account = |admin: &mut Rpc, code: &str, name: &str, kind: &str| {
        id(ok(
            admin,
            "account.account",
            "create",
            json!([{"code": code, "name": name, "account_type": kind}]),
        ))
    };
    let travel_account = account(&mut admin, "5300", "Travel and Transportation", "expense");
    let payable = account(&mut admin, "2020", "Due to Employees", "liability_current");
    let journal = id(ok(
        &mut admin,
        "account.journal",
        "create",
        json!([{"code": "EXP", "name": "Employee Expenses", "type": "purchase"}]),
    ));
    let travel = id(ok(
        &mut admin,
        "ipai.expense.category",
        "create",
        json!([{"name": "Travel", "account_id": travel_account, "payable_account_id": payable, "journal_id": journal}]),
    ));
    let ana_uid = user(&mut admin, "ana", "Expenses / User");
    let bob_uid = user(&mut admin, "bob", "Expenses / User");
    user(&mut admin, "maria", "Expenses / Manager");
    let employee = |admin: &mut Rpc, name: &str, uid: i64| {
        id(ok(
            admin,
            "hr.employee",
            "create",
            json!([{"name": name, "user_id": uid}]),
        ))
    };
    let ana_employee = employee(&mut admin, "Ana Santos", ana_uid);
    let bob_employee = employee(&mut admin, "Bob Reyes", bob_uid);

    let mut ana = logged_in(&server, &pulse.db_name, "ana");
    let mut bob = logged_in(&server, &pulse.db_name, "bob");
    let mut maria = logged_in(&server, &pulse.db_name, "maria");
    let file = |rpc: &mut Rpc, employee: i64, name: &str, amount: f64| {
        id(ok(
            rpc,
            "ipai.expense",
            "create",
            json!([{"name": name, "employee_id": employee, "category_id": travel, "amount": amount, "date": "2026-03-09"}]),
        ))
    };
    let taxi = file(&mut ana, ana_employee, "Taxi to the BIR office", 450.0);
    let flight = file(&mut ana, ana_employee, "Flight to Cebu", 5230.5);
    let bobs = file(&mut bob, bob_employee, "Parking", 120.0);
    let (kind, message) = refused(
        &mut ana,
        "ipai.expense",
        "create",
        json!([{"name": "Refund", "employee_id": ana_employee, "category_id": travel, "amount": -5.0, "date": "2026-03-09"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.starts_with("An expense amount must be positive."),
        "{message}"
    );

    // Users see their own expenses only.
    assert_eq!(
        ok(&mut ana, "ipai.expense", "search", json!([[]])),
        json!([taxi, flight])
    );
    assert_eq!(
        ok(&mut bob, "ipai.expense", "search", json!([[]])),
        json!([bobs])
    );
    assert_eq!(
        ok(&mut maria, "ipai.expense", "search_count", json!([[]])),
        json!(3)
    );

    ok(
        &mut ana,
        "ipai.expense",
        "action_submit",
        json!([[taxi, flight]]),
    );
    let (kind, _) = refused(&mut ana, "ipai.expense", "action_approve", json!([[taxi]]));
    assert_eq!(
        kind, "odoo.exceptions.AccessError",
        "a user cannot approve, not even her own"
    );
    let (_, message) = refused(&mut maria, "ipai.expense", "action_post", json!([[taxi]]));
    assert!(
        message.contains("can only be posted when approved; it is submitted"),
        "{message}"
    );
    ok(
        &mut maria,
        "ipai.expense",
        "action_approve",
        json!([[taxi]]),
    );
    let (_, message) = refused(
        &mut maria,
        "ipai.expense",
        "action_reject",
        json!([[flight], " "]),
    );
    assert_eq!(message, "Say why the expense is rejected.");
    ok(
        &mut maria,
        "ipai.expense",
        "action_reject",
        json!([[flight], "No receipt attached"]),
    );
    let moves = ok(&mut maria, "ipai.expense", "action_post", json!([[taxi]]));
    let entry = id(moves[0].clone());

    let states = ok(
        &mut ana,
        "ipai.expense",
        "read",
        json!([[taxi, flight], ["state", "move_id", "reject_reason"]]),
    );
    assert_eq!(states[0]["state"], "posted");
    assert_eq!(states[0]["move_id"][0], entry);
    assert_eq!(states[1]["state"], "rejected");
    assert_eq!(states[1]["reject_reason"], "No receipt attached");

    // The entry is posted, numbered in the category's journal, and balanced.
    let posted = ok(
        &mut admin,
        "account.move",
        "read",
        json!([[entry], ["name", "state", "date", "amount_total"]]),
    );
    assert_eq!(posted[0]["name"], "EXP/2026/00001");
    assert_eq!(posted[0]["state"], "posted");
    assert_eq!(posted[0]["date"], "2026-03-09");
    assert_eq!(posted[0]["amount_total"], json!(450.0));
    let lines = ok(
        &mut admin,
        "account.move.line",
        "search_read",
        json!([
            [["move_id", "=", entry]],
            ["account_id", "debit", "credit", "name"]
        ]),
    );
    let lines = lines.as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["account_id"][0].as_i64(),
            lines[0]["debit"].as_f64()
        ),
        (Some(travel_account), Some(450.0))
    );
    assert_eq!(
        (
            lines[1]["account_id"][0].as_i64(),
            lines[1]["credit"].as_f64()
        ),
        (Some(payable), Some(450.0))
    );
    assert_eq!(lines[0]["name"], "Ana Santos: Taxi to the BIR office");
}
