//! Odoo 19's web endpoints beyond `call_kw`, through HTTP as its clients
//! use them, on SQLite and PostgreSQL: `/web/dataset/call_button` and
//! `search_read`, logging out, `/web/version`, session information by GET
//! and POST, the menus a user sees (`/web/webclient/load_menus`, from an
//! addon's data files), files (`/web/content`, `/web/image`) under their
//! readers' rights, the `db` and `common` services' answers and JSON-2's
//! `X-Odoo-Database`. Hostile input gets a clear error and the host serves on.

use pulse_testing::http::Response;
use pulse_testing::{Backend, Pulse, Rpc, Server, build_addons, create_user, groups_named, id, ok};
use serde_json::{Value, json};

on_both! {
    dataset_session_and_version_endpoints_answer_as_odoo => dataset_and_session;
    menus_follow_the_users_groups_and_rights => menus;
    content_is_served_only_to_its_readers => content;
    services_and_the_json2_database_header_answer_as_odoo => services;
}

const ANA_PASSWORD: &str = "Ana-W3b-pw!4";
const BOB_PASSWORD: &str = "Bob-W3b-pw!8";

/// agency_lab (with its menus) and domain_lab installed, served in this
/// process; two agencies with a document each, Ana of agency A and Bob of
/// agency B.
struct Lab {
    pulse: Pulse,
    server: Server,
    admin: Rpc,
    /// A document of agency A, then of agency B.
    docs: [i64; 2],
}

fn lab(backend: Backend) -> Lab {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "agency_lab", "domain_lab"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let mut agency = |code: &str| {
        id(ok(
            &mut admin,
            "finance.ssc.agency",
            "create",
            json!([{"code": code, "name": format!("Agency {code}")}]),
        ))
    };
    let (a, b) = (agency("A"), agency("B"));
    let group = groups_named(&mut admin, "Agency User");
    for (login, password, agency) in [("ana", ANA_PASSWORD, a), ("bob", BOB_PASSWORD, b)] {
        let user = create_user(&mut admin, login, login, Some(password), &group);
        ok(
            &mut admin,
            "res.users",
            "write",
            json!([[user], {"agency_id": agency}]),
        );
    }
    let mut doc = |name: &str, agency: i64| {
        id(ok(
            &mut admin,
            "agency.doc",
            "create",
            json!([{"name": name, "agency_id": agency, "amount": 1.0}]),
        ))
    };
    let docs = [doc("A-1", a), doc("B-1", b)];
    Lab {
        pulse,
        server,
        admin,
        docs,
    }
}

impl Lab {
    fn user(&self, login: &str, password: &str) -> Rpc {
        pulse_testing::logged_in(&self.server, &self.pulse.db_name, login, password)
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        get(&self.server, path, cookie)
    }
}

/// `GET path`, with a session cookie when one is given.
fn get(server: &Server, path: &str, cookie: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    server
        .request("GET", path, &headers, "")
        .expect("request sent")
}

fn json_of(response: &Response) -> Value {
    serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("{e}: not JSON ({}): {}", response.status, response.body))
}

fn result(answer: &Value) -> &Value {
    answer
        .get("result")
        .unwrap_or_else(|| panic!("expected a result: {answer}"))
}

fn error_name(answer: &Value) -> &str {
    answer["error"]["data"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {answer}"))
}

fn dataset_and_session(backend: Backend) {
    let mut lab = lab(backend);
    let [doc_a, doc_b] = lab.docs;

    // call_button: an action comes back cleaned (a window action gets its
    // views); anything else is false.
    ok(&mut lab.admin, "ir.module.module", "update_list", json!([]));
    let module = ok(
        &mut lab.admin,
        "ir.module.module",
        "search",
        json!([[["name", "=", "cron_counter"]]]),
    );
    let button = |rpc: &mut Rpc, model: &str, method: &str, args: Value| {
        rpc.post(
            "/web/dataset/call_button",
            json!({"model": model, "method": method, "args": args, "kwargs": {}}),
        )
    };
    let action = button(
        &mut lab.admin,
        "ir.module.module",
        "button_install",
        json!([module]),
    );
    let action = result(&action);
    assert_eq!(action["type"], "ir.actions.act_window", "{action}");
    assert_eq!(action["res_model"], "base.module.upgrade");
    assert_eq!(action["views"], json!([[false, "form"]]));
    let cancelled = button(
        &mut lab.admin,
        "ir.module.module",
        "button_install_cancel",
        json!([module]),
    );
    assert_eq!(result(&cancelled), &json!(false));
    // A dictionary without a type is an action that closes the dialog.
    let context = button(&mut lab.admin, "res.users", "context_get", json!([]));
    assert_eq!(result(&context)["type"], "ir.actions.act_window_close");
    // Errors and rights as call_kw's; the private check too.
    let mut ana = lab.user("ana", ANA_PASSWORD);
    let refused = button(&mut ana, "agency.doc", "unlink", json!([[doc_b]]));
    assert_eq!(error_name(&refused), "odoo.exceptions.AccessError");
    // Odoo 19's error codes: 0, 100 for an expired session.
    assert_eq!(refused["error"]["code"], 0);
    assert_eq!(refused["error"]["message"], "Odoo Server Error");
    let private = button(&mut ana, "agency.doc", "_write", json!([[doc_a]]));
    assert_eq!(error_name(&private), "odoo.exceptions.AccessError");
    let written = button(
        &mut ana,
        "agency.doc",
        "write",
        json!([[doc_a], {"amount": 2.5}]),
    );
    assert_eq!(result(&written), &json!(false), "{written}");
    let amount = ok(&mut ana, "agency.doc", "read", json!([[doc_a], ["amount"]]));
    assert_eq!(amount[0]["amount"], 2.5);

    // search_read: {length, records}; length counts every match when the
    // page is full; the user's record rules apply.
    for n in 0..4 {
        ok(
            &mut lab.admin,
            "lab.tag",
            "create",
            json!([{"name": format!("extra {n}")}]),
        );
    }
    let page = lab.admin.post(
        "/web/dataset/search_read",
        json!({"model": "lab.tag", "domain": [], "fields": ["name"], "offset": 1,
               "limit": 2, "sort": "name desc"}),
    );
    let page = result(&page);
    assert_eq!(page["length"], 7, "{page}");
    let names: Vec<&str> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["extra 2", "extra 1"]);
    assert_eq!(
        page["records"][0].as_object().unwrap().len(),
        2,
        "only the fields asked for, and id"
    );
    let last = lab.admin.post(
        "/web/dataset/search_read",
        json!({"model": "lab.tag", "domain": [["name", "like", "extra"]], "offset": 3, "limit": 2}),
    );
    assert_eq!(result(&last)["length"], 4);
    let none = lab.admin.post(
        "/web/dataset/search_read",
        json!({"model": "lab.tag", "domain": [["name", "=", "nothing"]]}),
    );
    assert_eq!(result(&none), &json!({"length": 0, "records": []}));
    let seen = ana.post(
        "/web/dataset/search_read",
        json!({"model": "agency.doc", "fields": ["name"]}),
    );
    assert_eq!(
        result(&seen)["records"],
        json!([{"id": doc_a, "name": "A-1"}])
    );
    for bad in [
        json!({"model": "lab.tag", "limit": -1}),
        json!({"model": "lab.tag", "offset": "x"}),
        json!({"model": "lab.tag", "domain": [["nope", "=", 1]]}),
        json!({"model": "no.such.model"}),
        json!({"domain": []}),
    ] {
        let answer = lab.admin.post("/web/dataset/search_read", bad.clone());
        assert!(answer.get("error").is_some(), "{bad} must fail: {answer}");
    }
    let anonymous =
        Rpc::new(&lab.server).post("/web/dataset/search_read", json!({"model": "lab.tag"}));
    assert_eq!(error_name(&anonymous), "odoo.http.SessionExpiredException");
    assert_eq!(anonymous["error"]["code"], 100);

    // /web/version: plain JSON, by GET.
    let version = lab.get("/web/version", None);
    assert_eq!(version.status, 200, "{}", version.body);
    assert_eq!(
        json_of(&version),
        json!({"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"})
    );

    let info = lab.get("/web/webclient/version_info", None);
    assert_eq!(json_of(&info)["result"]["server_version"], "19.0");

    // get_session_info by GET and by POST.
    let cookie = ana.cookie().unwrap().to_string();
    let by_get = lab.get("/web/session/get_session_info", Some(&cookie));
    assert_eq!(by_get.status, 200, "{}", by_get.body);
    assert_eq!(json_of(&by_get)["result"]["username"], "ana");
    let by_post = ana.post("/web/session/get_session_info", json!({}));
    assert_eq!(result(&by_post)["username"], "ana");
    let nobody = lab.get("/web/session/get_session_info", None);
    assert_eq!(
        json_of(&nobody)["error"]["data"]["name"],
        "odoo.http.SessionExpiredException"
    );

    // Logout ends the session for every host (it is a row) and sends the
    // browser to a local page only.
    let logout = lab
        .server
        .request(
            "GET",
            "/web/session/logout?redirect=https://evil.example/steal?x=1",
            &[("Cookie", &cookie)],
            "",
        )
        .unwrap();
    assert_eq!(logout.status, 303, "{}", logout.body);
    assert_eq!(logout.header("location"), Some("/steal?x=1"));
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = lab.get("/web/session/get_session_info", Some(&cookie));
    assert_eq!(
        json_of(&after)["error"]["data"]["name"],
        "odoo.http.SessionExpiredException"
    );
    assert_eq!(
        error_name(&ana.post("/web/dataset/search_read", json!({"model": "agency.doc"}))),
        "odoo.http.SessionExpiredException"
    );
    let mut bob = lab.user("bob", BOB_PASSWORD);
    let bob_cookie = bob.cookie().unwrap().to_string();
    for (target, expected) in [
        ("", "/odoo"),
        ("?redirect=%2Fodoo%2Faction-1", "/odoo/action-1"),
        ("?redirect=//evil.example/x", "/x"),
        ("?redirect=%5C%5Cevil.example", "/"),
        ("?redirect=javascript:alert(1)", "/alert(1)"),
    ] {
        let out = lab
            .server
            .request("POST", &format!("/web/session/logout{target}"), &[], "")
            .unwrap();
        assert_eq!(out.status, 303, "{target}: {}", out.body);
        assert_eq!(out.header("location"), Some(expected), "{target}");
    }
    // Nobody's logout ended Bob's session.
    let still = bob.post("/web/session/get_session_info", json!({}));
    assert_eq!(result(&still)["username"], "bob");
    let _ = bob_cookie;
}

fn menus(backend: Backend) {
    let mut lab = lab(backend);
    let xmlid_of = |menus: &Value, xmlid: &str| -> Value {
        menus
            .as_object()
            .unwrap()
            .values()
            .find(|m| m["xmlid"] == xmlid)
            .cloned()
            .unwrap_or_else(|| panic!("no menu {xmlid} in {menus}"))
    };
    let load = |lab: &Lab, rpc: &Rpc| -> Response {
        get(&lab.server, "/web/webclient/load_menus", rpc.cookie())
    };

    // The admin sees every menu of the app, in sequence order.
    let answer = load(&lab, &lab.admin);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let menus = json_of(&answer);
    let root = xmlid_of(&menus, "agency_lab.menu_agency_root");
    assert_eq!(menus["root"]["children"], json!([root["id"]]));
    assert_eq!(menus["root"]["id"], "root");
    let names = |menus: &Value, parent: &Value| -> Vec<String> {
        parent["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| menus[id.to_string()]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&menus, &root),
        ["Documents", "Agencies", "Users", "Settings"]
    );
    // An app opens its first submenu's action; every menu knows its app.
    let docs = xmlid_of(&menus, "agency_lab.menu_agency_docs");
    let action = ok(
        &mut lab.admin,
        "ir.model.data",
        "search_read",
        json!([
            [
                ["module", "=", "agency_lab"],
                ["name", "=", "action_agency_docs"]
            ],
            ["res_id"]
        ]),
    )[0]["res_id"]
        .clone();
    assert_eq!(root["actionID"], action);
    assert_eq!(root["actionModel"], "ir.actions.act_window");
    assert_eq!(root["actionPath"], "agency-docs");
    assert_eq!(root["webIcon"], "fa-building,#ffffff,#875A7B");
    assert_eq!(root["appID"], root["id"]);
    assert_eq!(docs["appID"], root["id"]);
    assert_eq!(docs["actionID"], action);
    assert_eq!(docs["children"], json!([]));
    for key in ["webIconData", "webIconDataMimetype"] {
        assert!(docs.get(key).is_some(), "{key} in {docs}");
    }
    // The menu's action reads as Odoo's reference value.
    let stored = ok(
        &mut lab.admin,
        "ir.ui.menu",
        "read",
        json!([[docs["id"]], ["action", "parent_id", "group_ids"]]),
    );
    assert_eq!(
        stored[0]["action"],
        format!("ir.actions.act_window,{action}")
    );

    // Ana (agency users): not the settings (a group she lacks), nor the
    // users (a model she may not read).
    let ana = lab.user("ana", ANA_PASSWORD);
    let menus = json_of(&load(&lab, &ana));
    let root = xmlid_of(&menus, "agency_lab.menu_agency_root");
    assert_eq!(names(&menus, &root), ["Documents", "Agencies"]);
    assert_eq!(menus.as_object().unwrap().len(), 4, "{menus}");
    // Agency users read menus and actions, and change neither.
    let (kind, _) = pulse_testing::refused(
        &mut lab.user("ana", ANA_PASSWORD),
        "ir.ui.menu",
        "write",
        json!([[root["id"]], {"name": "Mine"}]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");

    // A user in no group of the app sees no app.
    let internal = groups_named(&mut lab.admin, "Internal User");
    create_user(
        &mut lab.admin,
        "carl",
        "Carl",
        Some("Carl-W3b-pw!1"),
        &internal,
    );
    let carl = lab.user("carl", "Carl-W3b-pw!1");
    let menus = json_of(&load(&lab, &carl));
    assert_eq!(menus["root"]["children"], json!([]), "{menus}");

    // Menus the admin adds over RPC show at once; archived ones do not.
    let extra = id(ok(
        &mut lab.admin,
        "ir.ui.menu",
        "create",
        json!([{"name": "Extra", "parent_id": root["id"], "sequence": 0,
                "action": format!("ir.actions.act_window,{action}")}]),
    ));
    let menus = json_of(&load(&lab, &ana));
    let root = xmlid_of(&menus, "agency_lab.menu_agency_root");
    assert_eq!(names(&menus, &root), ["Extra", "Documents", "Agencies"]);
    ok(
        &mut lab.admin,
        "ir.ui.menu",
        "write",
        json!([[extra], {"active": false}]),
    );
    let menus = json_of(&load(&lab, &ana));
    assert_eq!(
        names(&menus, &xmlid_of(&menus, "agency_lab.menu_agency_root")),
        ["Documents", "Agencies"]
    );

    // No session: Odoo's "session expired"; the host serves on.
    let anonymous = lab.get("/web/webclient/load_menus", None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(
        json_of(&anonymous)["name"],
        "odoo.http.SessionExpiredException"
    );
    let forged = lab.get("/web/webclient/load_menus", Some("session_id=deadbeef"));
    assert_eq!(forged.status, 401);
    assert_eq!(load(&lab, &lab.admin).status, 200);
}

fn content(backend: Backend) {
    let mut lab = lab(backend);
    let [doc_a, doc_b] = lab.docs;
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake image";
    let attach =
        |admin: &mut Rpc, values: Value| id(ok(admin, "ir.attachment", "create", json!([values])));
    let on_a = attach(
        &mut lab.admin,
        json!({"name": "report A.txt", "datas": b64(b"agency A's report"), "mimetype": "text/plain",
               "res_model": "agency.doc", "res_id": doc_a}),
    );
    let on_b = attach(
        &mut lab.admin,
        json!({"name": "report B.txt", "datas": b64(b"agency B's secret"),
               "res_model": "agency.doc", "res_id": doc_b}),
    );
    let loose = attach(
        &mut lab.admin,
        json!({"name": "loose.bin", "datas": b64(b"admins only")}),
    );
    let public = attach(
        &mut lab.admin,
        json!({"name": "logo.png", "datas": b64(png), "public": true}),
    );
    let unicode = attach(
        &mut lab.admin,
        json!({"name": "résumé \"final\".pdf", "datas": b64(b"%PDF-1.4 tiny"),
               "res_model": "agency.doc", "res_id": doc_a}),
    );
    let ana = lab.user("ana", ANA_PASSWORD);
    let ana_cookie = ana.cookie().unwrap().to_string();
    let admin_cookie = lab.admin.cookie().unwrap().to_string();
    let get = |path: &str, cookie: Option<&str>| get(&lab.server, path, cookie);

    // An attachment of a record the user may read: inline, its type.
    let file = get(&format!("/web/content/{on_a}"), Some(&ana_cookie));
    assert_eq!(file.status, 200, "{}", file.body);
    assert_eq!(file.bytes, b"agency A's report");
    assert_eq!(file.header("content-type"), Some("text/plain"));
    assert_eq!(
        file.header("content-disposition"),
        Some("inline; filename=\"report A.txt\"")
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    // As a download, under the name the URL gives (its last component only).
    let download = get(
        &format!("/web/content/{on_a}?download=true&filename=../../etc/passwd"),
        Some(&ana_cookie),
    );
    assert_eq!(download.status, 200, "{}", download.body);
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"passwd\"")
    );
    let named = get(&format!("/web/content/{on_a}/notes.txt"), Some(&ana_cookie));
    assert_eq!(
        named.header("content-disposition"),
        Some("inline; filename=\"notes.txt\"")
    );
    let by_query = get(
        &format!("/web/content?model=ir.attachment&id={on_a}&field=datas"),
        Some(&ana_cookie),
    );
    assert_eq!(by_query.bytes, b"agency A's report");
    // A name beyond ASCII: a fallback and its UTF-8 form; quotes dropped.
    let pdf = get(&format!("/web/content/{unicode}"), Some(&ana_cookie));
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert_eq!(
        pdf.header("content-disposition"),
        Some("inline; filename=\"rsum final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf")
    );

    // Another agency's attachment, one on no record, and no session: 404,
    // as for a file that does not exist.
    for (path, cookie) in [
        (format!("/web/content/{on_b}"), Some(ana_cookie.as_str())),
        (format!("/web/image/{on_b}"), Some(ana_cookie.as_str())),
        (format!("/web/content/{loose}"), Some(ana_cookie.as_str())),
        (format!("/web/content/{on_a}"), None),
        (
            "/web/content/999999".to_string(),
            Some(admin_cookie.as_str()),
        ),
        (
            "/web/content/99999999999999999999999".to_string(),
            Some(admin_cookie.as_str()),
        ),
        ("/web/content/-1".to_string(), Some(admin_cookie.as_str())),
        ("/web/content/0".to_string(), Some(admin_cookie.as_str())),
        (
            "/web/content/no.such_xmlid".to_string(),
            Some(admin_cookie.as_str()),
        ),
        (
            "/web/content/a/b/c/d/e/f".to_string(),
            Some(admin_cookie.as_str()),
        ),
        ("/web/content".to_string(), Some(admin_cookie.as_str())),
        (
            "/web/content?id=abc".to_string(),
            Some(admin_cookie.as_str()),
        ),
        (
            "/web/content/agency.doc/1/name".to_string(),
            Some(admin_cookie.as_str()),
        ),
        (
            "/web/content/res.users/1/password".to_string(),
            Some(admin_cookie.as_str()),
        ),
        (
            "/web/content/no.model/1/datas".to_string(),
            Some(admin_cookie.as_str()),
        ),
    ] {
        let refused = get(&path, cookie);
        assert_eq!(refused.status, 404, "{path}: {}", refused.body);
        assert_eq!(
            json_of(&refused)["name"],
            "werkzeug.exceptions.NotFound",
            "{path}"
        );
        assert!(!refused.body.contains("secret") && !refused.body.contains("admins only"));
    }
    // The admin reads the loose one; anyone the public one, its type from its bytes.
    assert_eq!(
        get(&format!("/web/content/{loose}"), Some(&admin_cookie)).bytes,
        b"admins only"
    );
    let logo = get(&format!("/web/image/{public}"), None);
    assert_eq!(logo.status, 200, "{}", logo.body);
    assert_eq!(logo.bytes, png);
    assert_eq!(logo.header("content-type"), Some("image/png"));
    let sized = get(
        &format!("/web/image/{public}/64x64/logo.png?unique=1"),
        None,
    );
    assert_eq!(sized.bytes, png);
    assert!(sized.header("cache-control").unwrap().contains("immutable"));

    // A binary field of a record: the reader's rights apply.
    let partner = id(ok(
        &mut lab.admin,
        "lab.partner",
        "create",
        json!([{"name": "Pictured", "avatar": b64(png)}]),
    ));
    let avatar = get(
        &format!("/web/image/lab.partner/{partner}/avatar"),
        Some(&admin_cookie),
    );
    assert_eq!(avatar.status, 200, "{}", avatar.body);
    assert_eq!(avatar.bytes, png);
    assert_eq!(
        avatar.header("content-disposition"),
        Some("inline; filename=\"Pictured\"")
    );
    let by_query = get(
        &format!("/web/content?model=lab.partner&id={partner}&field=avatar&download=1"),
        Some(&admin_cookie),
    );
    assert_eq!(by_query.bytes, png);
    assert!(
        by_query
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    let hidden = get(
        &format!("/web/image/lab.partner/{partner}/avatar"),
        Some(&ana_cookie),
    );
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    let empty = id(ok(
        &mut lab.admin,
        "lab.partner",
        "create",
        json!([{"name": "Blank"}]),
    ));
    assert_eq!(
        get(
            &format!("/web/image/lab.partner/{empty}/avatar"),
            Some(&admin_cookie)
        )
        .status,
        404
    );
    // The mail code still reads attachments as before.
    assert_eq!(
        ok(
            &mut lab.admin,
            "ir.attachment",
            "read",
            json!([[on_a], ["name", "res_model", "type"]])
        )[0]["type"],
        "binary"
    );
    // The host serves on.
    assert_eq!(
        get(&format!("/web/content/{on_a}"), Some(&ana_cookie)).status,
        200
    );
}

fn services(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    let out = pulse.ok(&["apikey", "admin", "web endpoints test"]);
    let key = out.lines().last().unwrap().trim().to_string();
    let server = pulse.serve();
    let db = pulse.db_name.clone();

    // The services as Python's xmlrpc.client sees them.
    let output = pulse_testing::python_script("web_services.py", &[&server.url, &db]);
    let answers: serde_json::Map<String, Value> = output
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            let (key, value) = value.as_object().unwrap().iter().next().unwrap();
            (key.clone(), value.clone())
        })
        .collect();
    let about = answers["about"].as_str().expect("about() is text");
    assert_eq!(answers["about_extended"], json!([about, "19.0"]));
    assert_eq!(answers["version"]["server_version"], "19.0");
    assert_eq!(answers["list"], json!([db]));
    assert_eq!(answers["db_exist"], json!(true));
    assert_eq!(answers["drop_unknown"], json!(false));
    assert_eq!(
        answers["drop_served"]["fault"], 3,
        "{}",
        answers["drop_served"]
    );
    assert_eq!(answers["create"]["fault"], 3, "{}", answers["create"]);
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM res_users WHERE id = 1"),
        1
    );

    // JSON-2 picks the database by X-Odoo-Database: this one, or 404
    // (before the key is even looked at).
    let call = |database: Option<&str>, key: &str| {
        let bearer = format!("bearer {key}");
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Authorization", bearer.as_str()),
        ];
        if let Some(database) = database {
            headers.push(("X-Odoo-Database", database));
        }
        let r = server
            .request(
                "POST",
                "/json/2/res.users/search_count",
                &headers,
                "{\"domain\": []}",
            )
            .unwrap();
        (
            r.status,
            serde_json::from_str::<Value>(&r.body).unwrap_or(Value::String(r.body)),
        )
    };
    let (status, count) = call(Some(&db), &key);
    assert_eq!((status, count.is_number()), (200, true), "{count}");
    assert_eq!(call(None, &key).0, 200);
    for (database, key) in [
        ("another_db", key.as_str()),
        ("another_db", "wrong"),
        (&"x".repeat(4000)[..], key.as_str()),
    ] {
        let (status, body) = call(Some(database), key);
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["name"], "werkzeug.exceptions.NotFound");
        assert!(body["message"].as_str().unwrap().len() < 200);
    }
    let (status, body) = call(Some(&db), "wrong");
    assert_eq!(
        (status, body["name"].as_str()),
        (401, Some("werkzeug.exceptions.Unauthorized"))
    );
    assert_eq!(call(Some(&db), &key).0, 200);
}
