//! The InsightPulse finance addons through the doors their users use: the
//! demo command, `pulse graph`, Odoo's XML-RPC from Python, JSON-RPC and
//! the addons' HTTP routes, on SQLite and PostgreSQL.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, id, ok, refused};
use serde_json::{Value, json};

on_both! {
    a_month_end_closing_locks_the_period => closing;
    agency_users_see_only_their_agencies => agency_users;
    consolidation_is_the_sum_of_trial_balances_minus_eliminations => consolidation;
    a_bir_1601c_carries_the_months_withholding_and_prints_as_pdf => bir_1601c;
    auto_match_reconciles_and_leaves_ambiguous_lines => bank_recon;
}

/// A database with the finance addons (no demo data) and a server.
fn finance(backend: Backend) -> (Pulse, pulse_testing::Server, Rpc) {
    build_addons();
    let pulse = Pulse::on(backend, &["addons"]);
    pulse.ok(&["install", "ipai_finance_ssc"]);
    let server = pulse.serve_in_process();
    let admin = pulse.admin(&server);
    (pulse, server, admin)
}

/// Accounts (by code) and the general journal.
struct Books {
    cash: i64,
    revenue: i64,
    journal: i64,
}

fn books(admin: &mut Rpc) -> Books {
    let account = |admin: &mut Rpc, code: &str, name: &str, kind: &str| {
        id(ok(
            admin,
            "account.account",
            "create",
            json!([{"code": code, "name": name, "account_type": kind}]),
        ))
    };
    Books {
        cash: account(admin, "1010", "Cash in Bank", "asset_cash"),
        revenue: account(admin, "4000", "Service Income", "income"),
        journal: id(ok(
            admin,
            "account.journal",
            "create",
            json!([{"code": "GEN", "name": "Miscellaneous", "type": "general"}]),
        )),
    }
}

fn agency(admin: &mut Rpc, code: &str, tin: &str) -> i64 {
    id(ok(
        admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": code, "name": format!("Agency {code}"), "tin": tin}]),
    ))
}

/// A draft entry of `amount` from revenue to cash.
fn entry(admin: &mut Rpc, books: &Books, agency: i64, date: &str, amount: f64) -> i64 {
    id(ok(
        admin,
        "account.move",
        "create",
        json!([{
            "journal_id": books.journal, "date": date, "agency_id": agency,
            "line_ids": [
                [0, 0, {"account_id": books.cash, "debit": amount, "credit": 0.0}],
                [0, 0, {"account_id": books.revenue, "debit": 0.0, "credit": amount}],
            ],
        }]),
    ))
}

fn closing(backend: Backend) {
    let (_pulse, server, mut admin) = finance(backend);
    let books = books(&mut admin);
    let (kind, message) = refused(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "BAD", "name": "Bad TIN", "tin": "12-345"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("'12-345' is not a Philippine TIN"),
        "{message}"
    );
    let agency = agency(&mut admin, "MWS", "004-512-377-000");
    let march = entry(&mut admin, &books, agency, "2026-03-15", 1000.0);

    // draft -> in progress (with the standard checklist) -> review -> closed.
    let closing = id(ok(
        &mut admin,
        "finance.ssc.month_end_closing",
        "create",
        json!([{"agency_id": agency, "period": "2026-03"}]),
    ));
    let (kind, message) = refused(
        &mut admin,
        "finance.ssc.month_end_closing",
        "create",
        json!([{"agency_id": agency, "period": "March"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    let state = |admin: &mut Rpc| {
        ok(
            admin,
            "finance.ssc.month_end_closing",
            "read",
            json!([[closing], ["state", "task_ids"]]),
        )[0]
        .clone()
    };
    let (_, message) = refused(
        &mut admin,
        "finance.ssc.month_end_closing",
        "action_close",
        json!([[closing]]),
    );
    assert!(
        message.contains("only be closed from the 'review' state; it is 'draft'"),
        "{message}"
    );
    ok(
        &mut admin,
        "finance.ssc.month_end_closing",
        "action_start",
        json!([[closing]]),
    );
    let started = state(&mut admin);
    assert_eq!(started["state"], "in_progress");
    let tasks = started["task_ids"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 5);
    let (_, message) = refused(
        &mut admin,
        "finance.ssc.month_end_closing",
        "action_submit_review",
        json!([[closing]]),
    );
    assert!(
        message.contains("has open tasks: Post all vendor bills"),
        "{message}"
    );
    ok(
        &mut admin,
        "finance.ssc.closing_task",
        "write",
        json!([tasks, {"done": true}]),
    );
    ok(
        &mut admin,
        "finance.ssc.month_end_closing",
        "action_submit_review",
        json!([[closing]]),
    );
    assert_eq!(state(&mut admin)["state"], "review");

    // Closing through the route, as the finance web client does.
    let cookie = admin.cookie().unwrap().to_string();
    let finalized = server
        .request(
            "POST",
            "/finance_ssc/month_end/finalize",
            &[("Cookie", &cookie), ("Content-Type", "application/json")],
            &json!({"closing_id": closing}).to_string(),
        )
        .unwrap();
    assert_eq!(finalized.status, 200, "{}", finalized.body);
    let finalized: Value = serde_json::from_str(&finalized.body).unwrap();
    assert_eq!(
        finalized,
        json!({"closing_id": closing, "period": "2026-03", "state": "closed", "agency": "MWS", "lock_date": "2026-03-31"})
    );

    // Nothing posts in the closed period; after it, entries post and number.
    let (kind, message) = refused(&mut admin, "account.move", "action_post", json!([[march]]));
    assert_eq!(kind, "odoo.exceptions.UserError");
    assert_eq!(
        message,
        "Cannot post the entry dated 2026-03-15 for agency MWS: its books are closed through 2026-03-31 (month-end closing). Date it after 2026-03-31."
    );
    let april = entry(&mut admin, &books, agency, "2026-04-02", 250.0);
    ok(&mut admin, "account.move", "action_post", json!([[april]]));
    let posted = ok(
        &mut admin,
        "account.move",
        "read",
        json!([[april, march], ["name", "state"]]),
    );
    assert_eq!(posted[0]["name"], "GEN/2026/00001");
    assert_eq!(posted[0]["state"], "posted");
    assert_eq!(posted[1]["state"], "draft");

    // Posted entries are frozen; unbalanced ones never post.
    let (_, message) = refused(
        &mut admin,
        "account.move",
        "write",
        json!([[april], {"date": "2026-04-03"}]),
    );
    assert!(
        message.contains("Posted entries cannot be changed: GEN/2026/00001"),
        "{message}"
    );
    let line = ok(
        &mut admin,
        "account.move.line",
        "search",
        json!([[["move_id", "=", april]]]),
    )[0]
    .clone();
    let (_, message) = refused(
        &mut admin,
        "account.move.line",
        "write",
        json!([[line], {"debit": 1.0}]),
    );
    assert!(
        message.contains("Posted entries cannot be changed"),
        "{message}"
    );
    let lopsided = id(ok(
        &mut admin,
        "account.move",
        "create",
        json!([{"journal_id": books.journal, "date": "2026-04-05", "agency_id": agency,
                "line_ids": [[0, 0, {"account_id": books.cash, "debit": 10.0}], [0, 0, {"account_id": books.revenue, "credit": 9.5}]]}]),
    ));
    let (_, message) = refused(
        &mut admin,
        "account.move",
        "action_post",
        json!([[lopsided]]),
    );
    assert!(
        message.contains("not balanced: debit 10.00, credit 9.50"),
        "{message}"
    );
    // The items carry their entry's agency, state and date for reports.
    let item = ok(
        &mut admin,
        "account.move.line",
        "read",
        json!([[line], ["agency_id", "parent_state", "date"]]),
    )[0]
    .clone();
    assert_eq!(item["agency_id"][0], agency);
    assert_eq!(item["parent_state"], "posted");
    assert_eq!(item["date"], "2026-04-02");
}

fn agency_users(backend: Backend) {
    let (pulse, server, mut admin) = finance(backend);
    let books = books(&mut admin);
    let mine = agency(&mut admin, "MWS", "004-512-377-000");
    let theirs = agency(&mut admin, "LRA", "231-774-018");
    let my_entry = entry(&mut admin, &books, mine, "2026-01-10", 100.0);
    let their_entry = entry(&mut admin, &books, theirs, "2026-01-11", 200.0);
    let group = ok(
        &mut admin,
        "res.groups",
        "search",
        json!([[["name", "=", "Finance SSC / Accountant"]]]),
    );
    ok(
        &mut admin,
        "res.users",
        "create",
        json!([{"login": "ana", "name": "Ana", "password": "Ana-S3cret-pw!7",
                "group_ids": [[6, 0, group]], "agency_ids": [[6, 0, [mine]]]}]),
    );
    let mut ana = Rpc::new(&server);
    let login = ana.post(
        "/web/session/authenticate",
        json!({"db": pulse.db_name, "login": "ana", "password": "Ana-S3cret-pw!7"}),
    );
    assert!(login.get("result").is_some(), "{login}");

    let agencies = ok(
        &mut ana,
        "finance.ssc.agency",
        "search_read",
        json!([[], ["code"]]),
    );
    assert_eq!(agencies, json!([{"id": mine, "code": "MWS"}]));
    let (kind, _) = refused(
        &mut ana,
        "finance.ssc.agency",
        "read",
        json!([[theirs], ["code"]]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    let moves = ok(&mut ana, "account.move", "search", json!([[]]));
    assert_eq!(moves, json!([my_entry]));
    let (kind, _) = refused(
        &mut ana,
        "account.move",
        "action_post",
        json!([[their_entry]]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    let items = ok(&mut ana, "account.move.line", "search_count", json!([[]]));
    assert_eq!(items, json!(2), "only the two items of her agency's entry");
    // Her own agency's entry she may post, as an accountant.
    ok(&mut ana, "account.move", "action_post", json!([[my_entry]]));
    // Managers-only models stay closed to her.
    let (kind, _) = refused(&mut ana, "finance.ssc.consolidation", "search", json!([[]]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
}

fn consolidation(backend: Backend) {
    let (_pulse, server, mut admin) = finance(backend);
    let books = books(&mut admin);
    let due = id(ok(
        &mut admin,
        "account.account",
        "create",
        json!([{"code": "1300", "name": "Due from Agencies", "account_type": "asset_current"}]),
    ));
    let a = agency(&mut admin, "MWS", "004-512-377-000");
    let b = agency(&mut admin, "LRA", "231-774-018");
    let post = |admin: &mut Rpc, agency: i64, date: &str, amount: f64| {
        let move_id = entry(admin, &books, agency, date, amount);
        ok(admin, "account.move", "action_post", json!([[move_id]]));
    };
    post(&mut admin, a, "2025-12-20", 70.0); // opening balance
    post(&mut admin, a, "2026-01-15", 1000.0);
    post(&mut admin, b, "2026-02-15", 400.25);
    post(&mut admin, b, "2026-04-01", 999.0); // after the period
    let advance = id(ok(
        &mut admin,
        "account.move",
        "create",
        json!([{"journal_id": books.journal, "date": "2026-02-01", "agency_id": a,
                "line_ids": [[0, 0, {"account_id": due, "debit": 300.0}], [0, 0, {"account_id": books.cash, "credit": 300.0}]]}]),
    ));
    ok(
        &mut admin,
        "account.move",
        "action_post",
        json!([[advance]]),
    );
    // A draft counts for nothing (the cash totals below leave it out).
    entry(&mut admin, &books, a, "2026-01-20", 5555.0);

    let consolidation = id(ok(
        &mut admin,
        "finance.ssc.consolidation",
        "create",
        json!([{"name": "Q1", "date_from": "2026-01-01", "date_to": "2026-03-31",
                "agency_ids": [[6, 0, [a, b]]],
                "elimination_ids": [[0, 0, {"account_id": due, "amount": 300.0, "name": "advance"}]]}]),
    ));
    let trial = |admin: &mut Rpc, agency: i64| {
        ok(
            admin,
            "account.account",
            "trial_balance",
            json!([[], "2026-01-01", "2026-03-31", [["agency_id", "=", agency]]]),
        )
    };
    let (tb_a, tb_b) = (trial(&mut admin, a), trial(&mut admin, b));
    let cash_a = tb_a
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "1010")
        .unwrap();
    assert_eq!(
        (
            cash_a["opening"].as_f64(),
            cash_a["debit"].as_f64(),
            cash_a["credit"].as_f64(),
            cash_a["closing"].as_f64()
        ),
        (Some(70.0), Some(1000.0), Some(300.0), Some(770.0))
    );

    let cookie = admin.cookie().unwrap().to_string();
    let get = |query: &str| {
        server
            .request(
                "GET",
                &format!("/finance_ssc/consolidation/report/{consolidation}{query}"),
                &[("Cookie", &cookie)],
                "",
            )
            .unwrap()
    };
    let report = get("");
    assert_eq!(report.status, 200, "{}", report.body);
    let report: Value = serde_json::from_str(&report.body).unwrap();
    // Every consolidated row is the agencies' closings summed, minus eliminations.
    for row in report["consolidated"].as_array().unwrap() {
        let code = row["code"].as_str().unwrap();
        let closing = |tb: &Value| {
            tb.as_array()
                .unwrap()
                .iter()
                .filter(|r| r["code"] == code)
                .map(|r| r["closing"].as_f64().unwrap())
                .sum::<f64>()
        };
        let eliminated = if code == "1300" { 300.0 } else { 0.0 };
        let expected = closing(&tb_a) + closing(&tb_b) - eliminated;
        assert!(
            (row["consolidated"].as_f64().unwrap() - expected).abs() < 0.005,
            "{code}: {row} != {expected}"
        );
    }
    let codes: Vec<&str> = report["consolidated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1010", "1300", "4000"]);
    let cash = &report["consolidated"][0];
    assert_eq!(cash["consolidated"], json!(770.0 + 400.25));
    assert_eq!(report["consolidated"][1]["consolidated"], json!(0.0));
    let csv = get("?format=csv");
    assert!(
        csv.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/csv"))
    );
    assert_eq!(
        csv.body,
        "code,name,total,eliminated,consolidated\n1010,\"Cash in Bank\",1170.25,0.00,1170.25\n1300,\"Due from Agencies\",300.00,300.00,0.00\n4000,\"Service Income\",-1470.25,0.00,-1470.25\n"
    );
    let missing = server
        .request(
            "GET",
            "/finance_ssc/consolidation/report/999",
            &[("Cookie", &cookie)],
            "",
        )
        .unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);
}

#[test]
fn the_demo_installs_the_finance_addons_with_their_demo_data() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["addons", "examples"]);
    let graph = pulse.ok(&["graph", "--root", "ipai_finance_ssc"]);
    for addon in [
        "ipai_finance_ssc",
        "account_reports",
        "account",
        "base",
        "web",
    ] {
        assert!(
            graph.contains(addon),
            "{addon} missing from the graph:\n{graph}"
        );
    }
    assert!(graph.contains("\"ipai_finance_ssc\" -> \"web\""), "{graph}");
    // base and web are the host's: always installed, never removed.
    let refused = pulse.run(&["uninstall", "base"]);
    assert!(!refused.status.success());
    assert!(
        pulse_testing::text(&refused).contains("'base' is provided by the host"),
        "{}",
        pulse_testing::text(&refused)
    );
    let server = pulse.start("demo", None);
    let out = pulse_testing::python_script(
        "finance_agencies.py",
        &[&server.url, &pulse.db_name, "admin", "admin"],
    );
    let agencies: Value = serde_json::from_str(out.trim()).unwrap();
    let codes: Vec<&str> = agencies
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["LRA", "MWS", "VHB"]);
    assert_eq!(agencies[1]["tin"], "004-512-377-000");
    // A quarter of posted entries, and the installed modules as an admin sees them.
    let mut admin = pulse.admin(&server);
    let posted = ok(
        &mut admin,
        "account.move",
        "search_count",
        json!([[["state", "=", "posted"]]]),
    );
    assert_eq!(posted, json!(47));
    let installed = ok(
        &mut admin,
        "ir.module.module",
        "search_read",
        json!([[["state", "=", "installed"]], ["name"]]),
    );
    let names: Vec<&str> = installed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for addon in [
        "account",
        "account_reports",
        "hr",
        "ipai_finance_ssc",
        "ipai_expense",
        "todo",
    ] {
        assert!(names.contains(&addon), "{addon} not installed: {names:?}");
    }
    // base gives every database a company in pesos.
    let company = ok(
        &mut admin,
        "res.company",
        "search_read",
        json!([[], ["name", "currency_id"]]),
    );
    assert_eq!(company[0]["name"], "My Company");
    assert_eq!(company[0]["currency_id"][1], "PHP");
    // A production database gets none of it.
    let production = Pulse::on(Backend::Sqlite, &["addons"]);
    production.ok(&["install", "ipai_finance_ssc"]);
    assert_eq!(
        production.scalar("SELECT COUNT(*) FROM finance_ssc_agency"),
        0
    );
    assert_eq!(production.scalar("SELECT COUNT(*) FROM account_move"), 0);
}

/// An account with a tax tag.
fn tagged_account(admin: &mut Rpc, code: &str, name: &str, kind: &str, tag: Option<&str>) -> i64 {
    id(ok(
        admin,
        "account.account",
        "create",
        json!([{"code": code, "name": name, "account_type": kind, "tax_tag": tag}]),
    ))
}

/// Posts an entry of `lines` (account, debit, credit, reference).
fn post_entry(
    admin: &mut Rpc,
    journal: i64,
    agency: i64,
    date: &str,
    lines: &[(i64, f64, f64, Option<&str>)],
    post: bool,
) -> i64 {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, debit, credit, reference)| {
            json!([0, 0, {"account_id": account, "debit": debit, "credit": credit, "ref": reference}])
        })
        .collect();
    let move_id = id(ok(
        admin,
        "account.move",
        "create",
        json!([{"journal_id": journal, "date": date, "agency_id": agency, "line_ids": lines}]),
    ));
    if post {
        ok(admin, "account.move", "action_post", json!([[move_id]]));
    }
    move_id
}

fn bir_1601c(backend: Backend) {
    let (_pulse, server, mut admin) = finance(backend);
    let books = books(&mut admin);
    let salaries = tagged_account(&mut admin, "5000", "Salaries and Wages", "expense", None);
    let wtax = tagged_account(
        &mut admin,
        "2100",
        "Withholding Tax Payable - Compensation",
        "liability_current",
        Some("wtax_compensation"),
    );
    let mws = agency(&mut admin, "MWS", "004-512-377-000");
    let lra = agency(&mut admin, "LRA", "231-774-018");
    let payroll = |admin: &mut Rpc, agency: i64, date: &str, gross: f64, post: bool| {
        let tax = gross / 10.0;
        post_entry(
            admin,
            books.journal,
            agency,
            date,
            &[
                (salaries, gross, 0.0, None),
                (wtax, 0.0, tax, None),
                (books.cash, 0.0, gross - tax, None),
            ],
            post,
        );
    };
    payroll(&mut admin, mws, "2026-03-15", 100_000.0, true);
    payroll(&mut admin, mws, "2026-03-31", 20_000.0, true);
    payroll(&mut admin, mws, "2026-03-20", 50_000.0, false); // a draft counts for nothing
    payroll(&mut admin, mws, "2026-04-01", 70_000.0, true); // another month
    payroll(&mut admin, lra, "2026-03-15", 90_000.0, true); // another agency

    let form = id(ok(
        &mut admin,
        "finance.ssc.bir_form",
        "create",
        json!([{"agency_id": mws, "form_type": "1601C", "period": "2026-03"}]),
    ));
    ok(
        &mut admin,
        "finance.ssc.bir_form",
        "action_compute",
        json!([[form]]),
    );
    let read = ok(
        &mut admin,
        "finance.ssc.bir_form",
        "read",
        json!([
            [form],
            ["due_date", "tax_base", "tax_amount", "item_count", "state"]
        ]),
    )[0]
    .clone();
    assert_eq!(read["due_date"], "2026-04-10");
    assert_eq!(read["tax_amount"], json!(12000.0));
    assert_eq!(read["tax_base"], json!(120000.0));
    assert_eq!(read["item_count"], json!(2));
    assert_eq!(read["state"], "draft");
    let december = id(ok(
        &mut admin,
        "finance.ssc.bir_form",
        "create",
        json!([{"agency_id": mws, "form_type": "1601C", "period": "2024-12"}]),
    ));
    let due = ok(
        &mut admin,
        "finance.ssc.bir_form",
        "read",
        json!([[december], ["due_date"]]),
    );
    assert_eq!(
        due[0]["due_date"], "2025-01-15",
        "December's 1601-C is due January 15"
    );
    let (kind, message) = refused(
        &mut admin,
        "finance.ssc.bir_form",
        "create",
        json!([{"agency_id": mws, "form_type": "1601C", "period": "2026-Q1"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(message.contains("must be written YYYY-MM"), "{message}");
    let (kind, message) = refused(
        &mut admin,
        "finance.ssc.bir_form",
        "create",
        json!([{"agency_id": mws, "form_type": "1601C", "period": "2026-03"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("already has a BIR 1601-C for 2026-03"),
        "{message}"
    );

    // The PDF, made inside the addon, opens with pdftotext and shows the totals.
    let cookie = admin.cookie().unwrap().to_string();
    let response = pdf_request(&server, &cookie, form);
    assert!(response.starts_with(b"%PDF-1.4"));
    let text = pdftotext(&response);
    for expected in [
        "BIR Form 1601-C",
        "Withholding agent: Agency MWS (MWS)",
        "TIN: 004-512-377-000",
        "Period: 2026-03 (2026-03-01 to 2026-03-31)",
        "Due date: 2026-04-10",
        "Tax base: PHP 120,000.00",
        "Tax withheld: PHP 12,000.00",
        "Total amount due: PHP 12,000.00",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // Filing freezes it.
    ok(
        &mut admin,
        "finance.ssc.bir_form",
        "action_file",
        json!([[form], "2026-04-08"]),
    );
    let (_, message) = refused(
        &mut admin,
        "finance.ssc.bir_form",
        "action_compute",
        json!([[form]]),
    );
    assert!(message.contains("is filed"), "{message}");
    // The summary of the agency's forms, as JSON and CSV (the periods
    // narrow it to this test's forms: the serving host's scheduler drafts
    // the forms of the month before its first due run, 2025-12).
    let summary = ok(
        &mut admin,
        "finance.ssc.bir_form",
        "bir_summary",
        json!([
            [],
            [
                ["agency_id", "=", mws],
                ["period", "in", ["2024-12", "2026-03"]]
            ]
        ]),
    );
    assert_eq!(summary.as_array().unwrap().len(), 2);
    assert_eq!(summary[0]["form"], "1601-C");
    assert_eq!(summary[0]["period"], "2024-12");
    assert_eq!(summary[1]["tax_amount"], json!(12000.0));
    assert_eq!(summary[1]["state"], "filed");
    let csv = ok(
        &mut admin,
        "finance.ssc.bir_form",
        "bir_summary_csv",
        json!([
            [],
            [
                ["agency_id", "=", mws],
                ["period", "in", ["2024-12", "2026-03"]]
            ]
        ]),
    );
    assert_eq!(
        csv,
        "agency,form,period,due_date,tax_base,tax_amount,state\nMWS,1601-C,2024-12,2025-01-15,0.00,0.00,draft\nMWS,1601-C,2026-03,2026-04-10,120000.00,12000.00,filed\n"
    );
}

/// POSTs to the PDF route; the PDF's bytes.
fn pdf_request(server: &pulse_testing::Server, cookie: &str, form: i64) -> Vec<u8> {
    let response = server
        .request(
            "POST",
            "/finance_ssc/bir_form/generate_pdf",
            &[("Cookie", cookie), ("Content-Type", "application/json")],
            &json!({"form_id": form}).to_string(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .headers
            .iter()
            .any(|(name, value)| name == "content-type" && value.starts_with("application/pdf")),
        "{:?}",
        response.headers
    );
    response.bytes
}

/// The text of a PDF, by poppler's `pdftotext` (CI installs poppler-utils).
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("form.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils; scripts/test installs it)");
    assert!(
        out.status.success(),
        "pdftotext refused the PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bank_recon(backend: Backend) {
    let (_pulse, server, mut admin) = finance(backend);
    let books = books(&mut admin);
    let receivable = tagged_account(
        &mut admin,
        "1100",
        "Accounts Receivable",
        "asset_receivable",
        None,
    );
    let mws = agency(&mut admin, "MWS", "004-512-377-000");
    let lra = agency(&mut admin, "LRA", "231-774-018");
    let item = |admin: &mut Rpc, agency: i64, date: &str, amount: f64, reference: Option<&str>| {
        let (debit, credit) = if amount >= 0.0 {
            (amount, 0.0)
        } else {
            (0.0, -amount)
        };
        let entry = post_entry(
            admin,
            books.journal,
            agency,
            date,
            &[
                (books.cash, debit, credit, reference),
                (receivable, credit, debit, None),
            ],
            true,
        );
        let line = ok(
            admin,
            "account.move.line",
            "search",
            json!([[["move_id", "=", entry], ["account_id", "=", books.cash]]]),
        );
        id(line[0].clone())
    };
    let invoice = item(&mut admin, mws, "2026-03-05", 1500.0, Some("INV/2026/0001"));
    let unreferenced = item(&mut admin, mws, "2026-03-10", 2300.0, None);
    let twin_a = item(&mut admin, mws, "2026-03-12", 700.0, None);
    let twin_b = item(&mut admin, mws, "2026-03-13", 700.0, None);
    let payment = item(&mut admin, mws, "2026-03-20", -400.0, None);
    let elsewhere = item(&mut admin, lra, "2026-03-11", 2300.0, None); // another agency's
    let _ = elsewhere;

    let reconciliation = id(ok(
        &mut admin,
        "finance.ssc.bank_reconciliation",
        "create",
        json!([{"name": "BDO March 2026", "agency_id": mws, "account_id": books.cash,
        "line_ids": [
            [0, 0, {"date": "2026-03-06", "amount": 1500.0, "reference": "INV/2026/0001"}],
            [0, 0, {"date": "2026-03-11", "amount": 2300.0, "reference": "TRF 99812"}],
            [0, 0, {"date": "2026-03-12", "amount": 700.0}],
            [0, 0, {"date": "2026-03-21", "amount": -400.0}],
            [0, 0, {"date": "2026-03-25", "amount": 999.0}],
        ]}]),
    ));
    let cookie = admin.cookie().unwrap().to_string();
    let response = server
        .request(
            "POST",
            "/finance_ssc/bank_recon/auto_match",
            &[("Cookie", &cookie), ("Content-Type", "application/json")],
            &json!({"reconciliation_id": reconciliation}).to_string(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    let outcome: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(outcome["matched"], 3, "{outcome}");
    let unmatched = outcome["unmatched"].as_array().unwrap();
    assert_eq!(unmatched.len(), 2, "{outcome}");
    assert_eq!(unmatched[0]["amount"], json!(700.0));
    assert_eq!(unmatched[0]["candidates"], json!([twin_a, twin_b]));
    assert_eq!(unmatched[1]["amount"], json!(999.0));
    assert_eq!(unmatched[1]["candidates"], json!([]));

    let lines = ok(
        &mut admin,
        "finance.ssc.bank_statement_line",
        "search_read",
        json!([
            [["reconciliation_id", "=", reconciliation]],
            ["amount", "move_line_id", "note"]
        ]),
    );
    let matched: Vec<Value> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["move_line_id"].clone())
        .collect();
    assert_eq!(matched[0][0], invoice, "amount and reference");
    assert_eq!(matched[1][0], unreferenced, "amount within the date window");
    assert_eq!(
        matched[2],
        json!(false),
        "two items of 700 fit: left for a person"
    );
    assert_eq!(matched[3][0], payment);
    assert_eq!(matched[4], json!(false));
    assert_eq!(lines[2]["note"], "2 open items fit; match it by hand");
    let reconciled = ok(
        &mut admin,
        "account.move.line",
        "search",
        json!([[["reconciled", "=", true]]]),
    );
    assert_eq!(reconciled, json!([invoice, unreferenced, payment]));

    // The person picks one twin; it is then taken, and amounts must agree.
    let twin_line = id(lines[2]["id"].clone());
    let odd_line = id(lines[4]["id"].clone());
    let (_, message) = refused(
        &mut admin,
        "finance.ssc.bank_statement_line",
        "action_match",
        json!([[odd_line], twin_a]),
    );
    assert!(
        message.contains("statement line is 999.00 but the journal item is 700.00"),
        "{message}"
    );
    ok(
        &mut admin,
        "finance.ssc.bank_statement_line",
        "action_match",
        json!([[twin_line], twin_b]),
    );
    let (_, message) = refused(
        &mut admin,
        "finance.ssc.bank_statement_line",
        "action_match",
        json!([[odd_line], twin_b]),
    );
    assert!(message.contains("is not an open item"), "{message}");
    // Running it again changes nothing that is matched.
    let again: Value = serde_json::from_str(
        &server
            .request(
                "POST",
                "/finance_ssc/bank_recon/auto_match",
                &[("Cookie", &cookie)],
                &json!({"reconciliation_id": reconciliation}).to_string(),
            )
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(again["matched"], 0);
    assert_eq!(again["unmatched"].as_array().unwrap().len(), 1);
}

/// A fake Supabase: answers one request with 201 and hands its head and
/// body over.
fn fake_supabase() -> (u16, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::from_utf8_lossy(&raw).to_string(), String::new());
                }
                raw.extend_from_slice(&chunk[..n]);
                let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&raw[..split]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if raw.len() >= split + 4 + length {
                    break (
                        head,
                        String::from_utf8_lossy(&raw[split + 4..split + 4 + length]).to_string(),
                    );
                }
            };
            let _ = stream.write_all(
                b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            if send.send((head, body)).is_err() {
                return;
            }
        }
    });
    (port, receive)
}

#[test]
fn the_sync_cron_posts_the_agencies_to_supabase() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["addons"]);
    pulse.ok(&["install", "ipai_finance_ssc"]);
    let (port, requests) = fake_supabase();
    {
        let server = pulse.serve_in_process();
        let mut admin = pulse.admin(&server);
        agency(&mut admin, "MWS", "004-512-377-000");
        agency(&mut admin, "LRA", "231-774-018");
        ok(
            &mut admin,
            "ir.config_parameter",
            "create",
            json!([[
                {"key": "finance_ssc.supabase_url", "value": format!("http://127.0.0.1:{port}/")},
                {"key": "finance_ssc.supabase_key", "value": "service-key-123"},
            ]]),
        );
    }
    let job = "Finance SSC: sync agencies to Supabase";
    // Closed by default: the manifest asks, the admin has not granted.
    let refused = pulse.run(&["cron", "run", job]);
    assert!(!refused.status.success());
    let said = pulse_testing::text(&refused);
    assert!(said.contains("pulse grant ipai_finance_ssc"), "{said}");
    assert!(requests.try_recv().is_err(), "nothing left the host");

    pulse.ok(&["grant", "ipai_finance_ssc", "sudo", "http:127.0.0.1"]);
    let ran = pulse.run(&["cron", "run", job]);
    let (head, body) = requests
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "the fake Supabase got no request:\n{}",
                pulse_testing::text(&ran)
            )
        });
    let head_lower = head.to_ascii_lowercase();
    assert!(
        head.starts_with("POST /rest/v1/finance_ssc_agency?on_conflict=code HTTP/1.1"),
        "{head}"
    );
    assert!(head_lower.contains("apikey: service-key-123"), "{head}");
    assert!(
        head_lower.contains("authorization: bearer service-key-123"),
        "{head}"
    );
    assert!(
        head_lower.contains("prefer: resolution=merge-duplicates"),
        "{head}"
    );
    let rows: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rows,
        json!([
            {"pulse_id": 1, "code": "MWS", "name": "Agency MWS", "tin": "004-512-377-000", "active": true, "lock_date": null},
            {"pulse_id": 2, "code": "LRA", "name": "Agency LRA", "tin": "231-774-018", "active": true, "lock_date": null},
        ])
    );
    let listed = pulse.ok(&["cron", "list"]);
    assert!(listed.contains(job), "{listed}");
}

#[test]
fn the_finance_jobs_draft_closings_and_forms_and_send_closings_to_notion() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["addons"]);
    pulse.ok(&["install", "ipai_finance_ssc"]);
    pulse.ok(&["grant", "ipai_finance_ssc", "sudo", "http:127.0.0.1"]);
    let (port, requests) = fake_supabase();
    // The data file's jobs are long past due, so the served host's
    // scheduler would run them on its own while the agencies are being
    // made, racing the runs below (two drafts, for two months). The test
    // drives each job itself, by name: `pulse cron run` runs a job whether
    // it is active or not, the scheduler only active ones.
    pulse.strings(
        "UPDATE ir_cron SET active = false WHERE name LIKE 'Finance SSC:%' RETURNING name",
    );
    let (mws, lra) = {
        let server = pulse.serve_in_process();
        let mut admin = pulse.admin(&server);
        let mws = agency(&mut admin, "MWS", "004-512-377-000");
        let lra = agency(&mut admin, "LRA", "231-774-018");
        ok(
            &mut admin,
            "ir.config_parameter",
            "create",
            json!([[
                {"key": "finance_ssc.notion_url", "value": format!("http://127.0.0.1:{port}")},
                {"key": "finance_ssc.notion_token", "value": "secret_notion"},
                {"key": "finance_ssc.notion_database_id", "value": "db-42"},
            ]]),
        );
        // MWS closes March.
        let closing = id(ok(
            &mut admin,
            "finance.ssc.month_end_closing",
            "create",
            json!([{"agency_id": mws, "period": "2026-03"}]),
        ));
        let model = "finance.ssc.month_end_closing";
        ok(&mut admin, model, "action_start", json!([[closing]]));
        let tasks =
            ok(&mut admin, model, "read", json!([[closing], ["task_ids"]]))[0]["task_ids"].clone();
        ok(
            &mut admin,
            "finance.ssc.closing_task",
            "write",
            json!([tasks, {"done": true}]),
        );
        ok(
            &mut admin,
            model,
            "action_submit_review",
            json!([[closing]]),
        );
        ok(&mut admin, model, "action_close", json!([[closing]]));
        (mws, lra)
    };

    // Next month's closing, in draft, for every active agency.
    pulse.ok(&["cron", "run", "Finance SSC: next month's closings"]);
    for agency in [mws, lra] {
        let drafts = pulse.scalar(&format!(
            "SELECT COUNT(*) FROM finance_ssc_month_end_closing WHERE agency_id = {agency} AND state = 'draft'"
        ));
        assert_eq!(drafts, 1, "agency {agency}");
    }
    // Draft BIR forms for the month just ended, a 1601-C each at least.
    pulse.ok(&["cron", "run", "Finance SSC: draft BIR forms"]);
    for agency in [mws, lra] {
        let forms = pulse.scalar(&format!(
            "SELECT COUNT(*) FROM finance_ssc_bir_form WHERE agency_id = {agency} AND form_type = '1601C' AND state = 'draft'"
        ));
        assert_eq!(forms, 1, "agency {agency}");
    }

    // The closed closing's summary goes to Notion, once.
    let job = "Finance SSC: closing summaries to Notion";
    let ran = pulse.run(&["cron", "run", job]);
    let (head, body) = requests
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "the fake Notion got no request:\n{}",
                pulse_testing::text(&ran)
            )
        });
    let head_lower = head.to_ascii_lowercase();
    assert!(head.starts_with("POST /v1/pages HTTP/1.1"), "{head}");
    assert!(
        head_lower.contains("authorization: bearer secret_notion"),
        "{head}"
    );
    assert!(head_lower.contains("notion-version: 2022-06-28"), "{head}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["parent"]["database_id"], "db-42");
    let text =
        |property: &str| page["properties"][property]["rich_text"][0]["text"]["content"].clone();
    assert_eq!(text("Agency"), "MWS");
    assert_eq!(text("Period"), "2026-03");
    assert_eq!(text("Locked through"), "2026-03-31");
    assert_eq!(page["properties"]["Tasks"]["number"], 5);
    pulse.ok(&["cron", "run", job]);
    assert!(
        requests
            .recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "a closing is sent once"
    );
}

/// A dependent's component carries its own code and the typed clients it
/// calls (`default-features = false, features = ["client"]`), not the
/// implementation of the addons it depends on: their methods run in their
/// own components.
#[test]
fn dependents_do_not_carry_the_addons_they_call() {
    build_addons();
    let component = |name: &str| {
        let path = pulse_testing::root()
            .join("addons")
            .join(name)
            .join(format!("{name}.wasm"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let holds = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    // account's action_post and account_reports' trial balance.
    let (posting, trial_balance) = ("Only draft entries can be posted", ") after it ends (");
    assert!(holds(&component("account"), posting));
    assert!(holds(&component("account_reports"), trial_balance));
    let finance = component("ipai_finance_ssc");
    assert!(holds(&finance, "Cannot post the entry dated"));
    assert!(!holds(&finance, posting));
    assert!(!holds(&finance, trial_balance));
    let expense = component("ipai_expense");
    assert!(holds(&expense, "Say why the expense is rejected."));
    assert!(!holds(&expense, posting));
}
