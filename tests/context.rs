//! Odoo's context through every RPC door, on SQLite and PostgreSQL:
//! archived records hidden from searches unless `active_test` is false or
//! the domain names `active`, found by id; `action_archive` and
//! `action_unarchive`; Odoo's domain normalisation; `context_get`; the
//! context reaching addon methods (and their own searches); hostile
//! contexts refused by name while the server goes on serving.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, json2, login_refusal};
use serde_json::{Value, json};

on_both! {
    python_clients_see_archived_records_as_odoo_shows_them => python_clients;
    the_web_client_json2_and_addon_methods_carry_the_context => web_json2_and_addons;
    an_archived_user_is_hidden_and_cannot_log_in_until_unarchived => archived_user;
}

/// The steps `context_over_rpc.py` printed for `transport`, by name.
fn steps(output: &str, transport: &str) -> std::collections::BTreeMap<String, Value> {
    output
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["transport"] == transport)
        .map(|line| {
            (
                line["step"].as_str().unwrap().to_string(),
                line["value"].clone(),
            )
        })
        .collect()
}

fn python_clients(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "domain_lab"]);
    let server = pulse.serve();
    let output =
        pulse_testing::python_script("context_over_rpc.py", &[&server.url, &pulse.db_name]);
    for transport in ["xmlrpc", "jsonrpc"] {
        let step = steps(&output, transport);
        let get = |name: &str| {
            step.get(name)
                .unwrap_or_else(|| panic!("{transport}: no step {name}:\n{output}"))
                .clone()
        };
        let context = get("context_get");
        assert_eq!(
            (&context["lang"], &context["tz"], context["uid"].is_i64()),
            (&json!("en_US"), &json!(false), true),
            "{transport}: {context}"
        );
        let id = get("create").as_i64().unwrap();
        let name = format!("Archived by {transport}");
        let failed = |name: &str| -> (Value, String) {
            let value = get(name);
            let message = value["message"].as_str().unwrap_or_default().to_string();
            (value["fault"].clone(), message)
        };
        // Archived: hidden from every search, found by id.
        assert_eq!(get("archive"), json!(true), "{transport}");
        assert_eq!(get("search"), json!([]), "{transport}");
        assert_eq!(get("search_count"), json!(0), "{transport}");
        assert_eq!(get("name_search"), json!([]), "{transport}");
        assert_eq!(get("search_read"), json!([]), "{transport}");
        assert_eq!(get("read_group")[0]["__count"], json!(0), "{transport}");
        // Unless the context says active_test: false …
        assert_eq!(get("search active_test false"), json!([id]), "{transport}");
        assert_eq!(
            get("search_read active_test false"),
            json!([{"id": id, "active": false}]),
            "{transport}"
        );
        assert_eq!(get("search_count active_test false"), json!(1));
        assert_eq!(get("read_group active_test false")[0]["__count"], json!(1));
        assert_eq!(
            get("name_search active_test false"),
            json!([[id, name]]),
            "{transport}"
        );
        // … or the domain names `active`.
        assert_eq!(get("search on active"), json!([id]), "{transport}");
        assert_eq!(get("read by id"), json!([{"id": id, "active": false}]));
        // Python's truth value: 0 is false, the text "false" is true.
        assert_eq!(get("active_test 0"), json!([id]), "{transport}");
        assert_eq!(get("active_test \"false\""), json!([]), "{transport}");
        assert_eq!(get("unarchive"), json!(true), "{transport}");
        assert_eq!(get("search after unarchive"), json!([id]), "{transport}");
        // Domain normalisation: Acme Corp is partner 1.
        assert_eq!(get("= with a list"), json!([1, id]), "{transport}");
        assert_eq!(
            get("!= with a list"),
            json!(16),
            "{transport}: the 17 active partners of the fixture and this one, less these two"
        );
        assert_eq!(get("in with one value"), json!([id]), "{transport}");
        assert_eq!(get("=? with nothing"), json!([id]), "{transport}");
        assert_eq!(get("=? with a value"), json!([]), "{transport}");
        // Hostile contexts: Odoo's exception kinds, messages naming the problem.
        let type_error = if transport == "xmlrpc" {
            json!(1)
        } else {
            json!("builtins.TypeError")
        };
        let value_error = if transport == "xmlrpc" {
            json!(1)
        } else {
            json!("builtins.ValueError")
        };
        for case in ["context not a dictionary", "context a list"] {
            let (fault, message) = failed(case);
            assert_eq!(fault, type_error, "{transport} {case}: {message}");
            assert!(
                message.contains("The context must be a dictionary"),
                "{transport} {case}: {message}"
            );
        }
        let (fault, message) = failed("company ids not a list");
        assert_eq!(fault, type_error, "{message}");
        assert!(message.contains("'allowed_company_ids'"), "{message}");
        let (fault, message) = failed("huge context");
        assert_eq!(fault, value_error, "{message}");
        assert!(message.contains("more than the 65536 allowed"), "{message}");
        let (fault, message) = failed("deep context");
        assert_eq!(fault, value_error, "{message}");
        assert!(message.contains("more than 32 levels deep"), "{message}");
        assert_eq!(get("version after"), json!("19.0"), "{transport}");
        assert_eq!(get("unlink"), json!(true), "{transport}");
    }
}

fn web_json2_and_addons(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "domain_lab"]);
    let key = pulse.ok(&["apikey", "admin", "context test"]);
    let key = key.lines().last().unwrap().trim().to_string();
    let server = pulse.serve();
    let mut rpc = Rpc::new(&server);
    let session = rpc.login(&pulse.db_name);
    // The session's user context is `context_get`'s, as in Odoo.
    let context = rpc
        .call("res.users", "context_get", json!([]), json!({}))
        .unwrap();
    assert_eq!(session["result"]["user_context"], context);
    assert_eq!(context["lang"], "en_US");
    // Heidi (11) is archived in the fixture's data.
    let heidi = json!([[["name", "=", "Heidi"]]]);
    let search = |rpc: &mut Rpc, kwargs: Value| {
        rpc.call("lab.partner", "search", heidi.clone(), kwargs)
            .unwrap()
    };
    assert_eq!(search(&mut rpc, json!({})), json!([]));
    assert_eq!(
        search(&mut rpc, json!({"context": {"active_test": false}})),
        json!([11])
    );
    // Archived children are out of one2many sub-searches; a many2one
    // reaches an archived parent (Odoo 19).
    let with_children = |rpc: &mut Rpc, kwargs: Value| {
        rpc.call(
            "lab.partner",
            "search",
            json!([[["child_ids.name", "=", "Heidi"]]]),
            kwargs,
        )
        .unwrap()
    };
    assert_eq!(with_children(&mut rpc, json!({})), json!([]));
    assert_eq!(
        with_children(&mut rpc, json!({"context": {"active_test": false}})),
        json!([9]),
        "Frank is Heidi's parent"
    );
    assert_eq!(
        rpc.call(
            "lab.partner",
            "search",
            json!([[["parent_id.name", "=", "Initech 50%_off"]]]),
            json!({})
        )
        .unwrap(),
        json!([8]),
        "Erin's parent is archived"
    );

    // JSON-2 takes the context from the body.
    let body = |context: Value| json!({"domain": [["name", "=", "Heidi"]], "context": context});
    let (status, found) = json2(&server, &key, "lab.partner", "search", body(json!({})));
    assert_eq!((status, found), (200, json!([])));
    let (status, found) = json2(
        &server,
        &key,
        "lab.partner",
        "search",
        body(json!({"active_test": false})),
    );
    assert_eq!((status, found), (200, json!([11])));
    let (status, e) = json2(&server, &key, "lab.partner", "search", body(json!("x")));
    assert_eq!(
        (status, e["name"].as_str()),
        (422, Some("builtins.TypeError")),
        "{e}"
    );

    // An addon method receives the context in its keyword arguments, and
    // its own searches run under it.
    let seen = rpc
        .call(
            "lab.partner",
            "context_seen",
            json!([[]]),
            json!({"context": {"lang": "fr_BE", "tz": "Asia/Manila", "active_test": false, "custom": [1]}}),
        )
        .unwrap();
    assert_eq!(
        seen,
        json!({"context": {"lang": "fr_BE", "tz": "Asia/Manila", "active_test": false, "custom": [1]}, "found": 22})
    );
    let seen = rpc
        .call("lab.partner", "context_seen", json!([[]]), json!({}))
        .unwrap();
    assert_eq!(seen, json!({"context": {}, "found": 17}));
    let (status, seen) = json2(
        &server,
        &key,
        "lab.partner",
        "context_seen",
        json!({"context": {"lang": "fr_BE"}}),
    );
    assert_eq!(
        (status, seen),
        (200, json!({"context": {"lang": "fr_BE"}, "found": 17}))
    );

    // A model without `active` cannot archive.
    let e = rpc
        .call("lab.tag", "action_archive", json!([[1]]), json!({}))
        .unwrap_err();
    assert_eq!(e["data"]["name"], "builtins.ValueError", "{e}");
    assert!(
        e["data"]["message"]
            .as_str()
            .unwrap()
            .contains("has no 'active' field"),
        "{e}"
    );
}

fn archived_user(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &[]);
    let server = pulse.serve();
    let mut admin = Rpc::new(&server);
    admin.login(&pulse.db_name);
    let zoe = admin
        .call(
            "res.users",
            "create",
            json!([{"name": "Zoe", "login": "zoe", "password": "zoe-pw"}]),
            json!({}),
        )
        .unwrap();
    Rpc::new(&server).login_as(&pulse.db_name, "zoe", "zoe-pw");
    let find = |admin: &mut Rpc, kwargs: Value| {
        admin
            .call(
                "res.users",
                "search",
                json!([[["login", "=", "zoe"]]]),
                kwargs,
            )
            .unwrap()
    };
    assert_eq!(
        admin
            .call("res.users", "action_archive", json!([[zoe]]), json!({}))
            .unwrap(),
        json!(true)
    );
    assert_eq!(find(&mut admin, json!({})), json!([]));
    assert_eq!(
        find(&mut admin, json!({"context": {"active_test": false}})),
        json!([zoe])
    );
    let refused = Rpc::new(&server).post(
        "/web/session/authenticate",
        json!({"db": pulse.db_name, "login": "zoe", "password": "zoe-pw"}),
    );
    let (kind, _) = login_refusal(&refused);
    assert_eq!(kind, "odoo.exceptions.AccessDenied");
    admin
        .call("res.users", "action_unarchive", json!([[zoe]]), json!({}))
        .unwrap();
    assert_eq!(find(&mut admin, json!({})), json!([zoe]));
    Rpc::new(&server).login_as(&pulse.db_name, "zoe", "zoe-pw");
}
