//! Several hosts on one PostgreSQL database: a lifecycle change made
//! anywhere (by the CLI, or over RPC on another serving host) reaches a
//! serving host at once, through LISTEN/NOTIFY, and it serves the new
//! models and routes within a second.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, ok};
use serde_json::json;

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
