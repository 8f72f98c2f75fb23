//! Hostile tests: domains and relations. Logged-in users of different
//! groups send domains that once overflowed the stack (a path of thousands
//! of fields), that are merely huge (many terms, deep `!` nesting, nested
//! `any`), and that reach other models through relations to learn what
//! those models' access rights and record rules hide (`user_id.login
//! =like 'ad%'` one letter at a time); they read records whose relations
//! point at hidden records; and an addon whose related fields loop is
//! installed. Each case gets its exact error (or nothing hidden), the
//! server keeps serving, and the data is unchanged.
//!
//! The lab: `hr` and `account` from `addons/`, and the fixture
//! `links_to_hidden_records` (folders every internal user reads, linked to
//! secrets a rule keeps to their owner). `ivy` and `bob` are internal users
//! (no right on `res.users`); `acc` is an accountant.

use serde_json::{Value, json};

use super::assert_serving;
use pulse_testing::{Backend, Pulse, Rpc, build_addons, id, ok, refused};
use pulse_testing::{create_user, groups_named};

on_both! {
    hostile_domain_shapes_get_a_clear_error => hostile_shapes;
    a_search_through_a_relation_needs_read_access_to_the_comodel => comodel_rights;
    a_search_through_a_relation_matches_only_what_the_comodels_rules_show => comodel_rules;
    reads_through_a_relation_hide_what_the_targets_rules_hide => reads;
    related_fields_that_loop_are_refused_at_install => related_cycle;
}

const IVY_PASSWORD: &str = "Ivy-S3cret-pw!4";
const BOB_PASSWORD: &str = "Bob-S3cret-pw!5";
const ACC_PASSWORD: &str = "Acc-S3cret-pw!6";

const VALUE_ERROR: &str = "builtins.ValueError";
const ACCESS_ERROR: &str = "odoo.exceptions.AccessError";

struct Lab {
    pulse: Pulse,
    server: pulse_testing::Server,
    admin: Rpc,
    /// Ivy's user id.
    ivy: i64,
    /// Secrets A (Ivy's), B (Bob's, child of A), C (Ivy's, child of B).
    secrets: [i64; 3],
    /// F1 (secret B; secrets A, B, C; note A; member admin), F2 (secret
    /// C; note B), F3 (secret A).
    folders: [i64; 3],
    /// An entry's lines, for paths through `account.move.line`.
    lines: Vec<i64>,
}

fn lab(backend: Backend) -> Lab {
    build_addons();
    let pulse = Pulse::on(backend, &["addons", "tests/fixtures/addons"]);
    pulse.ok(&["install", "hr", "account", "links_to_hidden_records"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let internal = groups_named(&mut admin, "Internal User");
    let billing = groups_named(&mut admin, "Accounting / Billing");
    let mut user = |login: &str, password: &str, groups: &Value| {
        create_user(
            &mut admin,
            login,
            &login.to_uppercase(),
            Some(password),
            groups,
        )
    };
    let ivy = user("ivy", IVY_PASSWORD, &internal);
    let bob = user("bob", BOB_PASSWORD, &internal);
    user("acc", ACC_PASSWORD, &billing);

    // Employees: the admin's, and Ivy's under it.
    let boss = id(ok(
        &mut admin,
        "hr.employee",
        "create",
        json!([{"name": "Admin Employee", "user_id": 1}]),
    ));
    ok(
        &mut admin,
        "hr.employee",
        "create",
        json!([{"name": "Ivy Employee", "user_id": ivy, "parent_id": boss}]),
    );

    let mut secret = |name: &str, owner: i64, parent: Option<i64>| {
        id(ok(
            &mut admin,
            "lab.secret",
            "create",
            json!([{"name": name, "owner_id": owner,
                    "parent_id": parent.map_or(json!(false), |p| json!(p))}]),
        ))
    };
    let a = secret("A", ivy, None);
    let b = secret("B", bob, Some(a));
    let c = secret("C", ivy, Some(b));
    let mut folder = |values: Value| id(ok(&mut admin, "lab.folder", "create", json!([values])));
    let f1 = folder(
        json!({"name": "F1", "secret_id": b, "secret_ids": [[6, 0, [a, b, c]]],
                           "member_ids": [[6, 0, [1]]]}),
    );
    let f2 = folder(json!({"name": "F2", "secret_id": c}));
    let f3 = folder(json!({"name": "F3", "secret_id": a}));
    ok(
        &mut admin,
        "lab.secret",
        "write",
        json!([[a], {"folder_id": f1}]),
    );
    ok(
        &mut admin,
        "lab.secret",
        "write",
        json!([[b], {"folder_id": f2}]),
    );

    // One entry with two lines.
    let account = |admin: &mut Rpc, code: &str, kind: &str| {
        id(ok(
            admin,
            "account.account",
            "create",
            json!([{"code": code, "name": format!("Account {code}"), "account_type": kind}]),
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
    let entry = id(ok(
        &mut admin,
        "account.move",
        "create",
        json!([{
            "journal_id": journal, "date": "2026-03-15",
            "line_ids": [
                [0, 0, {"account_id": cash, "name": "cash", "debit": 100.0, "credit": 0.0}],
                [0, 0, {"account_id": revenue, "name": "revenue", "debit": 0.0, "credit": 100.0}],
            ],
        }]),
    ));
    let lines: Vec<i64> = serde_json::from_value(
        ok(
            &mut admin,
            "account.move",
            "read",
            json!([[entry], ["line_ids"]]),
        )[0]["line_ids"]
            .clone(),
    )
    .unwrap();
    assert_eq!(lines.len(), 2);
    Lab {
        pulse,
        server,
        admin,
        ivy,
        secrets: [a, b, c],
        folders: [f1, f2, f3],
        lines,
    }
}

fn login(lab: &Lab, login: &str, password: &str) -> Rpc {
    pulse_testing::logged_in(&lab.server, &lab.pulse.db_name, login, password)
}

/// Everything the attacks aim at, straight from the database.
fn snapshot(pulse: &Pulse) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT name FROM lab_secret ORDER BY id",
        "SELECT name FROM lab_folder ORDER BY id",
        "SELECT name FROM hr_employee ORDER BY id",
        "SELECT login FROM res_users ORDER BY id",
        "SELECT name FROM account_move_line ORDER BY id",
    ] {
        rows.extend(pulse.strings(sql));
    }
    for sql in [
        "SELECT COUNT(*) FROM lab_folder_lab_secret_rel",
        "SELECT COUNT(*) FROM lab_secret WHERE folder_id IS NOT NULL",
        "SELECT COUNT(*) FROM account_move",
    ] {
        rows.push(pulse.scalar(sql).to_string());
    }
    rows
}

/// After an attack: still serving, nothing changed.
fn unharmed(lab: &Lab, before: &[String]) {
    assert_serving(&lab.server);
    assert_eq!(snapshot(&lab.pulse), before, "the data changed");
}

fn ids(value: Value) -> Vec<i64> {
    let mut ids: Vec<i64> = serde_json::from_value(value).expect("a list of ids");
    ids.sort_unstable();
    ids
}

/// `method` of `model` with `domain` as its first argument, for every
/// searching method (each with its own arguments).
fn searches(domain: &Value) -> Vec<(&'static str, Value)> {
    vec![
        ("search", json!([domain])),
        ("search_count", json!([domain])),
        ("search_read", json!([domain, ["id"]])),
        ("read_group", json!([domain, [], ["name"]])),
        ("name_search", json!(["", domain])),
    ]
}

fn hostile_shapes(backend: Backend) {
    let lab = lab(backend);
    let before = snapshot(&lab.pulse);
    let mut acc = login(&lab, "acc", ACC_PASSWORD);

    // A path of 3,001 fields, `move_id.line_ids.move_id.…`: it once
    // overflowed a worker's stack and aborted the process.
    let path = ["move_id", "line_ids"].repeat(1_500).join(".") + ".name";
    for (method, args) in searches(&json!([[path, "=", "cash"]])) {
        let (kind, message) = refused(&mut acc, "account.move.line", method, args);
        assert_eq!(kind, VALUE_ERROR, "{method}: {message}");
        assert!(
            message.contains("goes through 3001 fields, more than the 16 a path may have"),
            "{method}: {message}"
        );
        assert!(message.len() < 400, "{method} echoes the whole path back");
        unharmed(&lab, &before);
    }
    // Sixteen fields are fine.
    let path = ["move_id", "line_ids"].repeat(7).join(".") + ".move_id.name";
    assert_eq!(path.split('.').count(), 16);
    assert_eq!(
        ok(
            &mut acc,
            "account.move.line",
            "search_count",
            json!([[[path, "=", "/"]]])
        ),
        json!(2)
    );

    // Very many terms.
    let many: Vec<Value> = (0..20_000).map(|i| json!(["id", "=", i])).collect();
    let (kind, message) = refused(&mut acc, "account.move.line", "search_count", json!([many]));
    assert_eq!(kind, VALUE_ERROR);
    assert!(
        message.contains("20000 terms, more than the 10000 allowed"),
        "{message}"
    );
    unharmed(&lab, &before);

    // Deep `!` nesting, and `!` and `|` alternating.
    let mut nots: Vec<Value> = vec![json!("!"); 9_000];
    nots.push(json!(["id", "=", 1]));
    let mut alternating = Vec::new();
    for _ in 0..2_000 {
        alternating.extend([json!("!"), json!("|"), json!(["id", "=", 1])]);
    }
    alternating.push(json!(["id", "=", 2]));
    // `any` inside `any`, forty deep.
    let mut nested = json!([["id", "=", lab.lines[0]]]);
    for level in 0..40 {
        let field = if level % 2 == 0 {
            "line_ids"
        } else {
            "move_id"
        };
        nested = json!([[field, "any", nested]]);
    }
    for domain in [json!(nots), json!(alternating), nested] {
        let (kind, message) = refused(
            &mut acc,
            "account.move.line",
            "search_count",
            json!([domain]),
        );
        assert_eq!(kind, VALUE_ERROR);
        assert!(
            message.contains("operators nest more than 32 deep"),
            "{message}"
        );
        unharmed(&lab, &before);
    }

    // A long OR as Odoo's `OR()` writes it ('|' * 4,999, then the leaves)
    // is one level, not 4,999.
    let mut or: Vec<Value> = vec![json!("|"); 4_999];
    or.extend((0..5_000).map(|i| json!(["id", "=", lab.lines[0] + i])));
    assert_eq!(
        ok(&mut acc, "account.move.line", "search_count", json!([or])),
        json!(2)
    );
    unharmed(&lab, &before);
}

fn comodel_rights(backend: Backend) {
    let lab = lab(backend);
    let before = snapshot(&lab.pulse);
    let mut ivy = login(&lab, "ivy", IVY_PASSWORD);
    let no_users = "You are not allowed to access 'User' (res.users) records.";

    // Counting employees by their user's login, a letter at a time: ivy
    // may not read res.users, so every guess gets the same AccessError.
    let mut answers = Vec::new();
    for guess in ["ad%", "zz%"] {
        let domain = json!([["user_id.login", "=like", guess]]);
        for (method, args) in searches(&domain) {
            let (kind, message) = refused(&mut ivy, "hr.employee", method, args);
            assert_eq!(kind, ACCESS_ERROR, "{method} {guess}: {message}");
            assert!(message.contains(no_users), "{method} {guess}: {message}");
            answers.push((method, message));
        }
        unharmed(&lab, &before);
    }
    let (right, wrong) = answers.split_at(answers.len() / 2);
    assert_eq!(right, wrong, "a right guess must answer as a wrong one");

    // The same through `any` / `not any`, a longer path, and x2many paths.
    for (model, domain) in [
        (
            "hr.employee",
            json!([["user_id", "any", [["login", "=like", "ad%"]]]]),
        ),
        (
            "hr.employee",
            json!([["user_id", "not any", [["login", "=like", "ad%"]]]]),
        ),
        (
            "hr.employee",
            json!([["parent_id.user_id.login", "=", "admin"]]),
        ),
        ("lab.folder", json!([["member_ids.login", "=like", "ad%"]])),
        (
            "lab.folder",
            json!([["member_ids", "any", [["login", "=", "admin"]]]]),
        ),
        ("lab.folder", json!([["member_ids", "ilike", "adm"]])),
        ("lab.secret", json!([["owner_id.login", "=", "ivy"]])),
    ] {
        let (kind, message) = refused(&mut ivy, model, "search_count", json!([domain]));
        assert_eq!(kind, ACCESS_ERROR, "{model} {domain}: {message}");
        assert!(message.contains(no_users), "{model} {domain}: {message}");
        unharmed(&lab, &before);
    }

    // Comparing the many2one's own column needs no right on the comodel,
    // as in Odoo; the superuser searches through anything.
    assert_eq!(
        ok(
            &mut ivy,
            "hr.employee",
            "search_count",
            json!([[["user_id", "=", 1]]])
        ),
        json!(1)
    );
    let mut admin = lab.admin;
    assert_eq!(
        ok(
            &mut admin,
            "hr.employee",
            "search_count",
            json!([[["user_id.login", "=like", "ad%"]]])
        ),
        json!(1)
    );
    assert_serving(&lab.server);
    assert_eq!(snapshot(&lab.pulse), before);
}

fn comodel_rules(backend: Backend) {
    let lab = lab(backend);
    let before = snapshot(&lab.pulse);
    let [f1, f2, f3] = lab.folders;
    let [a, _, c] = lab.secrets;
    let mut ivy = login(&lab, "ivy", IVY_PASSWORD);
    let mut admin = Rpc::new(&lab.server);
    admin.login(&lab.pulse.db_name);
    let search =
        |rpc: &mut Rpc, model: &str, domain: Value| ids(ok(rpc, model, "search", json!([domain])));

    // Secret B is Bob's: searching folders through any of their links to
    // it finds nothing for Ivy, and what the superuser finds.
    for (domain, superuser) in [
        (json!([["secret_id.name", "=", "B"]]), vec![f1]),
        (json!([["secret_id.name", "=like", "B%"]]), vec![f1]),
        (
            json!([["secret_id", "any", [["name", "=", "B"]]]]),
            vec![f1],
        ),
        (json!([["secret_ids.name", "=", "B"]]), vec![f1]),
        (
            json!([["secret_ids", "any", [["name", "=", "B"]]]]),
            vec![f1],
        ),
        (json!([["secret_ids", "ilike", "B"]]), vec![f1]),
        (json!([["note_ids.name", "=", "B"]]), vec![f2]),
        (json!([["note_ids", "any", [["name", "=", "B"]]]]), vec![f2]),
        (json!([["secret_id.parent_id.name", "=", "B"]]), vec![f2]),
    ] {
        assert_eq!(
            search(&mut admin, "lab.folder", domain.clone()),
            superuser,
            "{domain}"
        );
        assert_eq!(
            search(&mut ivy, "lab.folder", domain.clone()),
            Vec::<i64>::new(),
            "{domain}"
        );
        assert_eq!(
            ok(&mut ivy, "lab.folder", "search_count", json!([domain])),
            json!(0)
        );
        unharmed(&lab, &before);
    }
    // `not any` cannot tell a right guess from a wrong one either.
    let not_any = |rpc: &mut Rpc, name: &str| {
        search(
            rpc,
            "lab.folder",
            json!([["secret_id", "not any", [["name", "=", name]]]]),
        )
    };
    assert_eq!(not_any(&mut ivy, "B"), not_any(&mut ivy, "no such name"));
    assert_eq!(not_any(&mut admin, "B"), vec![f2, f3]);

    // child_of / parent_of: the hierarchy A > B > C is walked whole, and
    // yields only the secrets Ivy sees (A and C).
    for (domain, superuser, seen) in [
        (
            json!([["secret_id", "child_of", a]]),
            vec![f1, f2, f3],
            vec![f2, f3],
        ),
        (
            json!([["secret_id", "parent_of", c]]),
            vec![f1, f2, f3],
            vec![f2, f3],
        ),
    ] {
        assert_eq!(search(&mut admin, "lab.folder", domain.clone()), superuser);
        assert_eq!(search(&mut ivy, "lab.folder", domain.clone()), seen);
        unharmed(&lab, &before);
    }
    assert_eq!(
        search(&mut ivy, "lab.secret", json!([["id", "child_of", a]])),
        vec![a, c]
    );
    unharmed(&lab, &before);
}

fn reads(backend: Backend) {
    let lab = lab(backend);
    let before = snapshot(&lab.pulse);
    let [f1, f2, f3] = lab.folders;
    let [a, b, c] = lab.secrets;
    let mut ivy = login(&lab, "ivy", IVY_PASSWORD);
    let mut admin = Rpc::new(&lab.server);
    admin.login(&lab.pulse.db_name);
    let fields = json!(["secret_id", "secret_ids", "note_ids", "member_ids"]);

    // The superuser reads everything.
    let all = ok(&mut admin, "lab.folder", "read", json!([[f1, f2], fields]));
    assert_eq!(all[0]["secret_id"], json!([b, "B"]));
    assert_eq!(all[0]["secret_ids"], json!([a, b, c]));
    assert_eq!(all[1]["note_ids"], json!([b]));

    // Ivy: the many2one to Bob's secret keeps its id but not its name; the
    // x2many lists drop it; her own secrets read as usual.
    let hidden = json!([b, format!("lab.secret,{b}")]);
    for records in [
        ok(
            &mut ivy,
            "lab.folder",
            "read",
            json!([[f1, f2, f3], fields]),
        ),
        ok(
            &mut ivy,
            "lab.folder",
            "search_read",
            json!([[["id", "in", [f1, f2, f3]]], fields]),
        ),
    ] {
        assert_eq!(records[0]["secret_id"], hidden, "{records}");
        assert_eq!(records[0]["secret_ids"], json!([a, c]), "{records}");
        assert_eq!(records[0]["note_ids"], json!([a]), "{records}");
        assert_eq!(records[1]["note_ids"], json!([]), "{records}");
        assert_eq!(records[1]["secret_id"], json!([c, "C"]), "{records}");
        assert_eq!(records[2]["secret_id"], json!([a, "A"]), "{records}");
        // res.users has no rules: the ids stay, as Odoo's x2many read.
        assert_eq!(records[0]["member_ids"], json!([1]), "{records}");
        assert!(!records.to_string().contains("\"B\""), "{records}");
        unharmed(&lab, &before);
    }
    // Grouped by the many2one: Bob's secret is a group without its name.
    let groups = ok(
        &mut ivy,
        "lab.folder",
        "read_group",
        json!([[], [], ["secret_id"]]),
    );
    let group_names: Vec<Value> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["secret_id"].clone())
        .collect();
    assert!(group_names.contains(&hidden), "{groups}");
    assert!(!groups.to_string().contains("\"B\""), "{groups}");
    unharmed(&lab, &before);

    // An employee's user, which Ivy may not read at all: the id, no name.
    let employees = ok(
        &mut ivy,
        "hr.employee",
        "search_read",
        json!([[["user_id", "=", 1]], ["user_id"]]),
    );
    assert_eq!(employees[0]["user_id"], json!([1, "res.users,1"]));
    let own = ok(
        &mut ivy,
        "hr.employee",
        "search_read",
        json!([[["user_id", "=", lab.ivy]], ["user_id"]]),
    );
    assert_eq!(
        own[0]["user_id"],
        json!([lab.ivy, format!("res.users,{}", lab.ivy)])
    );
    let seen_by_admin = ok(
        &mut admin,
        "hr.employee",
        "search_read",
        json!([[["user_id", "=", 1]], ["user_id"]]),
    );
    assert_ne!(seen_by_admin[0]["user_id"], employees[0]["user_id"]);
    unharmed(&lab, &before);
}

fn related_cycle(backend: Backend) {
    let lab = lab(backend);
    let before = snapshot(&lab.pulse);
    let out = lab.pulse.run(&["install", "related_cycle"]);
    let text = pulse_testing::text(&out);
    assert!(
        !out.status.success(),
        "the install must be refused:\n{text}"
    );
    assert!(text.contains("related fields loop: "), "{text}");
    for field in ["loop.node.peer_label", "loop.peer.label"] {
        assert!(text.contains(field), "the message names {field}:\n{text}");
    }
    assert_ne!(
        lab.pulse.module_state("related_cycle").as_deref(),
        Some("installed")
    );
    assert!(!lab.pulse.has_table("loop_node"));
    unharmed(&lab, &before);
    // The running server still searches and reads as before.
    let mut admin = lab.admin;
    assert_eq!(
        ok(&mut admin, "lab.folder", "search_count", json!([[]])),
        json!(3)
    );
}
