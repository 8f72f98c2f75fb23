//! Addon HTTP routes through `pulse serve`, on SQLite and PostgreSQL: each
//! auth mode (public, user by session or API key, API key only), path and
//! query parameters, the body limit (413), a handler that fails after
//! writing (rolled back), and one that traps (500 naming the addon; the
//! host serves on).

use pulse_testing::http::{Response, request};
use pulse_testing::{Backend, Pulse, Rpc, build_addons, ok};
use pulse_testing::{create_user, groups_named};
use serde_json::{Value, json};

on_both! {
    routes_authenticate_limit_and_survive_traps => routes;
}

fn json_of(response: &Response) -> Value {
    serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("{e}: not JSON: {}", response.body))
}

fn routes(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "route_lab"]);
    let server = pulse.serve();
    let url = |path: &str| format!("{}{path}", server.url);
    let send = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        request(method, &url(path), headers, body).expect("request sent")
    };

    // Public: anyone, no user; the ORM gives nobody more than rights
    // without a group allow (none here).
    let hello = send("GET", "/route_lab/hello", &[], "");
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert_eq!(hello.header("content-type"), Some("application/json"));
    assert_eq!(json_of(&hello), json!({"hello": "world", "uid": null}));
    let named = send("GET", "/route_lab/hello?name=caf%C3%A9+au+lait", &[], "");
    assert_eq!(json_of(&named)["hello"], "café au lait");
    let nobody = send("GET", "/route_lab/public/notes", &[], "");
    assert_eq!(nobody.status, 403, "{}", nobody.body);
    assert_eq!(json_of(&nobody)["name"], "odoo.exceptions.AccessError");

    // User: a session cookie or an API key; nothing else.
    let body = r#"{"name": "first"}"#;
    let anonymous = send("POST", "/route_lab/notes", &[], body);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    let mut admin = pulse.admin(&server);
    let cookie = admin.cookie().expect("a session cookie").to_string();
    let created = send("POST", "/route_lab/notes", &[("Cookie", &cookie)], body);
    assert_eq!(created.status, 201, "{}", created.body);
    let first = json_of(&created)["id"].as_i64().expect("an id");
    assert_eq!(json_of(&created)["uid"], 1);

    // An internal user's API key: the route runs with that user's rights.
    let group = groups_named(&mut admin, "Internal User");
    let ana = create_user(&mut admin, "ana", "Ana", Some("Ana-S3cret-pw!7"), &group);
    let key = pulse.ok(&["apikey", "ana", "routes test"]);
    let bearer = format!("Bearer {}", key.lines().last().unwrap().trim());
    let by_key = send(
        "POST",
        "/route_lab/notes",
        &[("Authorization", &bearer)],
        r#"{"name": "second"}"#,
    );
    assert_eq!(by_key.status, 201, "{}", by_key.body);
    assert_eq!(json_of(&by_key)["uid"], ana);
    let wrong_key = send(
        "POST",
        "/route_lab/notes",
        &[("Authorization", "Bearer not-a-key")],
        body,
    );
    assert_eq!(wrong_key.status, 401);
    let bad_body = send(
        "POST",
        "/route_lab/notes",
        &[("Cookie", &cookie)],
        r#"{"title": 1}"#,
    );
    assert_eq!(bad_body.status, 422, "{}", bad_body.body);
    assert!(
        json_of(&bad_body)["message"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"),
        "{}",
        bad_body.body
    );

    // API key only: a session is not enough.
    let path = format!("/route_lab/notes/{first}");
    let session_only = send("GET", &path, &[("Cookie", &cookie)], "");
    assert_eq!(session_only.status, 401, "{}", session_only.body);
    let read = send("GET", &path, &[("Authorization", &bearer)], "");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(json_of(&read), json!({"id": first, "name": "first"}));
    let missing = send(
        "GET",
        "/route_lab/notes/999999",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(json_of(&missing)["name"], "odoo.exceptions.MissingError");
    let not_a_number = send(
        "GET",
        "/route_lab/notes/seven",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(not_a_number.status, 422, "{}", not_a_number.body);
    assert!(
        json_of(&not_a_number)["message"]
            .as_str()
            .unwrap()
            .contains("'seven' is not a valid i64")
    );

    // The body limit: 1 KiB passes, one byte more is 413 and the addon never runs.
    let kib = "x".repeat(1024);
    let echoed = send("POST", "/route_lab/echo", &[("Cookie", &cookie)], &kib);
    assert_eq!(json_of(&echoed), json!({"received": 1024}));
    let over = send(
        "POST",
        "/route_lab/echo",
        &[("Cookie", &cookie)],
        &format!("{kib}x"),
    );
    assert_eq!(over.status, 413, "{}", over.body);
    assert_eq!(
        json_of(&over)["name"],
        "werkzeug.exceptions.RequestEntityTooLarge"
    );
    assert!(
        json_of(&over)["message"]
            .as_str()
            .unwrap()
            .contains("at most 1024 bytes")
    );

    // A handler that fails after writing leaves nothing behind.
    let count = |rpc: &mut Rpc| ok(rpc, "route.note", "search_count", json!([[]]));
    assert_eq!(count(&mut admin), json!(2));
    let failed = send("POST", "/route_lab/fail", &[("Cookie", &cookie)], "");
    assert_eq!(failed.status, 422, "{}", failed.body);
    assert_eq!(json_of(&failed)["name"], "odoo.exceptions.UserError");
    assert_eq!(json_of(&failed)["message"], "the note cannot be kept");
    assert_eq!(
        count(&mut admin),
        json!(2),
        "the failed route's note was rolled back"
    );

    // A trap is a 500 naming the addon and its last words; the host is fine.
    let trapped = send("GET", "/route_lab/trap", &[], "");
    assert_eq!(trapped.status, 500, "{}", trapped.body);
    let error = json_of(&trapped);
    assert_eq!(error["name"], "pulse.exceptions.AddonTrap");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("addon 'route_lab' trapped") && message.contains("always panics"),
        "{message}"
    );
    assert_eq!(send("GET", "/route_lab/hello", &[], "").status, 200);

    // Paths and methods nobody serves.
    let wrong_method = send("DELETE", "/route_lab/hello", &[], "");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET"));
    assert_eq!(send("GET", "/route_lab/nothing", &[], "").status, 404);

    // Metrics label addon routes by pattern, and count the trap.
    let metrics = send("GET", "/metrics", &[], "").body;
    assert!(
        metrics.contains("pulse_addon_traps_total{addon=\"route_lab\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/route_lab/notes/{id}\""),
        "routes are labelled by pattern: {metrics}"
    );
    assert!(!metrics.contains("/route_lab/notes/999999"));
}
