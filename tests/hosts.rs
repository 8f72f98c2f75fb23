//! Several hosts on one PostgreSQL database: a lifecycle change made
//! anywhere (here by the CLI) reaches a serving host at once, through
//! LISTEN/NOTIFY, and it serves the new models within a second.

#[macro_use]
mod common;

use common::{Backend, Pulse, Rpc, build_addons};
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
