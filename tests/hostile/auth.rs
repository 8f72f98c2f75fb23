//! Hostile tests: authentication. Passwordless users, credentials that
//! outlive a deactivation or a password change, API keys where a password
//! belongs, revoked and expired keys, other users' keys, bursts of wrong
//! passwords, forged `X-Forwarded-For` and `X-Forwarded-Proto` headers —
//! through the doors an attacker uses: `/web/session/authenticate`,
//! XML-RPC `common` and `object`, JSON-2 bearer keys and the CLI.

use serde_json::{Value, json};

use super::assert_serving;
use pulse_testing::{Backend, Pulse, Rpc, Server, json2, login_refusal, ok, refused};
use pulse_testing::{create_user, groups_named};

on_both! {
    a_user_without_a_password_cannot_log_in_by_password => passwordless;
    deactivating_a_user_ends_sessions_credentials_and_keys => deactivated;
    a_new_password_ends_sessions_credentials_and_keys => password_changed;
    an_api_key_is_no_web_login_password => api_key_not_interactive;
    revoked_and_expired_api_keys_are_refused => revoked_and_expired;
    users_see_and_revoke_only_their_own_api_keys => others_keys;
    a_burst_of_wrong_passwords_checks_at_most_five => burst;
    a_success_clears_the_address_counter => success_clears_address;
    forwarded_for_is_ignored_without_proxy_mode => spoofed_forwarded_for;
    proxy_mode_throttles_clients_behind_the_proxy_apart => proxy_mode;
    the_session_cookie_is_secure_only_over_https_per_a_trusted_proxy => secure_cookie;
}

const ANA_PASSWORD: &str = "Ana-S3cret-pw!7";
const BOB_PASSWORD: &str = "Bob-S3cret-pw!9";

/// A fresh database without addons, served (with its log at `log` when
/// given), with internal users `ana` and `bob` and a passwordless `nopw`;
/// answers their ids.
struct Lab {
    pulse: Pulse,
    server: Server,
    admin: Rpc,
    ana: i64,
    bob: i64,
    nopw: i64,
}

fn lab(backend: Backend, extra_args: &[&str], log: Option<&std::path::Path>) -> Lab {
    let mut pulse = Pulse::on(backend, &[]);
    pulse.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
    // Options and the log are the process's: only tests of them need one.
    let server = if extra_args.is_empty() && log.is_none() {
        pulse.serve_in_process()
    } else {
        pulse.serve_logging(log)
    };
    let mut admin = pulse.admin(&server);
    let internal = groups_named(&mut admin, "Internal User");
    let mut user = |login: &str, password: Option<&str>| {
        create_user(&mut admin, login, login, password, &internal)
    };
    let ana = user("ana", Some(ANA_PASSWORD));
    let bob = user("bob", Some(BOB_PASSWORD));
    let nopw = user("nopw", None);
    Lab {
        pulse,
        server,
        admin,
        ana,
        bob,
        nopw,
    }
}

/// `/web/session/authenticate` as raw HTTP with `headers`: the JSON answer
/// and the `Set-Cookie` header.
pub(crate) fn web_login(
    server: &Server,
    db: &str,
    login: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (Value, Option<String>) {
    web_login_with(
        server,
        json!({"db": db, "login": login, "password": password}),
        headers,
    )
}

/// [`web_login`] with any `params` (a second factor, say).
pub(crate) fn web_login_with(
    server: &Server,
    params: Value,
    headers: &[(&str, &str)],
) -> (Value, Option<String>) {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).to_string();
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let response = server
        .request("POST", "/web/session/authenticate", &all, &body)
        .expect("request sent");
    let cookie = response
        .headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone());
    (
        serde_json::from_str(&response.body).expect("JSON answer"),
        cookie,
    )
}

pub(crate) const ACCESS_DENIED: (&str, &str) = ("odoo.exceptions.AccessDenied", "Access Denied");
pub(crate) const LOCKED: (&str, &str) = (
    "odoo.exceptions.AccessDenied",
    "Too many failed logins; try again later",
);

pub(crate) fn assert_refused(answer: &Value, expected: (&str, &str)) {
    let (name, message) = login_refusal(answer);
    assert_eq!((name.as_str(), message.as_str()), expected, "{answer}");
}

/// An XML-RPC value.
fn xml(value: &Value) -> String {
    match value {
        Value::Null | Value::Bool(false) => "<boolean>0</boolean>".into(),
        Value::Bool(true) => "<boolean>1</boolean>".into(),
        Value::Number(n) if n.is_i64() => format!("<int>{n}</int>"),
        Value::Number(n) => format!("<double>{n}</double>"),
        Value::String(s) => format!(
            "<string>{}</string>",
            s.replace('&', "&amp;").replace('<', "&lt;")
        ),
        Value::Array(items) => format!(
            "<array><data>{}</data></array>",
            items
                .iter()
                .map(|v| format!("<value>{}</value>", xml(v)))
                .collect::<String>()
        ),
        Value::Object(map) => format!(
            "<struct>{}</struct>",
            map.iter()
                .map(|(k, v)| format!("<member><name>{k}</name><value>{}</value></member>", xml(v)))
                .collect::<String>()
        ),
    }
}

/// An XML-RPC call to `/xmlrpc/2/SERVICE`: the answer's body.
fn xmlrpc(server: &Server, service: &str, method: &str, params: &[Value]) -> String {
    xmlrpc_with(server, &[], service, method, params)
}

/// [`xmlrpc`] with more request `headers` (`X-Forwarded-For`, say).
pub(crate) fn xmlrpc_with(
    server: &Server,
    headers: &[(&str, &str)],
    service: &str,
    method: &str,
    params: &[Value],
) -> String {
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>{}</params></methodCall>",
        params
            .iter()
            .map(|p| format!("<param><value>{}</value></param>", xml(p)))
            .collect::<String>()
    );
    let mut all = vec![("Content-Type", "text/xml")];
    all.extend_from_slice(headers);
    let response = server
        .request("POST", &format!("/xmlrpc/2/{service}"), &all, &body)
        .expect("request sent");
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// `common.login` over XML-RPC: the uid, or `None` for Odoo's `False`.
pub(crate) fn xml_login(server: &Server, db: &str, login: &str, password: &str) -> Option<i64> {
    xml_login_with(server, &[], db, login, password)
}

/// [`xml_login`] with more request `headers`.
pub(crate) fn xml_login_with(
    server: &Server,
    headers: &[(&str, &str)],
    db: &str,
    login: &str,
    password: &str,
) -> Option<i64> {
    let body = xmlrpc_with(
        server,
        headers,
        "common",
        "login",
        &[json!(db), json!(login), json!(password)],
    );
    assert!(!body.contains("<fault>"), "{body}");
    if body.contains("<boolean>0</boolean>") {
        return None;
    }
    let start = body.find("<int>").expect("an uid") + 5;
    let end = body[start..].find("</int>").unwrap() + start;
    Some(body[start..end].parse().unwrap())
}

/// `object.execute_kw` over XML-RPC: `Ok(body)` or `Err((fault code, body))`.
fn execute_kw(
    server: &Server,
    db: &str,
    uid: i64,
    password: &str,
    model: &str,
    method: &str,
    args: Value,
) -> Result<String, (i64, String)> {
    let body = xmlrpc(
        server,
        "object",
        "execute_kw",
        &[
            json!(db),
            json!(uid),
            json!(password),
            json!(model),
            json!(method),
            args,
        ],
    );
    if !body.contains("<fault>") {
        return Ok(body);
    }
    let after = &body[body.find("faultCode").expect("a fault code")..];
    let start = after.find("<int>").unwrap() + 5;
    let end = after[start..].find("</int>").unwrap() + start;
    Err((after[start..end].parse().unwrap(), body))
}

/// An `execute_kw` that XML-RPC refuses as Odoo's AccessDenied (fault 3).
fn assert_xml_denied(outcome: Result<String, (i64, String)>) {
    match outcome {
        Err((3, body)) => assert!(body.contains("Access Denied"), "{body}"),
        other => panic!("expected fault 3 Access Denied, got {other:?}"),
    }
}

/// An API key from `pulse apikey LOGIN NAME ARGS…`.
pub(crate) fn api_key(pulse: &Pulse, login: &str, name: &str, args: &[&str]) -> String {
    let mut all = vec!["apikey", login, name];
    all.extend_from_slice(args);
    let out = pulse.ok(&all);
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("pulse_"), "{out}");
    key
}

/// A JSON-RPC client logged in through `/web/session/authenticate`.
fn session(lab: &Lab, login: &str, password: &str) -> Rpc {
    pulse_testing::logged_in(&lab.server, &lab.pulse.db_name, login, password)
}

fn session_expired(rpc: &mut Rpc) {
    let error = rpc
        .call("res.users.apikeys", "search_count", json!([[]]), json!({}))
        .expect_err("the session must be over");
    assert_eq!(error["code"], 100, "{error}");
    assert_eq!(error["data"]["name"], "odoo.http.SessionExpiredException");
}

fn passwordless(backend: Backend) {
    let lab = lab(backend, &[], None);
    let db = lab.pulse.db_name.as_str();
    for password in ["pulse-dummy", ""] {
        let (answer, cookie) = web_login(&lab.server, db, "nopw", password, &[]);
        assert_refused(&answer, ACCESS_DENIED);
        assert!(cookie.is_none(), "no session for {password:?}");
    }
    assert_eq!(xml_login(&lab.server, db, "nopw", "pulse-dummy"), None);
    assert_xml_denied(execute_kw(
        &lab.server,
        db,
        lab.nopw,
        "pulse-dummy",
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    ));
    assert_serving(&lab.server);
    assert_eq!(
        lab.pulse
            .scalar("SELECT COUNT(*) FROM res_users WHERE login = 'nopw' AND password IS NULL"),
        1,
        "the user stays without a password"
    );
    // A key still serves a passwordless (service) account's scripts.
    let key = api_key(&lab.pulse, "nopw", "service", &[]);
    assert!(
        execute_kw(
            &lab.server,
            db,
            lab.nopw,
            &key,
            "res.users.apikeys",
            "search_count",
            json!([[]])
        )
        .is_ok()
    );
}

/// Ana's three ways in, each working: a web session, XML-RPC credentials
/// (checked once, then remembered), and an API key (XML-RPC and JSON-2).
struct AnaWaysIn {
    web: Rpc,
    key: String,
}

fn ana_ways_in(lab: &Lab) -> AnaWaysIn {
    let db = lab.pulse.db_name.as_str();
    let mut web = session(lab, "ana", ANA_PASSWORD);
    ok(&mut web, "res.users.apikeys", "search_count", json!([[]]));
    for _ in 0..2 {
        let outcome = execute_kw(
            &lab.server,
            db,
            lab.ana,
            ANA_PASSWORD,
            "res.users.apikeys",
            "search_count",
            json!([[]]),
        );
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let key = api_key(&lab.pulse, "ana", "export", &[]);
    let by_key = execute_kw(
        &lab.server,
        db,
        lab.ana,
        &key,
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    );
    assert!(by_key.is_ok(), "{by_key:?}");
    let (status, count) = json2(
        &lab.server,
        &key,
        "res.users.apikeys",
        "search_count",
        json!({"domain": []}),
    );
    assert_eq!((status, count), (200, json!(1)));
    AnaWaysIn { web, key }
}

/// After the admin's write, none of Ana's old ways in works.
fn ways_in_closed(lab: &Lab, ways: &mut AnaWaysIn) {
    let db = lab.pulse.db_name.as_str();
    session_expired(&mut ways.web);
    assert_xml_denied(execute_kw(
        &lab.server,
        db,
        lab.ana,
        ANA_PASSWORD,
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    ));
    assert_xml_denied(execute_kw(
        &lab.server,
        db,
        lab.ana,
        &ways.key,
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    ));
    let (status, body) = json2(
        &lab.server,
        &ways.key,
        "res.users.apikeys",
        "search_count",
        json!({}),
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["name"], "werkzeug.exceptions.Unauthorized");
    assert_serving(&lab.server);
    assert_eq!(
        lab.pulse.scalar(&format!(
            "SELECT COUNT(*) FROM res_users_apikeys WHERE user_id = {}",
            lab.ana
        )),
        0,
        "the user's keys are revoked"
    );
}

fn deactivated(backend: Backend) {
    let mut lab = lab(backend, &[], None);
    let mut ways = ana_ways_in(&lab);
    ok(
        &mut lab.admin,
        "res.users",
        "write",
        json!([[lab.ana], {"active": false}]),
    );
    ways_in_closed(&lab, &mut ways);
    let (answer, _) = web_login(&lab.server, &lab.pulse.db_name, "ana", ANA_PASSWORD, &[]);
    assert_refused(&answer, ACCESS_DENIED);
    assert_eq!(
        lab.pulse.scalar(&format!(
            "SELECT COUNT(*) FROM res_users WHERE id = {} AND active = FALSE",
            lab.ana
        )),
        1
    );
    // Bob, untouched, keeps his way in.
    session(&lab, "bob", BOB_PASSWORD);
}

fn password_changed(backend: Backend) {
    let mut lab = lab(backend, &[], None);
    let mut ways = ana_ways_in(&lab);
    let new_password = "Ana-N3w-pw!8";
    ok(
        &mut lab.admin,
        "res.users",
        "write",
        json!([[lab.ana], {"password": new_password}]),
    );
    ways_in_closed(&lab, &mut ways);
    // The new password opens both doors.
    let mut web = session(&lab, "ana", new_password);
    ok(&mut web, "res.users.apikeys", "search_count", json!([[]]));
    let by_new = execute_kw(
        &lab.server,
        &lab.pulse.db_name,
        lab.ana,
        new_password,
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    );
    assert!(by_new.is_ok(), "{by_new:?}");
}

fn api_key_not_interactive(backend: Backend) {
    let lab = lab(backend, &[], None);
    let db = lab.pulse.db_name.as_str();
    let key = api_key(&lab.pulse, "ana", "script", &[]);
    let (answer, cookie) = web_login(&lab.server, db, "ana", &key, &[]);
    assert_refused(&answer, ACCESS_DENIED);
    assert!(cookie.is_none());
    assert_serving(&lab.server);
    // Scripts keep using it: common.login, execute_kw, JSON-2.
    assert_eq!(xml_login(&lab.server, db, "ana", &key), Some(lab.ana));
    let outcome = execute_kw(
        &lab.server,
        db,
        lab.ana,
        &key,
        "res.users.apikeys",
        "search_count",
        json!([[]]),
    );
    assert!(outcome.is_ok(), "{outcome:?}");
    let (status, _) = json2(
        &lab.server,
        &key,
        "res.users.apikeys",
        "search_count",
        json!({}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        lab.pulse.scalar("SELECT COUNT(*) FROM res_users_apikeys"),
        1
    );
}

fn revoked_and_expired(backend: Backend) {
    let lab = lab(backend, &[], None);
    let db = lab.pulse.db_name.as_str();
    let works = |key: &str| {
        execute_kw(
            &lab.server,
            db,
            lab.ana,
            key,
            "res.users.apikeys",
            "search_count",
            json!([[]]),
        )
        .is_ok()
            && json2(
                &lab.server,
                key,
                "res.users.apikeys",
                "search_count",
                json!({}),
            )
            .0 == 200
    };
    let refused_everywhere = |key: &str| {
        assert_xml_denied(execute_kw(
            &lab.server,
            db,
            lab.ana,
            key,
            "res.users.apikeys",
            "search_count",
            json!([[]]),
        ));
        assert_eq!(xml_login(&lab.server, db, "ana", key), None);
        assert_eq!(
            json2(
                &lab.server,
                key,
                "res.users.apikeys",
                "search_count",
                json!({})
            )
            .0,
            401
        );
        assert_serving(&lab.server);
    };

    // Revoked by the CLI, by name.
    let cli = api_key(&lab.pulse, "ana", "by-cli", &[]);
    assert!(works(&cli));
    let listed = lab.pulse.ok(&["apikey", "--list", "ana"]);
    assert!(
        listed.contains("by-cli") && listed.contains("expires never"),
        "{listed}"
    );
    assert!(
        !listed.contains(&cli),
        "the list never shows a key: {listed}"
    );
    let out = lab.pulse.ok(&["apikey", "--revoke", "by-cli"]);
    assert!(out.contains("revoked") && out.contains("ana"), "{out}");
    refused_everywhere(&cli);
    let gone = lab.pulse.run(&["apikey", "--revoke", "by-cli"]);
    assert!(!gone.status.success());
    assert!(pulse_testing::text(&gone).contains("no API key with the id or name \"by-cli\""));

    // Revoked over RPC by its owner (Odoo's res.users.apikeys.remove()).
    let rpc_key = api_key(&lab.pulse, "ana", "by-rpc", &[]);
    assert!(works(&rpc_key));
    let mut web = session(&lab, "ana", ANA_PASSWORD);
    let mine = ok(
        &mut web,
        "res.users.apikeys",
        "search",
        json!([[["name", "=", "by-rpc"]]]),
    );
    ok(&mut web, "res.users.apikeys", "remove", json!([mine]));
    refused_everywhere(&rpc_key);

    // Expired.
    let bad = lab
        .pulse
        .run(&["apikey", "ana", "bad", "--expires", "2026-13-01"]);
    assert!(!bad.status.success());
    assert!(
        pulse_testing::text(&bad).contains("bad expiry \"2026-13-01\""),
        "{}",
        pulse_testing::text(&bad)
    );
    let far = api_key(&lab.pulse, "ana", "far", &["--expires", "2999-01-01"]);
    assert!(works(&far));
    assert!(
        lab.pulse
            .ok(&["apikey", "--list", "ana"])
            .contains("expires 2999-01-01 00:00:00")
    );
    let short = api_key(&lab.pulse, "ana", "short", &["--expires", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    refused_everywhere(&short);
    assert!(works(&far), "the other key still works");
    assert_eq!(
        lab.pulse
            .strings("SELECT name FROM res_users_apikeys ORDER BY id"),
        ["far", "short"]
    );
}

fn others_keys(backend: Backend) {
    let mut lab = lab(backend, &[], None);
    api_key(&lab.pulse, "ana", "ana-key", &[]);
    let bob_key = api_key(&lab.pulse, "bob", "bob-key", &[]);
    let bobs: i64 = lab
        .pulse
        .scalar("SELECT id FROM res_users_apikeys WHERE name = 'bob-key'");
    let mut ana = session(&lab, "ana", ANA_PASSWORD);
    let seen = ok(
        &mut ana,
        "res.users.apikeys",
        "search_read",
        json!([[], ["name", "user_id"]]),
    );
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen[0]["name"], "ana-key");
    assert_eq!(seen[0]["user_id"][0], lab.ana);
    for (method, args) in [
        ("read", json!([[bobs], ["name"]])),
        ("remove", json!([[bobs]])),
        ("unlink", json!([[bobs]])),
    ] {
        let (kind, message) = refused(&mut ana, "res.users.apikeys", method, args);
        assert_eq!(kind, "odoo.exceptions.AccessError", "{method}: {message}");
        assert!(message.contains("res.users.apikeys"), "{method}: {message}");
    }
    // Nobody rewrites a key's owner, nor makes one through the ORM.
    let own: i64 = lab
        .pulse
        .scalar("SELECT id FROM res_users_apikeys WHERE name = 'ana-key'");
    let (kind, _) = refused(
        &mut ana,
        "res.users.apikeys",
        "write",
        json!([[own], {"user_id": 1}]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    let (kind, _) = refused(
        &mut ana,
        "res.users.apikeys",
        "create",
        json!([{"name": "mine", "user_id": lab.ana}]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    // The digest is no field, for anyone.
    for rpc in [&mut ana, &mut lab.admin] {
        let (kind, message) = refused(
            rpc,
            "res.users.apikeys",
            "read",
            json!([[own], ["key_digest"]]),
        );
        assert_eq!(kind, "builtins.ValueError", "{message}");
        let (kind, _) = refused(
            rpc,
            "res.users.apikeys",
            "search",
            json!([[["key_digest", "!=", false]]]),
        );
        assert_eq!(kind, "builtins.ValueError");
    }
    let all = ok(
        &mut lab.admin,
        "res.users.apikeys",
        "search_read",
        json!([[], ["name"]]),
    );
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "the admin sees every key: {all}"
    );
    assert!(!all.to_string().contains("key_digest"));
    assert_serving(&lab.server);
    let (status, _) = json2(
        &lab.server,
        &bob_key,
        "res.users.apikeys",
        "search_count",
        json!({}),
    );
    assert_eq!(status, 200, "bob's key is untouched");
    assert_eq!(
        lab.pulse.scalar("SELECT COUNT(*) FROM res_users_apikeys"),
        2
    );
    assert_eq!(
        lab.pulse.scalar(&format!(
            "SELECT user_id FROM res_users_apikeys WHERE id = {own}"
        )),
        lab.ana
    );
    let _ = lab.bob;
}

fn burst(backend: Backend) {
    let log = std::env::temp_dir().join(format!(
        "pulse-burst-{}-{backend:?}.log",
        std::process::id()
    ));
    let lab = lab(backend, &[], Some(&log));
    let url = lab.server.url.clone();
    let db = lab.pulse.db_name.clone();
    const BURST: usize = 50;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(BURST));
    let answers: Vec<Value> = (0..BURST)
        .map(|n| {
            let (url, db, barrier) = (url.clone(), db.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut rpc = Rpc::at(&url);
                barrier.wait();
                rpc.post(
                    "/web/session/authenticate",
                    json!({"db": db, "login": "ana", "password": format!("wrong-{n}")}),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let kinds: Vec<(String, String)> = answers.iter().map(login_refusal).collect();
    let checked = kinds
        .iter()
        .filter(|k| (k.0.as_str(), k.1.as_str()) == ACCESS_DENIED)
        .count();
    let locked = kinds
        .iter()
        .filter(|k| (k.0.as_str(), k.1.as_str()) == LOCKED)
        .count();
    assert_eq!(checked + locked, BURST, "{kinds:?}");
    assert!(
        checked <= 5,
        "{checked} passwords were checked in the burst"
    );
    // While locked, even the right password is refused.
    let (answer, _) = web_login(&lab.server, &db, "ana", ANA_PASSWORD, &[]);
    assert_refused(&answer, LOCKED);
    assert_serving(&lab.server);
    drop(lab.server);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert_eq!(text.matches("login failed").count(), checked, "{text}");
    assert!(text.matches("too many failures").count() > BURST - 5);
}

fn success_clears_address(backend: Backend) {
    let lab = lab(backend, &[], None);
    let db = lab.pulse.db_name.as_str();
    // Four failures from this address, on four logins; then a success.
    for n in 0..4 {
        let (answer, _) = web_login(&lab.server, db, &format!("ghost{n}"), "x", &[]);
        assert_refused(&answer, ACCESS_DENIED);
    }
    let (answer, _) = web_login(&lab.server, db, "bob", BOB_PASSWORD, &[]);
    assert!(answer.get("result").is_some(), "{answer}");
    // The address starts again: four more failures are checked, not locked.
    for n in 4..8 {
        let (answer, _) = web_login(&lab.server, db, &format!("ghost{n}"), "x", &[]);
        assert_refused(&answer, ACCESS_DENIED);
    }
    let (answer, _) = web_login(&lab.server, db, "ana", ANA_PASSWORD, &[]);
    assert!(answer.get("result").is_some(), "{answer}");
    assert_serving(&lab.server);
    // A huge login is one more failure, and nothing else (the throttle
    // keeps a digest of it: see auth's unit tests for a megabyte).
    let huge = "a".repeat(60 << 10);
    let (answer, _) = web_login(&lab.server, db, &huge, "x", &[]);
    assert_refused(&answer, ACCESS_DENIED);
    assert_serving(&lab.server);
    assert_eq!(lab.pulse.scalar("SELECT COUNT(*) FROM res_users"), 4);
}

fn spoofed_forwarded_for(backend: Backend) {
    let lab = lab(backend, &[], None);
    let db = lab.pulse.db_name.as_str();
    for n in 0..5 {
        let forwarded = format!("198.51.100.{n}");
        let (answer, _) = web_login(
            &lab.server,
            db,
            &format!("ghost{n}"),
            "x",
            &[("X-Forwarded-For", &forwarded)],
        );
        assert_refused(&answer, ACCESS_DENIED);
    }
    // A new forged address is still the same client.
    let (answer, _) = web_login(
        &lab.server,
        db,
        "ana",
        ANA_PASSWORD,
        &[("X-Forwarded-For", "198.51.100.99")],
    );
    assert_refused(&answer, LOCKED);
    assert_eq!(
        xml_login(&lab.server, db, "bob", BOB_PASSWORD),
        None,
        "XML-RPC from the locked address is refused too"
    );
    assert_serving(&lab.server);
}

fn proxy_mode(backend: Backend) {
    // The tests' loopback connection is the trusted proxy (the default).
    let lab = lab(backend, &["--proxy-mode"], None);
    let db = lab.pulse.db_name.as_str();
    let client_a = [("X-Forwarded-For", "203.0.113.7")];
    for n in 0..5 {
        let (answer, _) = web_login(&lab.server, db, &format!("ghost{n}"), "x", &client_a);
        assert_refused(&answer, ACCESS_DENIED);
    }
    let (answer, _) = web_login(&lab.server, db, "ana", ANA_PASSWORD, &client_a);
    assert_refused(&answer, LOCKED);
    // A forged left-hand entry does not move client A elsewhere: the
    // right-most address not a proxy is the one the proxy saw.
    let forged = [("X-Forwarded-For", "203.0.113.8, 203.0.113.7")];
    let (answer, _) = web_login(&lab.server, db, "ana", ANA_PASSWORD, &forged);
    assert_refused(&answer, LOCKED);
    // Client B, behind the same proxy, is not locked out.
    let client_b = [("X-Forwarded-For", "203.0.113.8, 127.0.0.1")];
    let (answer, _) = web_login(&lab.server, db, "ana", ANA_PASSWORD, &client_b);
    assert!(
        answer.get("result").is_some(),
        "client B is throttled apart: {answer}"
    );
    assert_serving(&lab.server);
}

fn secure_cookie(backend: Backend) {
    let https = [("X-Forwarded-Proto", "https")];
    let plain = lab(backend, &[], None);
    let (_, cookie) = web_login(
        &plain.server,
        &plain.pulse.db_name,
        "ana",
        ANA_PASSWORD,
        &https,
    );
    let cookie = cookie.expect("a session cookie");
    assert!(
        !cookie.contains("Secure"),
        "no proxy mode, no word taken: {cookie}"
    );
    drop(plain);
    let proxied = lab(backend, &["--proxy-mode"], None);
    let db = proxied.pulse.db_name.as_str();
    let (_, cookie) = web_login(&proxied.server, db, "ana", ANA_PASSWORD, &https);
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let (_, cookie) = web_login(
        &proxied.server,
        db,
        "ana",
        ANA_PASSWORD,
        &[("X-Forwarded-Proto", "http")],
    );
    assert!(!cookie.expect("a session cookie").contains("Secure"));
    let (_, cookie) = web_login(&proxied.server, db, "ana", ANA_PASSWORD, &[]);
    assert!(!cookie.expect("a session cookie").contains("Secure"));
    assert_serving(&proxied.server);
    // Behind a proxy that is not the trusted one, the header is the client's word.
    let elsewhere = lab(backend, &["--proxy-mode", "--proxy", "192.0.2.1"], None);
    let (_, cookie) = web_login(
        &elsewhere.server,
        &elsewhere.pulse.db_name,
        "ana",
        ANA_PASSWORD,
        &https,
    );
    assert!(!cookie.expect("a session cookie").contains("Secure"));
    assert_serving(&elsewhere.server);
}
