//! Odoo domains over JSON-RPC against the same data on SQLite and
//! PostgreSQL: every domain of the table must return the same ids on both,
//! and a sample of them the ids Odoo's semantics give (searched with
//! `active_test: false`, so archived partners count).

use pulse_testing::{Backend, Pulse, Rpc, build_addons};
use serde_json::{Value, json};

/// Every domain the test runs, in Odoo's JSON form.
fn domains() -> Vec<Value> {
    vec![
        json!([]),
        json!([["name", "=", "Alice Reyes"]]),
        json!([["name", "!=", "Alice Reyes"]]),
        json!([["name", "like", "li"]]),
        json!([["name", "ilike", "LI"]]),
        json!([["name", "not like", "a"]]),
        json!([["name", "not ilike", "a"]]),
        json!([["name", "=like", "A%"]]),
        json!([["name", "=ilike", "a%"]]),
        json!([["name", "ilike", "50%_"]]),
        json!([["name", "like", "%"]]),
        json!([["notes", "ilike", "tea"]]),
        json!([["notes", "=", false]]),
        json!([["notes", "!=", false]]),
        json!([["notes", "=", ""]]),
        json!([["code", "in", ["ACM", "GLX", "nope"]]]),
        json!([["code", "not in", ["ACM", "GLX"]]]),
        json!([["code", "in", []]]),
        json!([["code", "not in", []]]),
        json!([["code", "in", ["ACM", false]]]),
        json!([["age", "=", 0]]),
        json!([["age", ">", 40]]),
        json!([["age", ">=", 41]]),
        json!([["age", "<", 30]]),
        json!([["age", "<=", 29]]),
        json!([["age", "!=", 0]]),
        json!([["age", "in", [19, 23, 70]]]),
        json!([["score", ">", 7.5]]),
        json!([["score", "<=", 3.0]]),
        json!([["score", "=", 9.5]]),
        json!([["active", "=", true]]),
        json!([["active", "=", false]]),
        json!([["active", "!=", true]]),
        json!([["active", "!=", false]]),
        json!([["birthday", "=", false]]),
        json!([["birthday", ">=", "1990-01-01"]]),
        json!([["birthday", "<", "1980-01-01"]]),
        json!([["seen_at", ">", "2026-01-01 00:00:00"]]),
        json!([["seen_at", "=", false]]),
        json!([["kind", "=", "company"]]),
        json!([["kind", "!=", "company"]]),
        json!([["kind", "=", false]]),
        json!([["parent_id", "=", false]]),
        json!([["parent_id", "!=", false]]),
        json!([["parent_id", "=", 1]]),
        json!([["parent_id", "in", [1, 2]]]),
        json!([["parent_id.name", "=", "Acme Corp"]]),
        json!([["parent_id.parent_id.name", "ilike", "acme"]]),
        json!([["country_id.code", "=", "PH"]]),
        json!([["country_id.code", "=", false]]),
        json!([["country_id", "any", [["code", "in", ["SG", "JP"]]]]]),
        json!([["country_id", "not any", [["code", "=", "PH"]]]]),
        json!([[
            "parent_id",
            "any",
            [["kind", "=", "company"], ["active", "=", true]]
        ]]),
        json!([["id", "child_of", 1]]),
        json!([["id", "child_of", [2, 3]]]),
        json!([["id", "parent_of", 11]]),
        json!([["parent_id", "child_of", 4]]),
        json!([["id", "in", [1, 5, 9, 999]]]),
        json!([["id", "not in", [1, 2, 3]]]),
        json!(["|", ["age", ">", 60], ["kind", "=", "company"]]),
        json!(["&", ["active", "=", true], ["country_id.code", "=", "SG"]]),
        json!(["!", ["active", "=", true]]),
        json!(["|", "!", ["name", "ilike", "a"], ["age", "=", 0]]),
        json!([["age", ">", 20], ["age", "<", 40], ["active", "=", true]]),
        json!([
            "|",
            "&",
            ["kind", "=", "person"],
            ["age", ">", 50],
            "&",
            ["kind", "=", "company"],
            ["score", ">", 5]
        ]),
        json!(["!", "|", ["notes", "=", false], ["notes", "ilike", "tea"]]),
        json!([["age", "ilike", "3"]]),
        json!([["active", "=", 0]]),
        json!([["active", "in", [1]]]),
        json!([[1, "=", 1]]),
        json!([[0, "=", 1]]),
        json!(["|", [0, "=", 1], ["code", "=like", "__"]]),
    ]
}

fn search_all(pulse: &Pulse) -> Vec<Value> {
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    domains()
        .into_iter()
        .map(|domain| {
            // Archived partners too: the table checks the domains, not
            // `active_test` (tests/context.rs does).
            rpc.call(
                "lab.partner",
                "search",
                json!([domain.clone()]),
                json!({"order": "id", "context": {"active_test": false}}),
            )
            .unwrap_or_else(|e| panic!("domain {domain} failed: {e}"))
        })
        .collect()
}

fn names(pulse_results: &Value, all: &[(i64, String)]) -> Vec<String> {
    pulse_results
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = id.as_i64().unwrap();
            all.iter().find(|(i, _)| *i == id).unwrap().1.clone()
        })
        .collect()
}

#[test]
fn sixty_domains_give_identical_ids_on_sqlite_and_postgres() {
    build_addons();
    let table = domains();
    assert!(table.len() >= 60, "the table must hold at least 60 domains");

    let sqlite = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    sqlite.ok(&["install", "domain_lab"]);
    let postgres = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    postgres.ok(&["install", "domain_lab"]);

    let on_sqlite = search_all(&sqlite);
    let on_postgres = search_all(&postgres);
    for ((domain, a), b) in table.iter().zip(&on_sqlite).zip(&on_postgres) {
        assert_eq!(a, b, "domain {domain} differs: SQLite {a}, PostgreSQL {b}");
    }
    let distinct: std::collections::BTreeSet<String> =
        on_sqlite.iter().map(|r| r.to_string()).collect();
    assert!(
        distinct.len() > 45,
        "the table should tell records apart, got {} distinct results",
        distinct.len()
    );

    // A sample, checked against Odoo's semantics by name.
    let all: Vec<(i64, String)> = sqlite
        .strings("SELECT CAST(id AS TEXT) || ':' || name FROM lab_partner ORDER BY id")
        .into_iter()
        .map(|s| {
            let (id, name) = s.split_once(':').unwrap();
            (id.parse().unwrap(), name.to_string())
        })
        .collect();
    let expect = |domain: Value, expected: &[&str]| {
        let index = table
            .iter()
            .position(|d| *d == domain)
            .expect("domain in the table");
        assert_eq!(names(&on_sqlite[index], &all), expected, "domain {domain}");
    };
    expect(json!([["name", "like", "li"]]), &["Alice Reyes", "Olivia"]);
    expect(json!([["name", "ilike", "50%_"]]), &["Initech 50%_off"]);
    expect(
        json!([["notes", "ilike", "tea"]]),
        &["Alice Reyes", "Olivia", "Trent"],
    );
    expect(
        json!([["code", "not in", ["ACM", "GLX"]]]),
        &[
            "Initech 50%_off",
            "Alice Reyes",
            "bob santos",
            "Carol Tan",
            "Dave O'Brien",
            "Erin Sato",
            "Frank",
            "Grace Lim",
            "Heidi",
            "Ivan Ilyich",
            "Judy Ong",
            "MALLORY",
            "Niaj Patel",
            "Olivia",
            "Peggy Sue",
            "Rupert",
            "Sybil",
            "Trent",
            "Victor",
            "Walter",
        ],
    );
    expect(
        json!([["parent_id.parent_id.name", "ilike", "acme"]]),
        &["Frank", "Grace Lim", "Walter"],
    );
    expect(
        json!([["id", "child_of", 1]]),
        &[
            "Acme Corp",
            "Alice Reyes",
            "bob santos",
            "Frank",
            "Grace Lim",
            "Heidi",
            "Olivia",
            "Victor",
            "Walter",
        ],
    );
    expect(
        json!([["id", "parent_of", 11]]),
        &["Acme Corp", "Alice Reyes", "Frank", "Heidi"],
    );
    expect(
        json!([["country_id", "not any", [["code", "=", "PH"]]]]),
        &[
            "Globex",
            "Initech 50%_off",
            "Carol Tan",
            "Dave O'Brien",
            "Erin Sato",
            "Frank",
            "Heidi",
            "Ivan Ilyich",
            "Judy Ong",
            "MALLORY",
            "Niaj Patel",
            "Sybil",
            "Trent",
            "Victor",
        ],
    );
}

/// read_group calls: plain, by many2one, by date granularity, not lazy.
fn read_groups(pulse: &Pulse) -> Vec<Value> {
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    let calls = [
        json!([[], ["age:sum", "score:avg"], ["kind"]]),
        json!([
            [["active", "=", true]],
            ["score:max", "age:min"],
            ["country_id"]
        ]),
        json!([[], ["age"], ["birthday:year"]]),
        json!([[], ["age"], ["seen_at:quarter"]]),
        json!([[], ["score"], ["birthday:week"]]),
        json!([
            [["kind", "!=", false]],
            ["age:avg"],
            ["kind", "active"],
            0,
            false,
            false,
            false
        ]),
    ];
    calls
        .iter()
        .map(|args| {
            let every = json!({"context": {"active_test": false}});
            rpc.call("lab.partner", "read_group", args.clone(), every)
                .unwrap_or_else(|e| panic!("read_group {args} failed: {e}"))
        })
        .collect()
}

#[test]
fn read_group_agrees_on_both_databases() {
    build_addons();
    let sqlite = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    sqlite.ok(&["install", "domain_lab"]);
    let postgres = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    postgres.ok(&["install", "domain_lab"]);
    let on_sqlite = read_groups(&sqlite);
    let on_postgres = read_groups(&postgres);
    for (a, b) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(a, b, "read_group differs between SQLite and PostgreSQL");
    }
    let by_kind = on_sqlite[0].as_array().unwrap();
    let company = by_kind.iter().find(|g| g["kind"] == "company").unwrap();
    assert_eq!(company["kind_count"], 5);
    assert_eq!(company["age"], 36, "Victor is the only company with an age");
    assert_eq!(company["__domain"], json!([["kind", "=", "company"]]));
    let total: i64 = by_kind
        .iter()
        .map(|g| g["kind_count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 22);
    let empty = by_kind.last().unwrap();
    assert_eq!(
        empty["kind"], false,
        "the group of records without a value comes last"
    );
    let by_year = on_sqlite[2].as_array().unwrap();
    let y1992 = by_year
        .iter()
        .find(|g| g["birthday:year"] == "1992")
        .unwrap();
    assert_eq!(
        (y1992["birthday_count"].clone(), y1992["age"].clone()),
        (json!(1), json!(34))
    );
    let by_country = on_sqlite[1].as_array().unwrap();
    assert!(
        by_country
            .iter()
            .any(|g| g["country_id"] == json!([1, "Philippines"])),
        "{by_country:?}"
    );
    let not_lazy = on_sqlite[5].as_array().unwrap();
    assert!(
        not_lazy
            .iter()
            .all(|g| g.get("__count").is_some() && g.get("active").is_some())
    );
}

fn orm_methods(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "domain_lab"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);

    let found = rpc
        .call(
            "lab.partner",
            "name_search",
            json!(["ali"]),
            json!({"limit": 5}),
        )
        .unwrap();
    assert_eq!(found, json!([[4, "Alice Reyes"]]));
    let found = rpc
        .call(
            "lab.partner",
            "name_search",
            json!([]),
            json!({"name": "o", "args": [["kind", "=", "company"]], "limit": 2}),
        )
        .unwrap();
    assert_eq!(found, json!([[1, "Acme Corp"], [2, "Globex"]]));

    let read = rpc
        .call(
            "lab.partner",
            "read",
            json!([[4], ["display_name", "parent_id"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        read,
        json!([{"id": 4, "display_name": "Alice Reyes", "parent_id": [1, "Acme Corp"]}])
    );
    assert_eq!(
        rpc.call("lab.partner", "exists", json!([[4, 999, 1]]), json!({}))
            .unwrap(),
        json!([4, 1])
    );
    assert_eq!(
        rpc.call(
            "lab.partner",
            "default_get",
            json!([["active", "name"]]),
            json!({})
        )
        .unwrap(),
        json!({"active": true})
    );

    let copy = rpc
        .call(
            "lab.partner",
            "copy",
            json!([[4]]),
            json!({"default": {"name": "Alice (copy)"}}),
        )
        .unwrap();
    let read = rpc
        .call(
            "lab.partner",
            "read",
            json!([[copy], ["name", "age", "parent_id", "country_id"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        read,
        json!([{"id": copy, "name": "Alice (copy)", "age": 34, "parent_id": [1, "Acme Corp"], "country_id": [1, "Philippines"]}])
    );

    // A created partner gets the declared default; a duplicate unique code is a ValidationError.
    let id = rpc
        .call("lab.partner", "create", json!([{"name": "New"}]), json!({}))
        .unwrap();
    let read = rpc
        .call("lab.partner", "read", json!([[id], ["active"]]), json!({}))
        .unwrap();
    assert_eq!(read[0]["active"], true);
    // Binary values are base64 text; monetary fields name their currency field.
    rpc.call(
        "lab.partner",
        "write",
        json!([[4], {"avatar": "aGVsbG8=", "credit_limit": 1500.5}]),
        json!({}),
    )
    .unwrap();
    let read = rpc
        .call(
            "lab.partner",
            "read",
            json!([[4], ["avatar", "credit_limit"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        read,
        json!([{"id": 4, "avatar": "aGVsbG8=", "credit_limit": 1500.5}])
    );
    let e = rpc
        .call(
            "lab.partner",
            "write",
            json!([[4], {"avatar": "not base64!"}]),
            json!({}),
        )
        .unwrap_err();
    assert_eq!(e["data"]["name"], "odoo.exceptions.ValidationError", "{e}");
    let fields = rpc
        .call("lab.partner", "fields_get", json!([]), json!({}))
        .unwrap();
    assert_eq!(fields["credit_limit"]["type"], "monetary");
    assert_eq!(fields["credit_limit"]["currency_field"], "currency_code");
    assert_eq!(fields["child_ids"]["relation_field"], "parent_id");
    assert_eq!(fields["avatar"]["type"], "binary");
    let e = rpc
        .call(
            "lab.country",
            "create",
            json!([{"name": "Again", "code": "PH"}]),
            json!({}),
        )
        .unwrap_err();
    assert_eq!(e["data"]["name"], "odoo.exceptions.ValidationError", "{e}");
}

#[test]
fn orm_methods_on_sqlite() {
    orm_methods(Backend::Sqlite);
}

#[test]
fn orm_methods_on_postgres() {
    orm_methods(Backend::Postgres);
}

fn x2many(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "domain_lab"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    let tag = |rpc: &mut Rpc, name: &str| {
        rpc.call(
            "lab.tag",
            "search",
            json!([[["name", "=", name]]]),
            json!({}),
        )
        .unwrap()[0]
            .as_i64()
            .unwrap()
    };
    let (vip, supplier, new) = (
        tag(&mut rpc, "VIP"),
        tag(&mut rpc, "Supplier"),
        tag(&mut rpc, "New"),
    );

    // Reads: a one2many lists the records pointing back, a many2many its links.
    let acme = rpc
        .call(
            "lab.partner",
            "read",
            json!([[1], ["child_ids", "tag_ids"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        acme,
        json!([{"id": 1, "child_ids": [4, 5, 21], "tag_ids": [supplier]}])
    );
    let alice = rpc
        .call("lab.partner", "read", json!([[4], ["tag_ids"]]), json!({}))
        .unwrap();
    assert_eq!(alice[0]["tag_ids"], json!([vip, new]));

    // Domains through x2many fields.
    let search = |rpc: &mut Rpc, domain: Value| {
        rpc.call(
            "lab.partner",
            "search",
            json!([domain]),
            json!({"order": "id"}),
        )
        .unwrap()
    };
    assert_eq!(
        search(&mut rpc, json!([["tag_ids", "in", [vip]]])),
        json!([4, 10])
    );
    assert_eq!(
        search(&mut rpc, json!([["tag_ids.name", "=", "New"]])),
        json!([4, 8])
    );
    assert_eq!(
        search(&mut rpc, json!([["tag_ids", "ilike", "supp"]])),
        json!([1])
    );
    assert_eq!(
        search(&mut rpc, json!([["child_ids", "in", [9]]])),
        json!([4])
    );
    assert_eq!(
        search(&mut rpc, json!([["child_ids", "any", [["age", ">", 60]]]])),
        json!([4, 21])
    );
    let no_children = search(
        &mut rpc,
        json!([["child_ids", "=", false], ["age", ">", 60]]),
    );
    assert_eq!(
        no_children,
        json!([12, 22]),
        "Frank (61) has a child; Ivan and Walter have none"
    );

    // Writes with Odoo's commands.
    let id = rpc
        .call(
            "lab.partner",
            "create",
            json!([{"name": "Hub", "tag_ids": [[6, 0, [vip, supplier]]], "child_ids": [[0, 0, {"name": "Spoke"}], [4, 13]]}]),
            json!({}),
        )
        .unwrap();
    let hub = rpc
        .call(
            "lab.partner",
            "read",
            json!([[id], ["tag_ids", "child_ids"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(hub[0]["tag_ids"], json!([vip, supplier]));
    let children = hub[0]["child_ids"].as_array().unwrap().clone();
    assert_eq!(children.len(), 2);
    assert!(
        children.contains(&json!(13)),
        "linked with (4, id): {children:?}"
    );
    rpc.call(
        "lab.partner",
        "write",
        json!([[id], {"tag_ids": [[3, vip], [4, new]], "child_ids": [[3, 13]]}]),
        json!({}),
    )
    .unwrap();
    let hub = rpc
        .call(
            "lab.partner",
            "read",
            json!([[id], ["tag_ids", "child_ids"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(hub[0]["tag_ids"], json!([supplier, new]));
    assert_eq!(hub[0]["child_ids"].as_array().unwrap().len(), 1);
    let judy = rpc
        .call(
            "lab.partner",
            "read",
            json!([[13], ["parent_id"]]),
            json!({}),
        )
        .unwrap();
    assert_eq!(
        judy[0]["parent_id"], false,
        "(3, id) unlinks a one2many record by clearing its inverse"
    );
    rpc.call(
        "lab.partner",
        "write",
        json!([[id], {"tag_ids": [[5]]}]),
        json!({}),
    )
    .unwrap();
    let hub = rpc
        .call("lab.partner", "read", json!([[id], ["tag_ids"]]), json!({}))
        .unwrap();
    assert_eq!(hub[0]["tag_ids"], json!([]));

    // Deleting a tag removes its links.
    rpc.call("lab.tag", "unlink", json!([[vip]]), json!({}))
        .unwrap();
    let alice = rpc
        .call("lab.partner", "read", json!([[4], ["tag_ids"]]), json!({}))
        .unwrap();
    assert_eq!(alice[0]["tag_ids"], json!([new]));

    // The relation table belongs to the addon and goes with it.
    assert!(pulse.has_table("lab_partner_lab_tag_rel"));
    pulse.ok(&["uninstall", "domain_lab"]);
    assert!(!pulse.has_table("lab_partner_lab_tag_rel") && !pulse.has_table("lab_partner"));
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_relation WHERE module <> 'base'"),
        0
    );
}

#[test]
fn x2many_on_sqlite() {
    x2many(Backend::Sqlite);
}

#[test]
fn x2many_on_postgres() {
    x2many(Backend::Postgres);
}
