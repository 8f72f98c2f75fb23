//! Hostile tests: the ORM's integrity. An accountant of `account` tries to
//! rewrite a posted journal entry through x2many commands, to reach lines
//! of other entries, to post by writing `state`, to copy an entry with its
//! number; clients send impossible dates and NUL bytes, provoke database
//! errors and send id lists past the engines' parameter limits.

use serde_json::{Value, json};

use super::assert_serving;
use pulse_testing::{Backend, Pulse, Rpc, Server, build_addons, id, ok, refused};

on_both! {
    x2many_commands_cannot_rewrite_a_posted_entry => posted_entry_lines;
    x2many_commands_act_only_on_linked_records => unlinked_lines;
    readonly_fields_cannot_be_set_by_clients => readonly_fields;
    a_copy_is_a_fresh_draft_that_keeps_the_lock => copies;
    dates_are_calendar_dates => calendar_dates;
    read_group_survives_bad_stored_dates => bad_stored_dates;
    nul_bytes_are_refused_alike => nul_bytes;
    database_errors_reach_clients_as_a_reference => database_errors;
    id_lists_past_the_parameter_limit_work => long_id_lists;
}

/// `account` installed, a server, the admin and an accountant.
struct Ledger {
    pulse: Pulse,
    server: Server,
    admin: Rpc,
    accountant: Rpc,
    cash: i64,
    revenue: i64,
    journal: i64,
}

fn ledger(backend: Backend, log: Option<&std::path::Path>) -> Ledger {
    build_addons();
    let pulse = Pulse::on(backend, &["addons"]);
    pulse.ok(&["install", "account"]);
    // The log is the process's: only a test that reads it needs one.
    let server = match log {
        Some(_) => pulse.serve_logging(log),
        None => pulse.serve_in_process(),
    };
    let mut admin = pulse.admin(&server);
    let account = |admin: &mut Rpc, code: &str, kind: &str| {
        id(ok(
            admin,
            "account.account",
            "create",
            json!([{"code": code, "name": code, "account_type": kind}]),
        ))
    };
    let cash = account(&mut admin, "1010", "asset_cash");
    let revenue = account(&mut admin, "4000", "income");
    let journal = id(ok(
        &mut admin,
        "account.journal",
        "create",
        json!([{"code": "GEN", "name": "Miscellaneous", "type": "general"}]),
    ));
    let group = ok(
        &mut admin,
        "res.groups",
        "search",
        json!([[["name", "=", "Accounting / Accountant"]]]),
    );
    ok(
        &mut admin,
        "res.users",
        "create",
        json!([{"login": "acc", "name": "Accountant", "password": "Acc-S3cret-pw!7",
                "group_ids": [[6, 0, group]]}]),
    );
    let mut accountant = Rpc::new(&server);
    let login = accountant.post(
        "/web/session/authenticate",
        json!({"db": pulse.db_name, "login": "acc", "password": "Acc-S3cret-pw!7"}),
    );
    assert!(login.get("result").is_some(), "{login}");
    Ledger {
        pulse,
        server,
        admin,
        accountant,
        cash,
        revenue,
        journal,
    }
}

impl Ledger {
    /// A draft entry of `debit` to cash against `credit` to revenue.
    fn entry(&mut self, date: &str, debit: f64, credit: f64) -> i64 {
        id(ok(
            &mut self.accountant,
            "account.move",
            "create",
            json!([{
                "journal_id": self.journal, "date": date,
                "line_ids": [
                    [0, 0, {"account_id": self.cash, "debit": debit, "credit": 0.0}],
                    [0, 0, {"account_id": self.revenue, "debit": 0.0, "credit": credit}],
                ],
            }]),
        ))
    }

    fn posted(&mut self, date: &str, amount: f64) -> i64 {
        let entry = self.entry(date, amount, amount);
        ok(
            &mut self.accountant,
            "account.move",
            "action_post",
            json!([[entry]]),
        );
        entry
    }

    /// The entry's state, number and lines (id, debit, credit), as the admin reads them.
    fn snapshot(&mut self, entry: i64) -> Value {
        let head = ok(
            &mut self.admin,
            "account.move",
            "read",
            json!([[entry], ["state", "name", "line_ids"]]),
        );
        let lines = ok(
            &mut self.admin,
            "account.move.line",
            "search_read",
            json!([[["move_id", "=", entry]], ["debit", "credit"]]),
        );
        json!({"head": head, "lines": lines})
    }

    fn lines(&mut self, entry: i64) -> Vec<i64> {
        ok(
            &mut self.admin,
            "account.move.line",
            "search",
            json!([[["move_id", "=", entry]]]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
    }
}

fn posted_entry_lines(backend: Backend) {
    let mut l = ledger(backend, None);
    let posted = l.posted("2026-03-15", 100.0);
    let draft = l.entry("2026-03-16", 50.0, 50.0);
    let lines = l.lines(posted);
    let before = l.snapshot(posted);
    let draft_before = l.snapshot(draft);
    assert_eq!(before["head"][0]["state"], "posted");

    let attacks = [
        // On the posted entry itself.
        (posted, json!([[1, lines[0], {"debit": 999999}]])),
        (posted, json!([[2, lines[0]]])),
        (posted, json!([[3, lines[0]]])),
        (
            posted,
            json!([[0, 0, {"account_id": l.cash, "debit": 5.0}]]),
        ),
        (posted, json!([[5]])),
        (posted, json!([[6, 0, []]])),
        // Taking its lines away through a draft.
        (draft, json!([[4, lines[0]]])),
        (draft, json!([[6, 0, lines.clone()]])),
    ];
    for (target, commands) in attacks {
        let (kind, message) = refused(
            &mut l.accountant,
            "account.move",
            "write",
            json!([[target], {"line_ids": commands}]),
        );
        assert_eq!(kind, "odoo.exceptions.UserError", "{commands}: {message}");
        assert!(
            message.contains("Posted entries cannot be"),
            "{commands}: {message}"
        );
        assert_serving(&l.server);
        assert_eq!(l.snapshot(posted), before, "{commands}");
        assert_eq!(l.snapshot(draft), draft_before, "{commands}");
    }
    // A new entry may not take a posted line either.
    let (kind, message) = refused(
        &mut l.accountant,
        "account.move",
        "create",
        json!([{"journal_id": l.journal, "date": "2026-03-17", "line_ids": [[4, lines[1]]]}]),
    );
    assert_eq!(kind, "odoo.exceptions.UserError", "{message}");
    assert!(
        message.contains("Posted entries cannot be changed"),
        "{message}"
    );
    assert_serving(&l.server);
    assert_eq!(l.snapshot(posted), before);
    let entries = ok(&mut l.admin, "account.move", "search_count", json!([[]]));
    assert_eq!(entries, json!(2), "the refused create left nothing behind");

    // A draft's own lines still change through commands, with its total.
    let own = l.lines(draft);
    ok(
        &mut l.accountant,
        "account.move",
        "write",
        json!([[draft], {"line_ids": [[1, own[0], {"debit": 70.0}], [1, own[1], {"credit": 70.0}]]}]),
    );
    let total = ok(
        &mut l.admin,
        "account.move",
        "read",
        json!([[draft], ["amount_total"]]),
    );
    assert_eq!(total[0]["amount_total"], json!(70.0));
}

fn unlinked_lines(backend: Backend) {
    let mut l = ledger(backend, None);
    let mine = l.entry("2026-03-15", 10.0, 10.0);
    let other = l.entry("2026-03-16", 20.0, 20.0);
    let theirs = l.lines(other);
    let (mine_before, other_before) = (l.snapshot(mine), l.snapshot(other));
    for commands in [
        json!([[1, theirs[0], {"debit": 999999}]]),
        json!([[2, theirs[0]]]),
        json!([[3, theirs[0]]]),
        json!([[1, 987654, {"debit": 1.0}]]),
        json!([[2, 987654]]),
    ] {
        let (kind, message) = refused(
            &mut l.accountant,
            "account.move",
            "write",
            json!([[mine], {"line_ids": commands}]),
        );
        assert_eq!(
            kind, "odoo.exceptions.ValidationError",
            "{commands}: {message}"
        );
        assert!(
            message.contains("are not linked to account.move(")
                && message.contains("commands 1, 2 and 3 act only on linked records"),
            "{commands}: {message}"
        );
        assert_serving(&l.server);
        assert_eq!(l.snapshot(mine), mine_before, "{commands}");
        assert_eq!(l.snapshot(other), other_before, "{commands}");
    }
}

fn readonly_fields(backend: Backend) {
    let mut l = ledger(backend, None);
    let unbalanced = l.entry("2026-03-15", 100.0, 1.0);
    let before = l.snapshot(unbalanced);
    let (kind, message) = refused(
        &mut l.accountant,
        "account.move",
        "write",
        json!([[unbalanced], {"state": "posted"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(
        message.contains("(state) of model account.move is read-only"),
        "{message}"
    );
    assert_serving(&l.server);
    assert_eq!(l.snapshot(unbalanced), before);
    // The number, on create; and a readonly field inside x2many commands.
    let (kind, message) = refused(
        &mut l.accountant,
        "account.move",
        "create",
        json!([{"journal_id": l.journal, "date": "2026-03-15", "name": "GEN/2026/0999"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(
        message.contains("(name) of model account.move is read-only"),
        "{message}"
    );
    let (kind, message) = refused(
        &mut l.accountant,
        "account.journal",
        "write",
        json!([[l.journal], {"sequence_next": 1}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(message.contains("(sequence_next)"), "{message}");
    // Even the admin is a client: no readonly value through copy's default.
    let (kind, message) = refused(
        &mut l.admin,
        "account.move",
        "copy",
        json!([[unbalanced], {"state": "posted"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(message.contains("(state)"), "{message}");
    assert_serving(&l.server);
    assert_eq!(l.snapshot(unbalanced), before);
    let entries = ok(&mut l.admin, "account.move", "search_count", json!([[]]));
    assert_eq!(entries, json!(1));
    // The posting method, addon code, still sets state and number.
    let (_, message) = refused(
        &mut l.accountant,
        "account.move",
        "action_post",
        json!([[unbalanced]]),
    );
    assert!(message.contains("is not balanced"), "{message}");
    let balanced = l.posted("2026-03-16", 5.0);
    assert_eq!(l.snapshot(balanced)["head"][0]["name"], "GEN/2026/00001");
}

fn copies(backend: Backend) {
    let mut l = ledger(backend, None);
    let posted = l.posted("2026-03-15", 100.0);
    let before = l.snapshot(posted);
    assert_eq!(before["head"][0]["name"], "GEN/2026/00001");
    let copy = id(ok(
        &mut l.accountant,
        "account.move",
        "copy",
        json!([[posted]]),
    ));
    let copied = l.snapshot(copy);
    assert_eq!(copied["head"][0]["state"], "draft", "{copied}");
    assert_eq!(copied["head"][0]["name"], "/", "{copied}");
    // Its lines come along (account.move.line_ids says copy = true), as new lines.
    let amounts = |v: &Value| {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| (line["debit"].clone(), line["credit"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(amounts(&copied), amounts(&before));
    let (new_lines, old_lines) = (l.lines(copy), l.lines(posted));
    assert!(new_lines.iter().all(|line| !old_lines.contains(line)));
    assert_eq!(l.snapshot(posted), before, "the original is untouched");

    // Into a locked period: the copy is a draft, and posting it meets the lock.
    ok(
        &mut l.admin,
        "account.journal",
        "write",
        json!([[l.journal], {"lock_date": "2026-03-31"}]),
    );
    let locked = id(ok(
        &mut l.accountant,
        "account.move",
        "copy",
        json!([[posted]]),
    ));
    let copied = l.snapshot(locked);
    assert_eq!(copied["head"][0]["state"], "draft", "{copied}");
    assert_eq!(copied["head"][0]["name"], "/", "{copied}");
    let (kind, message) = refused(
        &mut l.accountant,
        "account.move",
        "action_post",
        json!([[locked]]),
    );
    assert_eq!(kind, "odoo.exceptions.UserError", "{message}");
    assert!(message.contains("locked through 2026-03-31"), "{message}");
    assert_serving(&l.server);
    assert_eq!(l.snapshot(locked), copied);
    assert_eq!(l.snapshot(posted), before);
}

fn calendar_dates(backend: Backend) {
    let mut l = ledger(backend, None);
    let entry = l.entry("2026-03-15", 1.0, 1.0);
    let before = l.snapshot(entry);
    for bad in ["2026-13-01", "2026-02-30", "2026-00-10"] {
        let (kind, message) = refused(
            &mut l.accountant,
            "account.move",
            "create",
            json!([{"journal_id": l.journal, "date": bad}]),
        );
        assert_eq!(kind, "odoo.exceptions.ValidationError", "{bad}: {message}");
        assert!(message.contains("account.move.date"), "{bad}: {message}");
        let (kind, message) = refused(
            &mut l.accountant,
            "account.move",
            "write",
            json!([[entry], {"date": bad}]),
        );
        assert_eq!(kind, "odoo.exceptions.ValidationError", "{bad}: {message}");
        assert!(message.contains("account.move.date"), "{bad}: {message}");
        let (kind, message) = refused(
            &mut l.accountant,
            "account.move",
            "search",
            json!([[["date", ">=", bad]]]),
        );
        assert_eq!(kind, "odoo.exceptions.ValidationError", "{bad}: {message}");
        assert!(message.contains("account.move.date"), "{bad}: {message}");
        assert_serving(&l.server);
        assert_eq!(l.snapshot(entry), before);
    }
    let entries = ok(&mut l.admin, "account.move", "search_count", json!([[]]));
    assert_eq!(entries, json!(1));
    // A leap day is a day.
    ok(
        &mut l.accountant,
        "account.move",
        "write",
        json!([[entry], {"date": "2028-02-29"}]),
    );
}

fn bad_stored_dates(backend: Backend) {
    let mut l = ledger(backend, None);
    let good = l.entry("2026-03-15", 1.0, 1.0);
    let bad = l.entry("2026-04-15", 2.0, 2.0);
    // As a row written before dates were checked, or by hand.
    l.pulse.strings(&format!(
        "UPDATE account_move SET date = '2026-13-01' WHERE id = {bad}"
    ));
    for groupby in [
        "date:month",
        "date:day",
        "date:week",
        "date:quarter",
        "date:year",
    ] {
        let groups = ok(
            &mut l.accountant,
            "account.move",
            "read_group",
            json!([[], ["amount_total:sum"], [groupby]]),
        );
        let groups = groups.as_array().unwrap();
        // Both entries are of 2026, whatever their months.
        let expected = if groupby == "date:year" { 1 } else { 2 };
        assert_eq!(groups.len(), expected, "{groupby}: {groups:?}");
        assert_serving(&l.server);
    }
    let months = ok(
        &mut l.accountant,
        "account.move",
        "read_group",
        json!([[], ["amount_total:sum"], ["date:month"]]),
    );
    let labels: Vec<&str> = months
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["date:month"].as_str())
        .collect();
    assert_eq!(labels, ["March 2026", "2026-13"], "{months}");
    // Everyone else is still served.
    let entries = ok(&mut l.admin, "account.move", "search", json!([[]]));
    assert_eq!(entries, json!([good, bad]));
}

fn nul_bytes(backend: Backend) {
    let mut l = ledger(backend, None);
    let entry = l.entry("2026-03-15", 1.0, 1.0);
    let before = l.snapshot(entry);
    let expected =
        "Wrong value for account.move.ref: text may not contain the NUL character (\\x00)";
    let attempts = [
        (
            "create",
            json!([{"journal_id": l.journal, "date": "2026-03-15", "ref": "INV\u{0}1"}]),
        ),
        ("write", json!([[entry], {"ref": "INV\u{0}1"}])),
        ("search", json!([[["ref", "=", "INV\u{0}1"]]])),
        ("search", json!([[["ref", "ilike", "\u{0}"]]])),
    ];
    for (method, args) in attempts {
        let (kind, message) = refused(&mut l.accountant, "account.move", method, args.clone());
        assert_eq!(kind, "odoo.exceptions.ValidationError", "{args}: {message}");
        assert_eq!(message, expected, "{args}");
        assert_serving(&l.server);
        assert_eq!(l.snapshot(entry), before);
    }
    // In a line created through the entry's commands too.
    let (kind, message) = refused(
        &mut l.accountant,
        "account.move",
        "write",
        json!([[entry], {"line_ids": [[0, 0, {"account_id": l.cash, "name": "a\u{0}b"}]]}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(message.contains("account.move.line.name"), "{message}");
    assert_eq!(l.snapshot(entry), before);
}

fn database_errors(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut l = ledger(backend, Some(&log));
    // A forced failure the ORM cannot map: a table gone behind its back.
    l.pulse
        .strings("ALTER TABLE account_account RENAME TO account_account_gone");
    let (kind, message) = refused(
        &mut l.accountant,
        "account.account",
        "search_read",
        json!([[], ["code", "tax_tag"]]),
    );
    assert_eq!(kind, "psycopg2.Error", "{message}");
    let reference = message
        .strip_prefix("A database error occurred (reference ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a generic message with a reference: {message}"));
    assert!(
        !message.contains("account_account"),
        "no database text: {message}"
    );
    assert_serving(&l.server);
    // The log carries the reference beside the real error.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|line| line.contains(reference)) {
            break line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reference {reference} not in the log:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        line.contains("account_account"),
        "the real error is logged: {line}"
    );
    l.pulse
        .strings("ALTER TABLE account_account_gone RENAME TO account_account");
    let codes = ok(
        &mut l.accountant,
        "account.account",
        "search_read",
        json!([[], ["code"]]),
    );
    assert_eq!(codes.as_array().unwrap().len(), 2);
    // Mapped constraint messages keep their words.
    let (kind, message) = refused(
        &mut l.admin,
        "account.account",
        "create",
        json!([{"code": "1010", "name": "Again", "account_type": "asset_cash"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError", "{message}");
    assert!(message.contains("must be unique"), "{message}");
}

/// More ids than SQLite (32,766) and PostgreSQL (65,535) bind in one statement.
const MANY: i64 = 70_000;

fn long_id_lists(backend: Backend) {
    let mut l = ledger(backend, None);
    l.pulse.strings(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MANY}) \
         INSERT INTO account_account (code, name, account_type) \
         SELECT 'X' || CAST(i AS TEXT), 'Bulk', 'asset_current' FROM n"
    ));
    let bulk = ok(
        &mut l.accountant,
        "account.account",
        "search",
        json!([[["name", "=", "Bulk"]]]),
    );
    let ids: Vec<i64> = bulk
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), MANY as usize);
    for n in [40_000, MANY as usize] {
        let some = &ids[..n];
        let read = ok(
            &mut l.accountant,
            "account.account",
            "read",
            json!([some, ["code"]]),
        );
        assert_eq!(read.as_array().unwrap().len(), n);
        let found = ok(
            &mut l.accountant,
            "account.account",
            "search_count",
            json!([[["id", "in", some]]]),
        );
        assert_eq!(found, json!(n));
        let outside = ok(
            &mut l.accountant,
            "account.account",
            "search_count",
            json!([[["id", "not in", some]]]),
        );
        assert_eq!(outside, json!(2 + MANY as usize - n));
        assert_serving(&l.server);
    }
    ok(
        &mut l.admin,
        "account.account",
        "write",
        json!([ids, {"tax_tag": "bulk"}]),
    );
    let tagged = ok(
        &mut l.admin,
        "account.account",
        "search_count",
        json!([[["tax_tag", "=", "bulk"]]]),
    );
    assert_eq!(tagged, json!(MANY));
    ok(&mut l.admin, "account.account", "unlink", json!([ids]));
    assert_serving(&l.server);
    let left = ok(
        &mut l.admin,
        "account.account",
        "search_read",
        json!([[], ["code"]]),
    );
    assert_eq!(
        left,
        json!([{"id": l.cash, "code": "1010"}, {"id": l.revenue, "code": "4000"}])
    );
}
