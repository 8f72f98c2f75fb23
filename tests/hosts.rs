//! Several hosts on one PostgreSQL database: a lifecycle change made
//! anywhere (by the CLI, or over RPC on another serving host) reaches a
//! serving host at once, through LISTEN/NOTIFY, and it serves the new
//! models and routes within a second. Sessions and login-throttle counters
//! live in the database: a cookie from one host works on another and
//! survives a restart, a logout anywhere ends it everywhere, and failures
//! are counted across hosts. A new password refuses the old one on every
//! host at once, though each host remembers checked credentials itself.

use pulse_testing::{Backend, Pulse, Rpc, Server, build_addons, ok};
use serde_json::{Value, json};

#[test]
fn an_install_elsewhere_is_served_within_a_second() {
    build_addons();
    let pulse = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    let log = pulse.data_dir.join("host2.log");
    let host2 = pulse.serve_logging(Some(&log));
    let mut rpc = Rpc::new(&host2);
    rpc.login(&pulse.db_name);
    assert!(
        rpc.call("finance.ssc.agency", "search_count", json!([[]]), json!({}))
            .is_err()
    );
    pulse.ok(&["install", "agency_lab"]);
    let installed = std::time::Instant::now();
    let served = loop {
        if let Ok(count) = rpc.call("finance.ssc.agency", "search_count", json!([[]]), json!({})) {
            break count;
        }
        assert!(
            installed.elapsed() < std::time::Duration::from_secs(1),
            "host 2 did not serve the new model within a second"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(served, json!(0));
    drop(host2);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("another host changed the installed addons; reloading"),
        "the change was announced, not only polled:\n{log}"
    );
}

#[test]
fn a_route_installed_through_host_1_is_served_by_host_2_within_a_second() {
    build_addons();
    let pulse = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    let host1 = pulse.serve();
    let log = pulse.data_dir.join("host2.log");
    let host2 = pulse.serve_logging(Some(&log));
    let hello = format!("{}/route_lab/hello", host2.url);
    let get = || pulse_testing::http::request("GET", &hello, &[], "").expect("request sent");
    assert_eq!(get().status, 404, "not installed yet");

    // The admin installs through host 1, as Odoo's Apps menu does.
    let mut admin = Rpc::new(&host1);
    admin.login(&pulse.db_name);
    ok(&mut admin, "ir.module.module", "update_list", json!([]));
    let module = ok(
        &mut admin,
        "ir.module.module",
        "search",
        json!([[["name", "=", "route_lab"]]]),
    );
    ok(
        &mut admin,
        "ir.module.module",
        "button_immediate_install",
        json!([module]),
    );
    let installed = std::time::Instant::now();
    let response = loop {
        let response = get();
        if response.status == 200 {
            break response;
        }
        assert!(
            installed.elapsed() < std::time::Duration::from_secs(1),
            "host 2 did not serve the new route within a second (last answer {}: {})",
            response.status,
            response.body
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(response.body, r#"{"hello":"world","uid":null}"#);
    drop(host2);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("another host changed the installed addons; reloading"),
        "the change was announced, not only polled:\n{log}"
    );
}

/// POSTs a JSON-RPC call to `path` on `server` with the session `cookie`
/// (as a browser would send it to whichever host the balancer picks).
fn post_with(server: &Server, cookie: &str, path: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).to_string();
    let response = pulse_testing::http::request(
        "POST",
        &format!("{}{path}", server.url),
        &[("Content-Type", "application/json"), ("Cookie", cookie)],
        &body,
    )
    .expect("request sent");
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("JSON body")
}

/// `res.users.search_count([])` with the session `cookie` on `server`:
/// the count, or the error object.
fn count_users(server: &Server, cookie: &str) -> Result<Value, Value> {
    let answer = post_with(
        server,
        cookie,
        "/web/dataset/call_kw",
        json!({"model": "res.users", "method": "search_count", "args": [[]], "kwargs": {}}),
    );
    match (answer.get("result"), answer.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(error)) => Err(error.clone()),
        _ => panic!("malformed JSON-RPC response: {answer}"),
    }
}

fn assert_session_expired(outcome: Result<Value, Value>) {
    let error = outcome.expect_err("the session must be over");
    assert_eq!(error["code"], 100, "{error}");
    assert_eq!(error["data"]["name"], "odoo.http.SessionExpiredException");
}

#[test]
fn a_session_from_host_1_works_on_host_2_and_after_a_restart_until_a_logout_anywhere() {
    let pulse = Pulse::on(Backend::Postgres, &[]);
    let host1 = pulse.serve();
    let host2 = pulse.serve();
    let admin = pulse_testing::logged_in(&host1, &pulse.db_name, "admin", "admin");
    let cookie = admin.cookie().expect("a session cookie").to_string();
    let users = count_users(&host1, &cookie).expect("served by host 1");
    assert_eq!(count_users(&host2, &cookie), Ok(users.clone()));

    drop(host1);
    let host1 = pulse.serve();
    assert_eq!(
        count_users(&host1, &cookie),
        Ok(users),
        "a restart logs nobody out"
    );

    let logout = post_with(&host2, &cookie, "/web/session/destroy", json!({}));
    assert_eq!(logout["result"], Value::Null, "{logout}");
    assert_session_expired(count_users(&host1, &cookie));
    assert_session_expired(count_users(&host2, &cookie));
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM pulse_sessions"),
        0,
        "the logout removed the session's row"
    );
}

/// A web login as admin through `server` that must fail: its kind and message.
fn login_refusal(server: &Server, db: &str, password: &str) -> (String, String) {
    pulse_testing::login_refusal(&Rpc::new(server).post(
        "/web/session/authenticate",
        json!({"db": db, "login": "admin", "password": password}),
    ))
}

#[test]
fn five_failed_logins_over_two_hosts_lock_the_login_on_both() {
    let pulse = Pulse::on(Backend::Postgres, &[]);
    let (host1, host2) = (pulse.serve(), pulse.serve());
    let denied = (
        "odoo.exceptions.AccessDenied".to_string(),
        "Access Denied".to_string(),
    );
    let locked = (
        "odoo.exceptions.AccessDenied".to_string(),
        "Too many failed logins; try again later".to_string(),
    );
    for (server, failures) in [(&host1, 3), (&host2, 2)] {
        for _ in 0..failures {
            assert_eq!(login_refusal(server, &pulse.db_name, "wrong"), denied);
        }
    }
    // Even the right password is refused now, on either host.
    for server in [&host1, &host2] {
        assert_eq!(login_refusal(server, &pulse.db_name, "admin"), locked);
    }
}

#[test]
fn a_new_password_set_through_host_2_refuses_the_old_one_on_host_1_at_once() {
    let pulse = Pulse::on(Backend::Postgres, &[]);
    let (host1, host2) = (pulse.serve(), pulse.serve());
    let execute_kw = |server: &Server, password: &str| {
        Rpc::new(server).post(
            "/jsonrpc",
            json!({"service": "object", "method": "execute_kw",
                   "args": [pulse.db_name, 1, password, "res.users", "search_count", [[]]]}),
        )
    };
    // The second call is answered from host 1's remembered credentials.
    for _ in 0..2 {
        let answer = execute_kw(&host1, "admin");
        assert!(answer.get("result").is_some(), "{answer}");
    }
    let mut admin = pulse.admin(&host2);
    ok(
        &mut admin,
        "res.users",
        "write",
        json!([[1], {"password": "N3w-admin-pw!"}]),
    );
    let answer = execute_kw(&host1, "admin");
    assert_eq!(
        answer["error"]["data"]["name"], "odoo.exceptions.AccessDenied",
        "{answer}"
    );
    let answer = execute_kw(&host1, "N3w-admin-pw!");
    assert!(answer.get("result").is_some(), "{answer}");
}
