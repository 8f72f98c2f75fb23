use std::time::Duration;

use pulse_core::metrics::Metrics;

#[test]
fn unknown_methods_share_one_label() {
    let metrics = Metrics::default();
    for method in ["GET", "BREW", "PROPFIND", "get", "X-1"] {
        metrics.http_request(method, "/health", 200, Duration::ZERO);
    }
    let text = metrics.render(0, 0);
    assert!(
        text.contains("method=\"GET\",route=\"/health\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("method=\"other\",route=\"/health\",status=\"200\"} 4"),
        "{text}"
    );
    assert_eq!(
        text.matches("pulse_http_requests_total{").count(),
        2,
        "{text}"
    );
}
