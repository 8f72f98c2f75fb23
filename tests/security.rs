//! Users, groups, access rights and record rules over JSON-RPC and in
//! addon code, on SQLite and PostgreSQL: two agencies share one database
//! and a user of one never reaches a record the rules reserve for the
//! other. Also: passwords and API keys never appear in clear in the
//! database or the log, and hostile identifiers over RPC are refused.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, id, ok, refused};
use serde_json::{Value, json};

on_both! {
    agency_users_never_reach_the_other_agency => two_agencies;
    secrets_never_appear_in_clear => secrets;
    hostile_identifiers_are_refused => injection;
    superuser_mode_needs_the_manifest_and_a_grant => sudo_grants;
}

const ANA_PASSWORD: &str = "Ana-S3cret-pw!7";
const BOB_PASSWORD: &str = "Bob-S3cret-pw!9";

struct Lab {
    pulse: Pulse,
    server: pulse_testing::Server,
    admin: Rpc,
    agencies: [i64; 2],
    /// Documents of agency A, then of agency B.
    docs: (Vec<i64>, Vec<i64>),
}

/// Two agencies, a document or two each, and a user of each agency.
fn lab(backend: Backend, log: Option<&std::path::Path>) -> Lab {
    lab_with(backend, log, &["agency_lab"])
}

fn lab_with(backend: Backend, log: Option<&std::path::Path>, addons: &[&str]) -> Lab {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    let mut install = vec!["install"];
    install.extend_from_slice(addons);
    pulse.ok(&install);
    // The log is the process's: only a test that reads it needs one.
    let server = match log {
        Some(_) => pulse.serve_logging(log),
        None => pulse.serve_in_process(),
    };
    let mut admin = pulse.admin(&server);
    let a = id(ok(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "A", "name": "Agency A", "tin": "111-222"}]),
    ));
    let b = id(ok(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "B", "name": "Agency B", "tin": "333-444"}]),
    ));
    let group = ok(
        &mut admin,
        "res.groups",
        "search",
        json!([[["name", "=", "Agency User"]]]),
    );
    for (login, name, password, agency) in [
        ("ana", "Ana", ANA_PASSWORD, a),
        ("bob", "Bob", BOB_PASSWORD, b),
    ] {
        ok(
            &mut admin,
            "res.users",
            "create",
            json!([{"login": login, "name": name, "password": password,
                    "agency_id": agency, "group_ids": [[6, 0, group]]}]),
        );
    }
    let docs_a: Vec<i64> = serde_json::from_value(ok(
        &mut admin,
        "agency.doc",
        "create",
        json!([[{"name": "A-1", "agency_id": a, "amount": 10.0},
                {"name": "A-2", "agency_id": a, "amount": 5.0}]]),
    ))
    .unwrap();
    let docs_b: Vec<i64> = serde_json::from_value(ok(
        &mut admin,
        "agency.doc",
        "create",
        json!([[{"name": "B-1", "agency_id": b, "amount": 99.0}]]),
    ))
    .unwrap();
    Lab {
        pulse,
        server,
        admin,
        agencies: [a, b],
        docs: (docs_a, docs_b),
    }
}

fn login(lab: &(&pulse_testing::Server, &Pulse), login: &str, password: &str) -> Rpc {
    let (server, pulse) = lab;
    pulse_testing::logged_in(server, &pulse.db_name, login, password)
}

fn names(records: &Value) -> Vec<String> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

fn two_agencies(backend: Backend) {
    let lab = lab(backend, None);
    let (docs_a, docs_b) = lab.docs.clone();
    let [a, b] = lab.agencies;
    let mut ana = login(&(&lab.server, &lab.pulse), "ana", ANA_PASSWORD);

    // Searches are narrowed to the user's agency, whatever the domain says.
    let seen = ok(&mut ana, "agency.doc", "search_read", json!([[], ["name"]]));
    assert_eq!(names(&seen), ["A-1", "A-2"]);
    assert_eq!(
        ok(
            &mut ana,
            "agency.doc",
            "search",
            json!([[["agency_id", "=", b]]])
        ),
        json!([])
    );
    assert_eq!(
        ok(&mut ana, "agency.doc", "search_count", json!([[]])),
        json!(2)
    );
    let groups = ok(
        &mut ana,
        "agency.doc",
        "read_group",
        json!([[], ["amount:sum"], ["agency_id"]]),
    );
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    assert_eq!(groups[0]["amount"], json!(15.0));
    let found = ok(&mut ana, "agency.doc", "name_search", json!(["", []]));
    assert_eq!(found.as_array().unwrap().len(), 2, "{found}");
    let agencies = ok(
        &mut ana,
        "finance.ssc.agency",
        "search_read",
        json!([[], ["code"]]),
    );
    assert_eq!(agencies, json!([{"id": a, "code": "A"}]));

    // Records named by id are checked.
    for (method, args) in [
        ("read", json!([docs_b.clone(), ["name"]])),
        ("write", json!([docs_b.clone(), {"name": "stolen"}])),
        ("unlink", json!([docs_b.clone()])),
        ("copy", json!([docs_b[0]])),
        ("create", json!([{"name": "planted", "agency_id": b}])),
    ] {
        let (kind, message) = refused(&mut ana, "agency.doc", method, args);
        assert_eq!(kind, "odoo.exceptions.AccessError", "{method}");
        assert!(
            message.contains("top-secret records"),
            "{method}: {message}"
        );
        assert!(message.contains("ana (id="), "{method}: {message}");
    }
    // Mixed with records of her own: still refused, nothing read.
    let mixed = json!([[docs_a[0], docs_b[0]], ["name"]]);
    assert_eq!(
        refused(&mut ana, "agency.doc", "read", mixed).0,
        "odoo.exceptions.AccessError"
    );

    // Addon code runs with the caller's rights.
    assert_eq!(
        ok(&mut ana, "agency.doc", "visible_doc_names", json!([[]])),
        json!(["A-1", "A-2"])
    );
    let (kind, _) = refused(&mut ana, "agency.doc", "doc_names", json!([docs_b.clone()]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert_eq!(
        ok(&mut ana, "agency.doc", "doc_names", json!([docs_a.clone()])),
        json!(["A-1", "A-2"])
    );

    // Her own records she may change.
    ok(
        &mut ana,
        "agency.doc",
        "write",
        json!([[docs_a[0]], {"amount": 11.0}]),
    );
    let mine = id(ok(
        &mut ana,
        "agency.doc",
        "create",
        json!([{"name": "A-3", "agency_id": a}]),
    ));

    // Models without access rights for her group are closed, with Odoo's message.
    let (kind, message) = refused(&mut ana, "res.users", "search_read", json!([[], ["login"]]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains("You are not allowed to access 'User' (res.users) records."),
        "{message}"
    );
    let (kind, message) = refused(
        &mut ana,
        "finance.ssc.agency",
        "write",
        json!([[a], {"name": "renamed"}]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains("No group currently allows this operation."),
        "{message}"
    );

    // Nothing of agency B changed, and B's user sees only B.
    let mut admin = lab.admin;
    let b_docs = ok(
        &mut admin,
        "agency.doc",
        "read",
        json!([docs_b.clone(), ["name", "amount"]]),
    );
    assert_eq!(
        b_docs,
        json!([{"id": docs_b[0], "name": "B-1", "amount": 99.0}])
    );
    assert_eq!(lab.pulse.scalar("SELECT COUNT(*) FROM agency_doc"), 4);
    let mut bob = login(&(&lab.server, &lab.pulse), "bob", BOB_PASSWORD);
    let seen = ok(&mut bob, "agency.doc", "search_read", json!([[], ["name"]]));
    assert_eq!(names(&seen), ["B-1"]);
    let (kind, _) = refused(&mut bob, "agency.doc", "read", json!([[mine], ["name"]]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
}

/// Every file of the SQLite database (with its WAL), as bytes.
fn sqlite_bytes(pulse: &Pulse) -> Vec<u8> {
    let file = pulse.sqlite_file();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = format!("{}{suffix}", file.display());
        bytes.extend(std::fs::read(path).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn secrets(backend: Backend) {
    let log = tempfile_path("secrets.log");
    let lab = lab(backend, Some(&log));
    // An API key, printed once by the CLI, works in place of the password
    // for RPC clients (never for an interactive web login).
    let out = lab.pulse.ok(&["apikey", "ana", "nightly export"]);
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("pulse_") && key.len() > 40, "{out}");
    let mut rpc = Rpc::new(&lab.server);
    let service = |rpc: &mut Rpc, method: &str, args: Value| {
        rpc.post(
            "/jsonrpc",
            json!({"service": if method == "login" { "common" } else { "object" }, "method": method, "args": args}),
        )
    };
    let uid = service(&mut rpc, "login", json!([lab.pulse.db_name, "ana", key]))["result"].clone();
    assert!(uid.as_i64().is_some_and(|uid| uid > 1), "{uid}");
    let count = service(
        &mut rpc,
        "execute_kw",
        json!([
            lab.pulse.db_name,
            uid,
            key,
            "agency.doc",
            "search_count",
            [[]]
        ]),
    );
    assert_eq!(count["result"], json!(2), "{count}");
    let _by_password = login(&(&lab.server, &lab.pulse), "ana", ANA_PASSWORD);
    // A wrong key is no key.
    let mut stranger = Rpc::new(&lab.server);
    let answer = stranger.post(
        "/web/session/authenticate",
        json!({"db": lab.pulse.db_name, "login": "bob", "password": key}),
    );
    assert!(
        answer.get("error").is_some(),
        "ana's key must not open bob's account: {answer}"
    );

    // Stored only as hashes.
    let stored = lab
        .pulse
        .strings("SELECT password FROM res_users WHERE login = 'ana'");
    assert!(stored[0].starts_with("$argon2id$"), "{stored:?}");
    let digests = lab
        .pulse
        .strings("SELECT key_digest FROM res_users_apikeys");
    assert_eq!(digests.len(), 1);
    assert!(!digests[0].contains(&key));
    // Not readable as fields either.
    let mut admin = lab.admin;
    let (kind, _) = refused(&mut admin, "res.users", "read", json!([[1], ["password"]]));
    assert_eq!(kind, "builtins.ValueError");
    if backend == Backend::Sqlite {
        let bytes = sqlite_bytes(&lab.pulse);
        assert!(!bytes.is_empty());
        assert!(
            contains(&bytes, "agency_doc"),
            "the scan reads the database"
        );
        for secret in [ANA_PASSWORD, BOB_PASSWORD, key.as_str(), "admin:admin"] {
            assert!(
                !contains(&bytes, secret),
                "{secret} is in the database file"
            );
        }
    }
    drop(lab.server);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("login failed"),
        "the scan reads the log the refused key went through:\n{log_text}"
    );
    for secret in [ANA_PASSWORD, BOB_PASSWORD, key.as_str()] {
        assert!(
            !log_text.contains(secret),
            "{secret} is in the log:\n{log_text}"
        );
    }
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pulse-security-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn injection(backend: Backend) {
    let lab = lab(backend, None);
    let mut admin = lab.admin;
    let hostile = [
        // Model names.
        (
            "agency.doc; DROP TABLE agency_doc",
            "search",
            json!([[]]),
            json!({}),
        ),
        ("agency_doc\" --", "search", json!([[]]), json!({})),
        // Field names in domains, fields lists and values.
        (
            "agency.doc",
            "search",
            json!([[["name\" OR 1=1 --", "=", "x"]]]),
            json!({}),
        ),
        (
            "agency.doc",
            "search",
            json!([[["agency_id.name) OR (1=1", "=", "x"]]]),
            json!({}),
        ),
        (
            "agency.doc",
            "search_read",
            json!([[], ["name", "amount FROM agency_doc; --"]]),
            json!({}),
        ),
        (
            "agency.doc",
            "write",
            json!([[1], {"name\" = 'x', \"amount": 1}]),
            json!({}),
        ),
        // Operators.
        (
            "agency.doc",
            "search",
            json!([[["name", "= 'x' OR 1=1 --", "x"]]]),
            json!({}),
        ),
        (
            "agency.doc",
            "search",
            json!([[["name", "in (SELECT login FROM res_users)", "x"]]]),
            json!({}),
        ),
        // Order clauses.
        (
            "agency.doc",
            "search",
            json!([[]]),
            json!({"order": "name; DROP TABLE agency_doc"}),
        ),
        (
            "agency.doc",
            "search",
            json!([[]]),
            json!({"order": "(SELECT password FROM res_users)"}),
        ),
        (
            "agency.doc",
            "search",
            json!([[]]),
            json!({"order": "name desc, id asc nulls first; --"}),
        ),
        // Group-by and aggregates.
        (
            "agency.doc",
            "read_group",
            json!([[], ["amount:sum); DROP TABLE x; --"], ["agency_id"]]),
            json!({}),
        ),
        (
            "agency.doc",
            "read_group",
            json!([[], ["amount:sum"], ["agency_id:month; --"]]),
            json!({}),
        ),
    ];
    for (model, method, args, kwargs) in hostile {
        let error = admin
            .call(model, method, args.clone(), kwargs.clone())
            .expect_err(&format!("{model}.{method} {args} {kwargs} must be refused"));
        let name = error["data"]["name"].as_str().unwrap_or_default();
        assert!(
            [
                "builtins.ValueError",
                "builtins.KeyError",
                "odoo.exceptions.ValidationError",
                "builtins.TypeError"
            ]
            .contains(&name),
            "{model}.{method} {args} {kwargs}: {error}"
        );
    }
    // Values are bound, never spliced: hostile text is just text.
    let text = "x'); DROP TABLE agency_doc; --";
    let [a, _] = lab.agencies;
    ok(
        &mut admin,
        "agency.doc",
        "create",
        json!([{"name": text, "agency_id": a}]),
    );
    let found = ok(
        &mut admin,
        "agency.doc",
        "search_read",
        json!([[["name", "=", text]], ["name"]]),
    );
    assert_eq!(names(&found), [text]);
    assert_eq!(lab.pulse.scalar("SELECT COUNT(*) FROM agency_doc"), 4);
    assert_eq!(lab.pulse.scalar("SELECT COUNT(*) FROM res_users"), 3);
}

fn sudo_grants(backend: Backend) {
    let lab = lab_with(backend, None, &["agency_lab", "sudo_without_grant"]);
    let mut ana = login(&(&lab.server, &lab.pulse), "ana", ANA_PASSWORD);
    // The manifest does not ask: refused, whoever calls.
    let (kind, message) = refused(&mut ana, "agency.doc", "sudo_count", json!([[]]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains(
            "addon 'agency_lab' may not use superuser mode: its manifest does not ask for it"
        ),
        "{message}"
    );
    // The manifest asks, the admin has not granted: refused, nothing changed.
    let (kind, message) = refused(&mut ana, "agency.doc", "rename_all_docs", json!([[]]));
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains("the admin has not granted it (pulse grant sudo_without_grant sudo)"),
        "{message}"
    );
    assert_eq!(
        lab.pulse
            .scalar("SELECT COUNT(*) FROM agency_doc WHERE name = 'renamed by sudo'"),
        0
    );
    let plan = lab.pulse.ok(&["plan", "upgrade", "sudo_without_grant"]);
    assert!(plan.contains("permission sudo asked by sudo_without_grant: NOT granted (pulse grant sudo_without_grant sudo)"), "{plan}");

    // Granted: the addon's code sees past ana's rules, and only inside sudo.
    lab.pulse.ok(&["grant", "sudo_without_grant", "sudo"]);
    let plan = lab.pulse.ok(&["plan", "upgrade", "sudo_without_grant"]);
    assert!(
        plan.contains("permission sudo asked by sudo_without_grant: granted"),
        "{plan}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let all = loop {
        match ana.call("agency.doc", "count_all_docs", json!([[]]), json!({})) {
            Ok(count) => break count,
            Err(e) if std::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("has not granted"), "{e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("the grant never took effect: {e}"),
        }
    };
    assert_eq!(all, json!(3));
    assert_eq!(
        ok(&mut ana, "agency.doc", "search_count", json!([[]])),
        json!(2)
    );
    // Revoked: refused again, as soon as the server has seen the change (it
    // polls SQLite's registry version; a loaded machine may take a while).
    lab.pulse.ok(&["revoke", "sudo_without_grant", "sudo"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let error = loop {
        match ana.call("agency.doc", "count_all_docs", json!([[]]), json!({})) {
            Err(e) => break e,
            Ok(count) if std::time::Instant::now() < deadline => {
                assert_eq!(count, json!(3));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Ok(_) => panic!("the revocation never took effect"),
        }
    };
    assert_eq!(error["data"]["name"], "odoo.exceptions.AccessError");
    assert!(error.to_string().contains("has not granted"), "{error}");
}

/// A one-shot HTTP server on 127.0.0.1 answering "pong"; counts connections.
fn pong_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong",
            );
        }
    });
    (port, hits)
}

#[test]
fn outbound_http_goes_only_to_listed_and_granted_hosts() {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    let plan = pulse.ok(&["plan", "install", "outbound_unlisted"]);
    assert!(
        plan.contains("permission http:127.0.0.1 asked by outbound_unlisted: NOT granted (pulse grant outbound_unlisted http:127.0.0.1)"),
        "the admin sees the permission before installing:\n{plan}"
    );
    pulse.ok(&["install", "outbound_unlisted"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let (port, hits) = pong_server();
    let listed = format!("http://127.0.0.1:{port}/ping");
    let unlisted = format!("http://localhost:{port}/ping");

    // Listed, not granted.
    let (kind, message) = refused(
        &mut admin,
        "outbound.probe",
        "fetch_url",
        json!([[], listed]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains(
            "the admin has not granted it (pulse grant outbound_unlisted http:127.0.0.1)"
        ),
        "{message}"
    );
    // Not listed: refused even after a grant of another host.
    pulse.ok(&["grant", "outbound_unlisted", "http:127.0.0.1"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let (kind, message) = refused(
        &mut admin,
        "outbound.probe",
        "fetch_url",
        json!([[], unlisted]),
    );
    assert_eq!(kind, "odoo.exceptions.AccessError");
    assert!(
        message.contains("may not call localhost: its manifest does not list that host"),
        "{message}"
    );
    let (_, message) = refused(
        &mut admin,
        "outbound.probe",
        "fetch_url",
        json!([[], "file:///etc/passwd"]),
    );
    assert!(
        message.contains("only make http and https requests"),
        "{message}"
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no connection was made"
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM outbound_probe"),
        0,
        "the refused calls left nothing"
    );

    // Listed and granted: it goes through.
    let answer = ok(
        &mut admin,
        "outbound.probe",
        "fetch_url",
        json!([[], listed]),
    );
    assert_eq!(answer, json!({"status": 200, "body": "pong"}));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM outbound_probe"), 1);
}
