//! An authentication policy through a compiled addon (`login_policy`), on
//! SQLite and PostgreSQL, driven through real logins over HTTP: the web
//! login (`/web/session/authenticate`), XML-RPC `common.login` and
//! `object.execute_kw`, JSON-2 and an addon route with an API key. The server runs behind
//! a trusted proxy (`--proxy-mode`, loopback), so each request says which
//! client address it comes from. The policy refuses one address (as a
//! wrong password: `AccessDenied`, counted by the throttle), asks the
//! users of one group for a second factor (no session without it), and
//! fails closed when it traps (the failure logged).

use pulse_testing::{Backend, Pulse, Rpc, Server, build_addons, login_refusal, ok};
use pulse_testing::{create_user, groups_named};
use serde_json::{Value, json};

use crate::hostile::assert_serving;
use crate::hostile::auth::{
    ACCESS_DENIED, LOCKED, api_key, assert_refused, web_login, web_login_with, xml_login_with,
    xmlrpc_with,
};

on_both! {
    a_policy_refuses_one_address_and_asks_one_group_for_a_second_factor => policy;
    a_policy_that_traps_refuses_the_login_and_says_so_in_the_log => trapping_policy;
}

const PASSWORD: &str = "S3cret-pw!42";
const DENIED: [(&str, &str); 1] = [("X-Forwarded-For", "203.0.113.66")];
const ALLOWED: [(&str, &str); 1] = [("X-Forwarded-For", "203.0.113.7")];
const SECOND_FACTOR: &str = "pulse.exceptions.SecondFactorRequired";

struct Lab {
    pulse: Pulse,
    server: Server,
    admin: Rpc,
}

/// `login_policy` installed, served behind the loopback proxy (with its
/// log at `log` when given), with `ana` (internal user), `sam` (in the
/// policy's second-factor group) and `policy_traps`.
fn lab(backend: Backend, log: Option<&std::path::Path>) -> Lab {
    build_addons();
    let mut pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.extra_args = vec!["--proxy-mode".into()];
    pulse.ok(&["install", "login_policy", "route_lab"]);
    let server = pulse.serve_logging(log);
    let mut admin = pulse.admin(&server);
    let internal = groups_named(&mut admin, "Internal User");
    let second = groups_named(&mut admin, "Second Factor Users");
    for (login, groups) in [
        ("ana", &internal),
        ("sam", &second),
        ("policy_traps", &internal),
    ] {
        create_user(&mut admin, login, login, Some(PASSWORD), groups);
    }
    Lab {
        pulse,
        server,
        admin,
    }
}

/// A web login with a `totp` parameter.
fn web_login_totp(server: &Server, db: &str, login: &str, totp: &str) -> (Value, Option<String>) {
    web_login_with(
        server,
        json!({"db": db, "login": login, "password": PASSWORD, "totp": totp}),
        &ALLOWED,
    )
}

/// What the policy recorded, oldest first: `(login, address, door, decision)`.
fn attempts(admin: &mut Rpc) -> Vec<(String, String, String, String)> {
    let rows = ok(
        admin,
        "login.attempt",
        "search_read",
        json!([
            [],
            [
                "login",
                "address",
                "door",
                "decision",
                "groups",
                "login_uid"
            ]
        ]),
    );
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (
                text("login"),
                text("address"),
                text("door"),
                text("decision"),
            )
        })
        .collect()
}

fn policy(backend: Backend) {
    let mut lab = lab(backend, None);
    let db = lab.pulse.db_name.clone();
    let db = db.as_str();

    // From an address the policy allows, ana logs in at every door.
    let (answer, cookie) = web_login(&lab.server, db, "ana", PASSWORD, &ALLOWED);
    assert!(answer.get("result").is_some(), "{answer}");
    assert!(cookie.is_some());
    let ana = xml_login_with(&lab.server, &ALLOWED, db, "ana", PASSWORD).expect("a uid");

    // From the refused one: Odoo's AccessDenied, and no session.
    let (answer, cookie) = web_login(&lab.server, db, "ana", PASSWORD, &DENIED);
    assert_refused(&answer, ACCESS_DENIED);
    assert!(cookie.is_none(), "no session for a refused login");
    assert_eq!(
        xml_login_with(&lab.server, &DENIED, db, "ana", PASSWORD),
        None,
        "XML-RPC answers False, as for a wrong password"
    );
    // Each call of a script is a login: refused from there too.
    let call = [
        json!(db),
        json!(ana),
        json!(PASSWORD),
        json!("login.attempt"),
        json!("search_count"),
        json!([[]]),
    ];
    let body = xmlrpc_with(&lab.server, &DENIED, "object", "execute_kw", &call);
    assert!(
        body.contains("<fault>") && body.contains("<int>3</int>"),
        "AccessDenied's fault code: {body}"
    );
    let body = xmlrpc_with(&lab.server, &ALLOWED, "object", "execute_kw", &call);
    assert!(!body.contains("<fault>"), "{body}");
    // JSON-2 with an API key: each use is a login the policy sees.
    let key = api_key(&lab.pulse, "ana", "script", &[]);
    let bearer = format!("bearer {key}");
    let json2 = |from: (&str, &str)| {
        lab.server
            .request(
                "POST",
                "/json/2/login.attempt/search_count",
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", &bearer),
                    from,
                ],
                "{}",
            )
            .expect("request sent")
    };
    assert_eq!(json2(ALLOWED[0]).status, 200);
    let refused = json2(DENIED[0]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("odoo.exceptions.AccessDenied"),
        "{}",
        refused.body
    );
    // An addon route taking the key as a bearer token: the same.
    let route = |from: (&str, &str)| {
        lab.server
            .request(
                "GET",
                "/route_lab/notes/999",
                &[("Authorization", &bearer), from],
                "",
            )
            .expect("request sent")
    };
    let refused = route(DENIED[0]);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("odoo.exceptions.AccessDenied"));
    let allowed = route(ALLOWED[0]);
    assert!(
        !allowed.body.contains("odoo.exceptions.AccessDenied"),
        "{}: {}",
        allowed.status,
        allowed.body
    );

    // Sam's group needs a second factor: no session without it, a clear kind.
    let (answer, cookie) = web_login(&lab.server, db, "sam", PASSWORD, &ALLOWED);
    let (name, message) = login_refusal(&answer);
    assert_eq!(name, SECOND_FACTOR, "{answer}");
    assert!(
        message.contains("second factor") && message.contains("totp"),
        "{message}"
    );
    assert!(cookie.is_none(), "no session before the second factor");
    let body = xmlrpc_with(
        &lab.server,
        &ALLOWED,
        "common",
        "login",
        &[json!(db), json!("sam"), json!(PASSWORD)],
    );
    assert!(
        body.contains("<fault>")
            && body.contains("pulse.exceptions.SecondFactorRequired: A second factor is required"),
        "XML-RPC says so with a fault, not False: {body}"
    );
    let (answer, cookie) = web_login_totp(&lab.server, db, "sam", "000000");
    assert_eq!(login_refusal(&answer).0, SECOND_FACTOR, "a wrong code");
    assert!(cookie.is_none());
    let (answer, cookie) = web_login_totp(&lab.server, db, "sam", "123456");
    assert!(answer.get("result").is_some(), "the right code: {answer}");
    let cookie = cookie.expect("a session once the second factor is given");
    assert!(cookie.starts_with("session_id="), "{cookie}");

    // The policy saw the login, the address, the door and the groups.
    let seen = attempts(&mut lab.admin);
    let has = |login: &str, address: &str, door: &str, decision: &str| {
        seen.iter().any(|(l, a, d, s)| {
            (l.as_str(), a.as_str(), d.as_str(), s.as_str()) == (login, address, door, decision)
        })
    };
    assert!(has("ana", "203.0.113.7", "web", "allow"), "{seen:?}");
    assert!(has("ana", "203.0.113.66", "web", "refuse"), "{seen:?}");
    assert!(has("ana", "203.0.113.66", "rpc", "refuse"), "{seen:?}");
    assert!(has("ana", "203.0.113.66", "api-key", "refuse"), "{seen:?}");
    assert!(
        has("sam", "203.0.113.7", "web", "second_factor"),
        "{seen:?}"
    );
    let groups = ok(
        &mut lab.admin,
        "login.attempt",
        "search_read",
        json!([[["login", "=", "sam"]], ["groups", "login_uid"]]),
    );
    let groups = groups[0]["groups"].as_str().unwrap();
    assert!(
        groups.contains("login_policy.group_second_factor") && groups.contains("base.group_user"),
        "{groups}"
    );

    // Refusals count as failures: the refused address is soon locked out.
    let mut locked = false;
    for _ in 0..5 {
        let (answer, _) = web_login(&lab.server, db, "ana", PASSWORD, &DENIED);
        let (name, message) = login_refusal(&answer);
        if (name.as_str(), message.as_str()) == LOCKED {
            locked = true;
            break;
        }
        assert_eq!((name.as_str(), message.as_str()), ACCESS_DENIED);
    }
    assert!(locked, "the throttle counts the policy's refusals");
    assert_serving(&lab.server);
}

fn trapping_policy(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pulse.log");
    let lab = lab(backend, Some(&log));
    let db = lab.pulse.db_name.as_str();
    let (answer, cookie) = web_login(&lab.server, db, "policy_traps", PASSWORD, &ALLOWED);
    assert_refused(&answer, ACCESS_DENIED);
    assert!(cookie.is_none(), "a policy that traps lets nobody in");
    assert_eq!(
        xml_login_with(&lab.server, &ALLOWED, db, "policy_traps", PASSWORD),
        None
    );
    // Everybody else still logs in.
    let (answer, _) = web_login(&lab.server, db, "ana", PASSWORD, &ALLOWED);
    assert!(answer.get("result").is_some(), "{answer}");
    assert_serving(&lab.server);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("an authentication policy failed; the login is refused")
            && said.contains("login_policy")
            && said.contains("trapped"),
        "{said}"
    );
    assert!(!said.contains(PASSWORD), "the log holds no password");
}
