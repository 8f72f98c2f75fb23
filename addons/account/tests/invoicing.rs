//! `account` in Odoo 19's vocabulary, on SQLite and PostgreSQL: a script
//! written against Odoo 19 (Python's xmlrpc.client) creates accounts with
//! Odoo's `account_type`s, a bank journal (`type`), a customer invoice,
//! posts it, pays it through `account.payment.register` and reads
//! `payment_state: "paid"`; vendor bills and partial payments; and what
//! Odoo refuses (an unbalanced entry, posting twice, paying a draft, a
//! selection value that is not Odoo's) is refused with Odoo's error kind,
//! the data unchanged.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, id, ok, refused};
use serde_json::{Value, json};

on_both! {
    an_odoo_19_script_invoices_and_registers_the_payment => odoo_script;
    vendor_bills_post_payable_and_pay_partially => vendor_bills;
    what_odoo_refuses_is_refused_and_changes_nothing => hostile;
}

const USER_ERROR: &str = "odoo.exceptions.UserError";
const VALIDATION_ERROR: &str = "odoo.exceptions.ValidationError";

fn odoo_script(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["addons"]);
    pulse.ok(&["install", "account"]);
    let server = pulse.serve();
    let out = pulse_testing::python_script(
        "odoo_invoice_payment.py",
        &[&server.url, &pulse.db_name, "admin", "admin"],
    );
    let got: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    // Draft: Odoo's defaults (the sale journal, the invoice date) and amounts.
    let draft = &got["draft"];
    assert_eq!(draft["state"], "draft", "{got}");
    assert_eq!(draft["name"], "/");
    assert_eq!(draft["amount_untaxed"], json!(1000.0));
    assert_eq!(draft["amount_total"], json!(1000.0));
    assert_eq!(draft["payment_state"], "not_paid");
    assert_eq!(draft["date"], "2026-03-02");
    assert_eq!(draft["journal_id"][1], "Customer Invoices", "{got}");
    // Posted: numbered as Odoo numbers, the receivable item added.
    let posted = &got["posted"];
    assert_eq!(posted["state"], "posted");
    assert_eq!(posted["name"], "INV/2026/00001");
    assert_eq!(posted["amount_residual"], json!(1000.0));
    assert_eq!(posted["payment_state"], "not_paid");
    let items = got["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{got}");
    let kinds: Vec<(&str, f64, f64)> = items
        .iter()
        .map(|l| {
            (
                l["display_type"].as_str().unwrap(),
                l["debit"].as_f64().unwrap(),
                l["credit"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("product", 0.0, 300.0),
            ("product", 0.0, 700.0),
            ("payment_term", 1000.0, 0.0)
        ]
    );
    assert_eq!(items[0]["price_subtotal"], json!(300.0));
    assert_eq!(items[2]["amount_residual"], json!(1000.0));
    let receivable = items[2]["account_id"][1].as_str().unwrap_or_default();
    assert!(receivable.contains("Account Receivable"), "{got}");
    // The wizard's defaults come from the context's invoice.
    let wizard = &got["wizard"];
    assert_eq!(wizard["amount"], json!(1000.0));
    assert_eq!(wizard["payment_type"], "inbound");
    assert_eq!(wizard["partner_type"], "customer");
    assert_eq!(wizard["partner_id"][1], "Azure Interior");
    assert_eq!(wizard["communication"], "INV/2026/00001");
    assert_eq!(got["action"]["type"], "ir.actions.act_window");
    assert_eq!(got["action"]["res_model"], "account.payment");
    // Paid: a bank journal's payment books on the bank account, paid at once.
    let paid = &got["paid"];
    assert_eq!(paid["payment_state"], "paid", "{got}");
    assert_eq!(paid["amount_residual"], json!(0.0));
    let payment = &got["payment"];
    assert_eq!(payment["state"], "paid");
    assert_eq!(payment["amount"], json!(1000.0));
    assert_eq!(payment["name"], "BNK1/2026/00001");
    assert_eq!(
        got["bank_items"],
        json!([{"id": got["bank_items"][0]["id"], "debit": 1000.0, "credit": 0.0}])
    );
}

/// The chart and journals the Rust-side tests share.
struct Books {
    admin: Rpc,
    bank: i64,
    payable: i64,
    expense: i64,
    purchases: i64,
    bank_journal: i64,
    general: i64,
    vendor: i64,
}

fn books(backend: Backend) -> (Pulse, pulse_testing::Server, Books) {
    build_addons();
    let pulse = Pulse::on(backend, &["addons"]);
    pulse.ok(&["install", "account"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let mut account = |code: &str, kind: &str| {
        id(ok(
            &mut admin,
            "account.account",
            "create",
            json!([{"code": code, "name": format!("Account {code}"), "account_type": kind}]),
        ))
    };
    let bank = account("1010", "asset_cash");
    account("1200", "asset_receivable");
    let payable = account("2000", "liability_payable");
    let expense = account("6000", "expense");
    let mut journal = |code: &str, kind: &str, default: i64| {
        id(ok(
            &mut admin,
            "account.journal",
            "create",
            json!([{"code": code, "name": code, "type": kind, "default_account_id": default}]),
        ))
    };
    let purchases = journal("BILL", "purchase", expense);
    let bank_journal = journal("BNK1", "bank", bank);
    let general = journal("MISC", "general", expense);
    let vendor = id(ok(
        &mut admin,
        "res.partner",
        "create",
        json!([{"name": "Wood Corner"}]),
    ));
    let books = Books {
        admin,
        bank,
        payable,
        expense,
        purchases,
        bank_journal,
        general,
        vendor,
    };
    (pulse, server, books)
}

fn read_one(rpc: &mut Rpc, model: &str, id: i64, fields: &[&str]) -> Value {
    ok(rpc, model, "read", json!([[id], fields]))[0].clone()
}

fn vendor_bills(backend: Backend) {
    let (_pulse, _server, mut b) = books(backend);
    let account = ok(
        &mut b.admin,
        "account.account",
        "read",
        json!([[b.payable], ["reconcile", "internal_group", "company_ids"]]),
    );
    // Payable accounts reconcile by default; the group is computed; the company set.
    assert_eq!(account[0]["reconcile"], json!(true), "{account}");
    assert_eq!(account[0]["internal_group"], "liability");
    assert_eq!(account[0]["company_ids"].as_array().map(Vec::len), Some(1));
    let bill = id(ok(
        &mut b.admin,
        "account.move",
        "create",
        json!([{
            "move_type": "in_invoice", "partner_id": b.vendor, "invoice_date": "2026-02-10",
            "ref": "WC-889",
            "invoice_line_ids": [[0, 0, {"name": "Planks", "quantity": 4, "price_unit": 25.0}]],
        }]),
    ));
    ok(&mut b.admin, "account.move", "action_post", json!([[bill]]));
    let posted = read_one(
        &mut b.admin,
        "account.move",
        bill,
        &[
            "name",
            "journal_id",
            "amount_total",
            "amount_residual",
            "payment_state",
        ],
    );
    assert_eq!(posted["name"], "BILL/2026/00001", "{posted}");
    assert_eq!(posted["journal_id"][0], json!(b.purchases));
    assert_eq!(posted["amount_total"], json!(100.0));
    let lines = ok(
        &mut b.admin,
        "account.move.line",
        "search_read",
        json!([
            [["move_id", "=", bill]],
            ["account_id", "debit", "credit", "display_type"]
        ]),
    );
    let by_account = |account: i64| {
        lines
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["account_id"][0] == json!(account))
            .cloned()
            .unwrap_or_else(|| panic!("no line on {account}: {lines}"))
    };
    assert_eq!(by_account(b.expense)["debit"], json!(100.0));
    assert_eq!(by_account(b.payable)["credit"], json!(100.0));
    assert_eq!(by_account(b.payable)["display_type"], "payment_term");
    // A payment of 40 out of the bank: partial, then the rest: paid.
    let pay = |admin: &mut Rpc, amount: f64| {
        let payment = id(ok(
            admin,
            "account.payment",
            "create",
            json!([{
                "payment_type": "outbound", "partner_type": "supplier", "partner_id": b.vendor,
                "amount": amount, "journal_id": b.bank_journal, "date": "2026-02-20",
                "invoice_ids": [[6, 0, [bill]]],
            }]),
        ));
        ok(admin, "account.payment", "action_post", json!([[payment]]));
        payment
    };
    let first = pay(&mut b.admin, 40.0);
    let partial = read_one(
        &mut b.admin,
        "account.move",
        bill,
        &["amount_residual", "payment_state"],
    );
    assert_eq!(partial["payment_state"], "partial", "{partial}");
    assert_eq!(partial["amount_residual"], json!(60.0));
    let payment = read_one(
        &mut b.admin,
        "account.payment",
        first,
        &["state", "move_id"],
    );
    assert_eq!(payment["state"], "paid");
    pay(&mut b.admin, 60.0);
    let paid = read_one(
        &mut b.admin,
        "account.move",
        bill,
        &["amount_residual", "payment_state"],
    );
    assert_eq!(paid["payment_state"], "paid", "{paid}");
    assert_eq!(paid["amount_residual"], json!(0.0));
    let bank = ok(
        &mut b.admin,
        "account.move.line",
        "search_read",
        json!([[["account_id", "=", b.bank]], ["credit"]]),
    );
    let paid_out: f64 = bank
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["credit"].as_f64().unwrap())
        .sum();
    assert_eq!(paid_out, 100.0);
    // A paid bill is not taken back to draft behind its payments' back.
    let (kind, message) = refused(
        &mut b.admin,
        "account.move",
        "button_draft",
        json!([[bill]]),
    );
    assert_eq!(kind, USER_ERROR, "{message}");
}

fn hostile(backend: Backend) {
    let (_pulse, server, mut b) = books(backend);
    // Selection values that are not Odoo's: ValidationError, nothing created.
    let accounts_before = ok(&mut b.admin, "account.account", "search_count", json!([[]]));
    for made_up in ["asset", "liability", "bank"] {
        let (kind, message) = refused(
            &mut b.admin,
            "account.account",
            "create",
            json!([{"code": "9999", "name": "Made up", "account_type": made_up}]),
        );
        assert_eq!(kind, VALIDATION_ERROR, "{made_up}: {message}");
        assert!(message.contains("account_type"), "{message}");
    }
    let (kind, message) = refused(
        &mut b.admin,
        "account.journal",
        "create",
        json!([{"code": "X", "name": "X", "type": "bank_and_cash"}]),
    );
    assert_eq!(kind, VALIDATION_ERROR, "{message}");
    let (kind, message) = refused(
        &mut b.admin,
        "account.move",
        "create",
        json!([{"move_type": "invoice", "journal_id": b.general}]),
    );
    assert_eq!(kind, VALIDATION_ERROR, "{message}");
    // A receivable account that does not reconcile: Odoo's constraint.
    let (kind, message) = refused(
        &mut b.admin,
        "account.account",
        "create",
        json!([{"code": "1210", "name": "Bad", "account_type": "asset_receivable", "reconcile": false}]),
    );
    assert_eq!(kind, VALIDATION_ERROR, "{message}");
    assert!(message.contains("not reconcilable"), "{message}");
    assert_eq!(
        ok(&mut b.admin, "account.account", "search_count", json!([[]])),
        accounts_before
    );

    // An unbalanced entry stays a draft, unnumbered.
    let unbalanced = id(ok(
        &mut b.admin,
        "account.move",
        "create",
        json!([{"journal_id": b.general, "date": "2026-03-01", "line_ids": [
            [0, 0, {"account_id": b.bank, "debit": 100.0}],
            [0, 0, {"account_id": b.expense, "credit": 90.0}],
        ]}]),
    ));
    let (kind, message) = refused(
        &mut b.admin,
        "account.move",
        "action_post",
        json!([[unbalanced]]),
    );
    assert_eq!(kind, USER_ERROR, "{message}");
    assert!(message.contains("not balanced"), "{message}");
    let entry = read_one(&mut b.admin, "account.move", unbalanced, &["state", "name"]);
    assert_eq!(
        entry,
        json!({"id": unbalanced, "state": "draft", "name": "/"})
    );

    // Posting twice: refused, the number and the journal's sequence kept.
    let bill = id(ok(
        &mut b.admin,
        "account.move",
        "create",
        json!([{"move_type": "in_invoice", "partner_id": b.vendor, "invoice_date": "2026-03-03",
            "invoice_line_ids": [[0, 0, {"name": "Glue", "price_unit": 12.5}]]}]),
    ));
    ok(&mut b.admin, "account.move", "action_post", json!([[bill]]));
    let (kind, message) = refused(&mut b.admin, "account.move", "action_post", json!([[bill]]));
    assert_eq!(kind, USER_ERROR, "{message}");
    assert!(message.contains("is already posted"), "{message}");
    let posted = read_one(
        &mut b.admin,
        "account.move",
        bill,
        &["name", "amount_total"],
    );
    assert_eq!(posted["name"], "BILL/2026/00001");
    assert_eq!(posted["amount_total"], json!(12.5));
    let lines = ok(
        &mut b.admin,
        "account.move.line",
        "search_count",
        json!([[["move_id", "=", bill]]]),
    );
    assert_eq!(lines, json!(2));
    // Clients cannot write what posting computes.
    let (kind, message) = refused(
        &mut b.admin,
        "account.move",
        "write",
        json!([[bill], {"payment_state": "paid"}]),
    );
    assert_eq!(kind, VALIDATION_ERROR, "{message}");

    // Paying a draft invoice: refused by the wizard and by the payment.
    let draft = id(ok(
        &mut b.admin,
        "account.move",
        "create",
        json!([{"move_type": "in_invoice", "partner_id": b.vendor, "invoice_date": "2026-03-04",
            "invoice_line_ids": [[0, 0, {"name": "Nails", "price_unit": 3.0}]]}]),
    ));
    let context = json!({"context": {"active_model": "account.move", "active_ids": [draft]}});
    let error = b
        .admin
        .call(
            "account.payment.register",
            "create",
            json!([{"journal_id": b.bank_journal}]),
            context,
        )
        .expect_err("paying a draft is refused");
    assert_eq!(error["data"]["name"], USER_ERROR, "{error}");
    assert!(
        error["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("posted journal entries"),
        "{error}"
    );
    let payment = id(ok(
        &mut b.admin,
        "account.payment",
        "create",
        json!([{"payment_type": "outbound", "partner_type": "supplier", "amount": 3.0,
            "journal_id": b.bank_journal, "invoice_ids": [[6, 0, [draft]]]}]),
    ));
    let (kind, message) = refused(
        &mut b.admin,
        "account.payment",
        "action_post",
        json!([[payment]]),
    );
    assert_eq!(kind, USER_ERROR, "{message}");
    let after = read_one(
        &mut b.admin,
        "account.payment",
        payment,
        &["state", "move_id"],
    );
    assert_eq!(after["state"], "draft");
    assert_eq!(after["move_id"], json!(false));
    let still = read_one(
        &mut b.admin,
        "account.move",
        draft,
        &["state", "payment_state"],
    );
    assert_eq!(still["payment_state"], "not_paid");
    assert_eq!(still["state"], "draft");
    // The wizard without invoices in the context, and on a paid invoice.
    let (kind, _) = refused(
        &mut b.admin,
        "account.payment.register",
        "create",
        json!([{"journal_id": b.bank_journal}]),
    );
    assert_eq!(kind, USER_ERROR);
    // Nothing was booked in the bank.
    let bank_items = ok(
        &mut b.admin,
        "account.move.line",
        "search_count",
        json!([[["account_id", "=", b.bank], ["parent_state", "=", "posted"]]]),
    );
    assert_eq!(bank_items, json!(0));
    crate::hostile::assert_serving(&server);
}
