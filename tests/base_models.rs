//! Odoo 19's people and companies (the `base` models `res.partner`,
//! `res.partner.category`, `res.users`, `res.company`, `res.groups`) as
//! clients meet them, on SQLite and PostgreSQL: a Python script on
//! xmlrpc.client (`tests/python/people_over_xmlrpc.py`) drives companies
//! and contacts, tags, users and their partners, logins, groups and the
//! base external ids; JSON-RPC checks what a web client reads and the
//! hostile cases.

use std::collections::BTreeMap;

use pulse_testing::{Backend, Pulse, Rpc, build_addons, groups_named, ok, refused};
use serde_json::{Value, json};

on_both! {
    a_python_script_drives_partners_users_companies_and_groups => python_script;
    users_read_their_partners_and_hostile_writes_are_refused => over_jsonrpc;
}

/// The steps the script printed, by name.
fn steps(output: &str) -> BTreeMap<String, Value> {
    output
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|line| {
            (
                line["step"].as_str().unwrap().to_string(),
                line["value"].clone(),
            )
        })
        .collect()
}

/// The value of `field` in each record of `records`, in order.
fn column(records: &Value, field: &str) -> Vec<Value> {
    records
        .as_array()
        .unwrap_or_else(|| panic!("expected records: {records}"))
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

fn python_script(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[]);
    let server = pulse.serve();
    let output =
        pulse_testing::python_script("people_over_xmlrpc.py", &[&server.url, &pulse.db_name]);
    let step = steps(&output);
    let get = |name: &str| {
        step.get(name)
            .unwrap_or_else(|| panic!("no step {name}:\n{output}"))
            .clone()
    };
    let fault = |name: &str| -> String {
        let value = get(name);
        assert!(
            value.get("fault").is_some(),
            "{name} must be refused: {value}"
        );
        value["message"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(get("done"), json!(true));

    // External ids.
    let ids = get("external ids");
    for (name, model) in [
        ("main_company", "res.company"),
        ("main_partner", "res.partner"),
        ("user_admin", "res.users"),
        ("partner_admin", "res.partner"),
        ("group_user", "res.groups"),
        ("group_system", "res.groups"),
        ("group_erp_manager", "res.groups"),
        ("group_portal", "res.groups"),
        ("group_public", "res.groups"),
    ] {
        assert_eq!(ids[name][0], json!(model), "base.{name}: {ids}");
    }
    let main_company = &get("main company")[0];
    assert_eq!(main_company["partner_id"][0], ids["main_partner"][1]);
    assert_eq!(main_company["partner_id"][1], main_company["name"]);
    let admin = &get("admin")[0];
    assert_eq!(admin["partner_id"][0], ids["partner_admin"][1]);
    assert_eq!(admin["company_id"][0], ids["main_company"][1]);
    assert_eq!(admin["company_ids"], json!([ids["main_company"][1]]));
    assert_eq!(admin["share"], json!(false));

    // Companies and contacts.
    let partners = get("partners");
    assert_eq!(
        column(&partners, "display_name"),
        [json!("Acme"), json!("Acme, Ann"), json!("Acme, Bills")]
    );
    assert_eq!(
        column(&partners, "complete_name"),
        column(&partners, "display_name")
    );
    let acme = partners[0]["id"].clone();
    let ann = partners[1]["id"].clone();
    let bills = partners[2]["id"].clone();
    assert_eq!(
        column(&partners, "commercial_partner_id"),
        vec![json!([acme, "Acme"]); 3]
    );
    assert_eq!(
        column(&partners, "type"),
        [json!("contact"), json!("contact"), json!("invoice")]
    );
    assert_eq!(column(&partners, "color"), vec![json!(0); 3]);
    assert_eq!(column(&partners, "lang"), vec![json!("en_US"); 3]);
    assert_eq!(get("child_ids"), json!([ann]));
    assert_eq!(get("name_search"), json!([[ann, "Acme, Ann"]]));
    assert_eq!(
        column(&get("renamed"), "display_name"),
        [json!("Acme Corp, Ann"), json!("Acme Corp, Bills")]
    );
    let own = get("ann a company");
    assert_eq!(
        column(&own, "commercial_partner_id"),
        [json!([ann, "Ann"]), json!([ann, "Ann"])]
    );
    assert_eq!(
        column(&own, "display_name"),
        [json!("Ann"), json!("Ann, Bills")]
    );
    for name in ["cycle", "own parent"] {
        let message = fault(name);
        assert!(
            message.contains("You cannot create recursive Partner hierarchies."),
            "{name}: {message}"
        );
    }
    assert_eq!(
        get("after cycle"),
        json!([{"id": acme, "parent_id": false, "commercial_partner_id": [acme, "Acme Corp"]}])
    );
    assert_eq!(get("archived child"), json!([]));
    assert_eq!(get("archived search"), json!([]));
    assert_eq!(get("archived search active_test false"), json!([bills]));

    // Tags.
    let tags = get("tags");
    assert_eq!(column(&tags, "name"), [json!("VIP"), json!("Buyer")]);
    assert_eq!(column(&tags, "partner_ids"), [json!([ann]), json!([ann])]);
    assert_eq!(get("tag removed").as_array().unwrap().len(), 1);
    assert_eq!(get("tag children").as_array().unwrap().len(), 1);

    // A user and its partner.
    let zoe = get("zoe");
    let partner = get("zoe partner");
    assert_eq!(zoe["partner_id"], json!([partner["id"], "Zoe"]));
    for field in ["name", "email", "lang", "tz"] {
        assert_eq!(zoe[field], partner[field], "{field}");
    }
    assert_eq!(
        (&zoe["name"], &zoe["email"], &zoe["lang"], &zoe["tz"]),
        (
            &json!("Zoe"),
            &json!("zoe@example.com"),
            &json!("fr_FR"),
            &json!("Europe/Brussels")
        )
    );
    assert_eq!(partner["user_ids"], json!([zoe["id"]]));
    assert_eq!(zoe["company_id"][0], ids["main_company"][1]);
    assert_eq!(zoe["company_ids"], json!([ids["main_company"][1]]));
    assert_eq!(
        (&zoe["share"], &zoe["login_date"]),
        (&json!(false), &json!(false))
    );
    let both = json!({"name": "Zoé Martin", "email": "zoe.martin@example.com"});
    let mut renamed = get("zoe renamed");
    renamed.as_object_mut().unwrap().remove("id");
    assert_eq!(renamed, both);
    let mut renamed = get("zoe partner renamed");
    renamed.as_object_mut().unwrap().remove("id");
    assert_eq!(renamed, both);
    assert_eq!(get("users by partner email"), json!([zoe["id"]]));

    // Logins, preferences and rights.
    assert_eq!(get("zoe uid"), zoe["id"]);
    let login_date = get("login_date");
    assert!(
        login_date
            .as_str()
            .is_some_and(|d| d.len() == 19 && d.starts_with("20")),
        "login_date: {login_date}"
    );
    let context = get("zoe context_get");
    assert_eq!(
        (&context["lang"], &context["tz"], &context["uid"]),
        (&json!("fr_FR"), &json!("Europe/Brussels"), &zoe["id"])
    );
    assert_eq!(get("zoe reads contacts"), json!(1));
    for name in [
        "zoe writes a contact",
        "zoe takes the admin partner",
        "login_date by a client",
        "user of a missing partner",
    ] {
        fault(name);
    }

    // Share, and the two sides of the groups' relation.
    assert_eq!(
        column(&get("share"), "share"),
        [json!(false), json!(true), json!(false)]
    );
    let system = &ids["group_system"][1];
    assert!(get("zoe groups").as_array().unwrap().contains(system));
    let users = get("system users");
    assert!(users["user_ids"].as_array().unwrap().contains(&zoe["id"]));
    assert_eq!(users["implied_ids"], json!([ids["group_erp_manager"][1]]));
    assert!(
        !get("system users after")
            .as_array()
            .unwrap()
            .contains(&zoe["id"])
    );

    // A company and its partner.
    let company = get("company");
    let partner = get("company partner");
    assert_eq!(company["partner_id"], json!([partner["id"], "Beta Ltd"]));
    assert_eq!(
        (
            &partner["name"],
            &partner["email"],
            &partner["phone"],
            &partner["is_company"]
        ),
        (
            &json!("Beta Ltd"),
            &json!("info@beta.example"),
            &json!("+32 2 000"),
            &json!(true)
        )
    );
    assert_eq!(partner["commercial_partner_id"][0], partner["id"]);
    assert_eq!(get("company phone"), json!("+32 2 111"));
    let country = get("company country");
    assert_eq!(
        (&country["country_id"][1], &country["city"]),
        (&json!("Belgium"), &json!("Brussels"))
    );
    assert_eq!(get("partners in belgium"), json!([partner["id"]]));
}

fn over_jsonrpc(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[]);
    let server = pulse.serve();
    let mut admin = Rpc::new(&server);
    let session = admin.login(&pulse.db_name);
    // The session's user context carries the admin's language.
    assert_eq!(session["result"]["user_context"]["lang"], json!("en_US"));
    let internal = groups_named(&mut admin, "Internal User");
    let ana = ok(
        &mut admin,
        "res.users",
        "create",
        json!([{"name": "Ana", "login": "ana", "password": "ana-pw", "lang": "nl_BE",
                "tz": "Europe/Brussels", "group_ids": [[6, 0, internal]]}]),
    );
    let mut ana_rpc = Rpc::new(&server);
    let session = ana_rpc.login_as(&pulse.db_name, "ana", "ana-pw");
    assert_eq!(
        (
            &session["result"]["user_context"]["lang"],
            &session["result"]["user_context"]["tz"]
        ),
        (&json!("nl_BE"), &json!("Europe/Brussels"))
    );
    // fields_get describes the new fields as Odoo does.
    let fields = ok(
        &mut admin,
        "res.partner",
        "fields_get",
        json!([["type", "commercial_partner_id", "child_ids", "category_id"]]),
    );
    assert_eq!(
        fields["type"]["selection"],
        json!([
            ["contact", "Contact"],
            ["invoice", "Invoice"],
            ["delivery", "Delivery"],
            ["other", "Other"]
        ])
    );
    assert_eq!(
        fields["commercial_partner_id"]["relation"],
        json!("res.partner")
    );
    assert_eq!(fields["commercial_partner_id"]["readonly"], json!(true));
    assert_eq!(fields["child_ids"]["relation_field"], json!("parent_id"));
    assert_eq!(
        fields["category_id"]["relation"],
        json!("res.partner.category")
    );
    let groups = ok(
        &mut admin,
        "res.users",
        "fields_get",
        json!([["group_ids", "groups_id"]]),
    );
    assert_eq!(groups["group_ids"]["relation"], json!("res.groups"));
    assert!(groups.get("groups_id").is_none(), "{groups}");

    // Hostile: computed fields, cycles through create, a partner in use.
    let company = ok(
        &mut admin,
        "res.partner",
        "create",
        json!([{"name": "Co", "is_company": true}]),
    );
    let (kind, _) = refused(
        &mut admin,
        "res.partner",
        "write",
        json!([[company], {"commercial_partner_id": 1}]),
    );
    assert!(!kind.is_empty());
    let (kind, message) = refused(
        &mut admin,
        "res.partner",
        "create",
        json!([{"name": "Nobody's", "parent_id": 987654}]),
    );
    assert!(!kind.is_empty(), "{message}");
    let ana_partner = ok(
        &mut admin,
        "res.users",
        "read",
        json!([[ana], ["partner_id"]]),
    )[0]["partner_id"][0]
        .clone();
    let (kind, message) = refused(&mut admin, "res.partner", "unlink", json!([[ana_partner]]));
    assert!(!kind.is_empty(), "a user's partner cannot go: {message}");
    // The old name is gone: Odoo 19 says group_ids.
    let (kind, message) = refused(
        &mut admin,
        "res.users",
        "write",
        json!([[ana], {"groups_id": [[5, 0, 0]]}]),
    );
    assert_eq!(kind, "builtins.ValueError", "{message}");
    // The server goes on serving, and Ana reads what she is allowed to.
    assert_eq!(
        ok(
            &mut ana_rpc,
            "res.partner",
            "search_count",
            json!([[["id", "=", company]]])
        ),
        json!(1)
    );
}
