//! End to end, as a user would: build the example addon to wasm with
//! `pulse build`, install it into a fresh SQLite database with
//! `pulse install`, serve it, use it over Odoo's JSON-RPC, uninstall it, and
//! see its table gone.

use pulse_testing::{Pulse, Rpc, build_addons};
use serde_json::{Value, json};
use sqlx::{Connection, Row, SqliteConnection};

async fn table_exists(pulse: &Pulse, table: &str) -> bool {
    let url = format!("sqlite://{}", pulse.sqlite_file().display());
    let mut conn = SqliteConnection::connect(&url)
        .await
        .expect("open the SQLite file");
    let row = sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.get::<i64, _>(0) == 1
}

#[tokio::test(flavor = "multi_thread")]
async fn todo_addon_installs_serves_and_uninstalls() {
    build_addons();
    let pulse = Pulse::new();
    assert!(pulse.ok(&["install", "todo"]).contains("installed: todo"));
    assert!(table_exists(&pulse, "todo_task").await);

    let modules: Value = serde_json::from_str(&pulse.ok(&["modules", "--json"]))
        .expect("modules --json prints JSON");
    let todo = modules
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "todo")
        .unwrap();
    assert_eq!(todo["state"], "installed");
    assert_eq!(todo["installed_version"], "1.0.0");

    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);

        // Without a session, Odoo's "session expired" error.
        let e = rpc
            .call("todo.task", "search_read", json!([[]]), json!({}))
            .unwrap_err();
        assert_eq!(e["code"], 100);
        assert_eq!(e["data"]["name"], "odoo.http.SessionExpiredException");

        // A wrong password is AccessDenied.
        let bad = rpc.post(
            "/web/session/authenticate",
            json!({"db": "pulse", "login": "admin", "password": "nope"}),
        );
        assert_eq!(bad["error"]["data"]["name"], "odoo.exceptions.AccessDenied");

        let session = rpc.login("pulse");
        assert_eq!(session["result"]["uid"], 1);
        assert_eq!(session["result"]["server_version"], "19.0");

        // The post-init hook created a welcome task.
        let seeded = rpc
            .call(
                "todo.task",
                "search_read",
                json!([[]]),
                json!({"fields": ["name", "done"]}),
            )
            .unwrap();
        assert_eq!(
            seeded,
            json!([{"id": 1, "name": "Try Pulse", "done": false}])
        );

        let id = rpc
            .call(
                "todo.task",
                "create",
                json!([{"name": "Buy milk"}]),
                json!({}),
            )
            .unwrap();
        assert_eq!(id, json!(2));
        let ids = rpc
            .call(
                "todo.task",
                "create",
                json!([[{"name": "Walk the dog"}, {"name": "Call mum", "notes": "Sunday"}]]),
                json!({}),
            )
            .unwrap();
        assert_eq!(ids, json!([3, 4]));

        // The addon's own method, running inside the component.
        assert_eq!(
            rpc.call("todo.task", "action_done", json!([[2, 3]]), json!({}))
                .unwrap(),
            json!(true)
        );
        let done = rpc
            .call(
                "todo.task",
                "search_read",
                json!([[["done", "=", true]]]),
                json!({"fields": ["name"], "order": "name desc"}),
            )
            .unwrap();
        assert_eq!(
            done,
            json!([{"id": 3, "name": "Walk the dog"}, {"id": 2, "name": "Buy milk"}])
        );

        // A method with an argument, passed positionally and by keyword.
        let open = rpc
            .call("todo.task", "open_titles", json!([[], "CALL"]), json!({}))
            .unwrap();
        assert_eq!(open, json!(["Call mum"]));
        let open = rpc
            .call(
                "todo.task",
                "open_titles",
                json!([[]]),
                json!({"text": "try"}),
            )
            .unwrap();
        assert_eq!(open, json!(["Try Pulse"]));

        rpc.call(
            "todo.task",
            "write",
            json!([[4], {"notes": false}]),
            json!({}),
        )
        .unwrap();
        let read = rpc
            .call(
                "todo.task",
                "read",
                json!([[4]]),
                json!({"fields": ["notes"]}),
            )
            .unwrap();
        assert_eq!(read, json!([{"id": 4, "notes": false}]));

        assert_eq!(
            rpc.call("todo.task", "unlink", json!([[1]]), json!({}))
                .unwrap(),
            json!(true)
        );
        assert_eq!(
            rpc.call("todo.task", "search_count", json!([[]]), json!({}))
                .unwrap(),
            json!(3)
        );

        // Bad input is a clear error and changes nothing.
        let e = rpc
            .call("todo.task", "create", json!([{"nmae": "typo"}]), json!({}))
            .unwrap_err();
        assert_eq!(
            e["data"]["message"],
            "Invalid field 'nmae' on model 'todo.task'"
        );
        let e = rpc
            .call("todo.task", "create", json!([{"done": true}]), json!({}))
            .unwrap_err();
        assert_eq!(e["data"]["name"], "odoo.exceptions.ValidationError");
        let e = rpc
            .call(
                "todo.task",
                "search",
                json!([[["name", "=", "x"]]]),
                json!({"order": "name; DROP TABLE todo_task"}),
            )
            .unwrap_err();
        assert_eq!(e["data"]["name"], "builtins.ValueError");
        let e = rpc
            .call("no.such.model", "search", json!([[]]), json!({}))
            .unwrap_err();
        assert_eq!(e["data"]["name"], "builtins.KeyError");
        let e = rpc
            .call("todo.task", "no_such_method", json!([[]]), json!({}))
            .unwrap_err();
        assert_eq!(e["data"]["name"], "builtins.AttributeError");
        assert_eq!(
            rpc.call("todo.task", "search_count", json!([[]]), json!({}))
                .unwrap(),
            json!(3)
        );

        // Hostile domains are refused with an error, not a crashed server.
        let many: Vec<Value> = (0..20_000).map(|i| json!(["id", "=", i])).collect();
        let e = rpc
            .call("todo.task", "search_count", json!([many]), json!({}))
            .unwrap_err();
        assert!(
            e["data"]["message"]
                .as_str()
                .unwrap()
                .contains("more than the 10000 allowed"),
            "{e}"
        );
        let mut nested: Vec<Value> = vec![json!("!"); 5_000];
        nested.push(json!(["id", "=", 1]));
        let e = rpc
            .call("todo.task", "search_count", json!([nested]), json!({}))
            .unwrap_err();
        assert!(
            e["data"]["message"]
                .as_str()
                .unwrap()
                .contains("nest more than"),
            "{e}"
        );
        // XML-RPC scripts send booleans as 0 and 1.
        let open = rpc
            .call(
                "todo.task",
                "search_count",
                json!([[["done", "=", 0]]]),
                json!({}),
            )
            .unwrap();
        assert_eq!(open, json!(1));
        assert_eq!(
            rpc.call("todo.task", "search_count", json!([[]]), json!({}))
                .unwrap(),
            json!(3)
        );
    }

    assert!(
        pulse
            .ok(&["uninstall", "todo"])
            .contains("uninstalled: todo")
    );
    assert!(
        !table_exists(&pulse, "todo_task").await,
        "uninstall drops the addon's table"
    );
    let listing = pulse.ok(&["modules"]);
    let line = listing.lines().find(|l| l.starts_with("todo ")).unwrap();
    assert!(line.contains("uninstalled"), "{line}");
}

#[test]
fn a_trapping_method_names_its_addon_and_the_server_keeps_serving() {
    build_addons();
    let pulse = Pulse::new();
    pulse.ok(&["install", "todo"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login("pulse");
    let e = rpc
        .call("trap.thing", "search", json!([[]]), json!({}))
        .unwrap_err();
    assert_eq!(e["data"]["name"], "builtins.KeyError");

    // Installed by another process while the server runs: served without
    // a restart (the host looks for lifecycle changes every 250 ms; on a
    // loaded machine that may take longer, so the test waits up to 10 s).
    pulse.ok(&["install", "trap_in_method"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let thing = loop {
        match rpc.call("trap.thing", "create", json!([{"name": "x"}]), json!({})) {
            Ok(thing) => break thing,
            Err(e)
                if e["data"]["name"] == "builtins.KeyError"
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("trap.thing is not served after the install: {e}"),
        }
    };
    let e = rpc
        .call("trap.thing", "explode", json!([[thing]]), json!({}))
        .unwrap_err();
    assert_eq!(e["code"], 0, "Odoo 19's code");
    assert_eq!(e["data"]["name"], "pulse.exceptions.AddonTrap");
    let message = e["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("addon 'trap_in_method' trapped"),
        "{message}"
    );
    assert!(
        message.contains("boom: this method always traps"),
        "the panic message reaches the caller: {message}"
    );
    assert!(
        !message.contains("wasm backtrace"),
        "the backtrace stays in the log: {message}"
    );

    // The same addon and the others still answer, and the server is healthy.
    assert_eq!(
        rpc.call("trap.thing", "ping", json!([[]]), json!({}))
            .unwrap(),
        json!("pong")
    );
    let tasks = rpc
        .call("todo.task", "search_count", json!([[]]), json!({}))
        .unwrap();
    assert_eq!(tasks, json!(1));
}

#[test]
fn an_addon_cannot_reach_models_outside_its_dependency_graph() {
    build_addons();
    let pulse = Pulse::new();
    pulse.ok(&["install", "todo", "reads_outside_graph"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login("pulse");
    let e = rpc
        .call("outside.probe", "peek", json!([[]]), json!({}))
        .unwrap_err();
    assert_eq!(e["data"]["name"], "odoo.exceptions.AccessError", "{e}");
    assert_eq!(
        e["data"]["message"],
        "addon 'reads_outside_graph' may not use model 'todo.task': neither it nor one of its dependencies defines it"
    );
    assert_eq!(
        rpc.call("outside.probe", "count_own", json!([[]]), json!({}))
            .unwrap(),
        json!(0)
    );
    // The user, over RPC, still reaches both.
    assert_eq!(
        rpc.call("todo.task", "search_count", json!([[]]), json!({}))
            .unwrap(),
        json!(1)
    );
}

#[test]
fn runaway_addons_are_stopped_and_the_host_keeps_serving() {
    build_addons();
    let mut pulse = Pulse::new();
    pulse.extra_args = [
        "--addon-limit",
        "infinite_loop_method=1500:64",
        "--addon-limit",
        "memory_bomb_method=10000:32",
    ]
    .map(String::from)
    .to_vec();
    pulse.ok(&[
        "install",
        "todo",
        "infinite_loop_method",
        "memory_bomb_method",
        "oversized_answer",
    ]);
    let server = pulse.serve();
    let url = server.url.clone();

    // While one request spins, others are answered at their usual speed.
    let spinner = std::thread::spawn(move || {
        let mut rpc = pulse_testing::Rpc::at(&url);
        rpc.login("pulse");
        let started = std::time::Instant::now();
        let e = rpc
            .call("loop.thing", "spin", json!([[]]), json!({}))
            .unwrap_err();
        (e, started.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut rpc = Rpc::new(&server);
    rpc.login("pulse");
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert_eq!(
            rpc.call("todo.task", "search_count", json!([[]]), json!({}))
                .unwrap(),
            json!(1)
        );
        assert!(
            started.elapsed() < std::time::Duration::from_millis(250),
            "slowed to {:?}",
            started.elapsed()
        );
    }
    let (e, took) = spinner.join().unwrap();
    assert_eq!(e["data"]["name"], "pulse.exceptions.AddonTimeout", "{e}");
    assert!(
        e["data"]["message"]
            .as_str()
            .unwrap()
            .contains("addon 'infinite_loop_method' exceeded its deadline"),
        "{e}"
    );
    assert!(
        took < std::time::Duration::from_secs(5),
        "interrupted near its 1.5 s deadline, took {took:?}"
    );
    // Its writes were rolled back.
    assert_eq!(
        rpc.call("loop.thing", "search_count", json!([[]]), json!({}))
            .unwrap(),
        json!(0)
    );

    let e = rpc
        .call("bomb.thing", "explode", json!([[]]), json!({}))
        .unwrap_err();
    assert_eq!(
        e["data"]["name"], "pulse.exceptions.AddonOutOfMemory",
        "{e}"
    );
    assert!(
        e["data"]["message"]
            .as_str()
            .unwrap()
            .contains("addon 'memory_bomb_method' exceeded its memory limit"),
        "{e}"
    );

    let e = rpc
        .call("huge.thing", "dump", json!([[]]), json!({}))
        .unwrap_err();
    assert_eq!(e["data"]["name"], "pulse.exceptions.AddonError", "{e}");
    let message = e["data"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "addon 'oversized_answer' answered badly: huge.thing.dump returned 10485762 bytes"
        ),
        "{message}"
    );
    assert_eq!(
        rpc.call("todo.task", "search_count", json!([[]]), json!({}))
            .unwrap(),
        json!(1)
    );
}

#[test]
fn failed_logins_are_throttled_and_secrets_stay_out_of_the_database_and_logs() {
    build_addons();
    let secret = "Sentinel-Secret-4711";
    let wrong = "Wrong-Sentinel-0815";
    let mut pulse = Pulse::new();
    pulse.extra_args = vec!["--admin-password".into(), secret.into()];
    pulse.ok(&["install", "todo"]);
    let log = pulse.data_dir.join("serve.log");
    {
        let server = pulse.serve_logging(Some(&log));
        let mut rpc = Rpc::new(&server);
        let login = |rpc: &mut Rpc, password: &str| {
            rpc.post(
                "/web/session/authenticate",
                json!({"db": "pulse", "login": "admin", "password": password}),
            )
        };
        assert!(
            login(&mut rpc, secret).get("result").is_some(),
            "the right password works"
        );
        for _ in 0..10 {
            let r = login(&mut rpc, wrong);
            assert_eq!(r["error"]["data"]["name"], "odoo.exceptions.AccessDenied");
        }
        // Now even the right password is refused for a while.
        let r = login(&mut rpc, secret);
        assert_eq!(
            r["error"]["data"]["message"], "Too many failed logins; try again later",
            "{r}"
        );
    }
    let needle = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    let mut database = std::fs::read(pulse.sqlite_file()).unwrap();
    let wal = pulse.data_dir.join("pulse.sqlite-wal");
    database.extend(std::fs::read(wal).unwrap_or_default());
    let log = std::fs::read(&log).unwrap();
    assert!(
        needle(&log, "login failed"),
        "the log does record the failures"
    );
    for text in [secret, wrong] {
        assert!(!needle(&database, text), "{text} is in the database");
        assert!(!needle(&log, text), "{text} is in the log");
    }
    assert!(
        needle(&database, "$argon2id$"),
        "the password is stored as an argon2id hash"
    );
}
