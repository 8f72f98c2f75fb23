//! What operators watch: `/metrics` in Prometheus' format, `/ready`, and
//! JSON log lines carrying the addon's name.

use pulse_testing::{Pulse, Rpc, build_addons};
use serde_json::{Value, json};

#[test]
fn metrics_readiness_and_json_logs() {
    build_addons();
    let mut pulse = Pulse::new();
    pulse.extra_args = vec!["--log-format".into(), "json".into()];
    pulse.ok(&["install", "todo", "trap_in_method", "route_lab"]);
    let log = pulse.data_dir.join("serve.json.log");
    let server = pulse.serve_logging(Some(&log));
    let ready =
        pulse_testing::http::request("GET", &format!("{}/ready", server.url), &[], "").unwrap();
    assert_eq!(ready.status, 200, "{}", ready.body);

    let mut rpc = Rpc::new(&server);
    rpc.login("pulse");
    for _ in 0..3 {
        rpc.call("trap.thing", "ping", json!([[]]), json!({}))
            .unwrap();
    }
    rpc.call("trap.thing", "explode", json!([[]]), json!({}))
        .unwrap_err();
    rpc.call("todo.task", "search_count", json!([[]]), json!({}))
        .unwrap();
    let trapped =
        pulse_testing::http::request("GET", &format!("{}/route_lab/trap", server.url), &[], "")
            .unwrap();
    assert_eq!(trapped.status, 500, "{}", trapped.body);

    let metrics =
        pulse_testing::http::request("GET", &format!("{}/metrics", server.url), &[], "").unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    for expected in [
        "pulse_http_requests_total{method=\"POST\",route=\"/web/dataset/call_kw\",status=\"200\"} 5",
        "pulse_addon_calls_total{addon=\"trap_in_method\",outcome=\"ok\"} 3",
        "pulse_addon_calls_total{addon=\"trap_in_method\",outcome=\"trap\"} 1",
        "pulse_addon_traps_total{addon=\"trap_in_method\"} 1",
        "# TYPE pulse_http_request_duration_seconds histogram",
        "pulse_http_request_duration_seconds_bucket{le=\"+Inf\"}",
        "# TYPE pulse_cron_job_duration_seconds histogram",
        "pulse_database_connections{state=\"open\"}",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    drop(server);

    // Every log line is a JSON object; each trap's is logged inside the
    // span of the addon call, which names the addon.
    let log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let in_span = |name: &str, addon: &str| {
        lines
            .iter()
            .any(|l| l["span"]["name"] == name && l["span"]["addon"] == addon)
    };
    assert!(
        in_span("addon_call", "trap_in_method"),
        "no log line of the method's trap names its addon:\n{log}"
    );
    assert!(
        in_span("addon_call", "route_lab"),
        "no log line of the route's trap names its addon:\n{log}"
    );
}
