//! Process-wide metrics, served at `/metrics` in Prometheus' text format.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The HTTP methods counted by name; any other is counted as `other`, so
/// made-up method names cannot add series.
pub const METHOD_LABELS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// The `method` label of a request's method.
pub fn method_label(method: &str) -> &'static str {
    METHOD_LABELS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            out.push_str(&format!(
                "{name}_bucket{{le=\"{bound}\"}} {}\n",
                count.load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {count}\n"));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {count}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
}

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `(method, route, status)` to requests. The method is one of
    /// [`METHOD_LABELS`]; the route one the caller bounds (a pattern).
    http_requests: Mutex<BTreeMap<(&'static str, String, u16), u64>>,
    /// Request latencies.
    pub http_duration: Histogram,
    /// `(addon, outcome)` to calls into addons.
    addon_calls: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Cron run durations.
    pub cron_duration: Histogram,
}

/// The metrics of this process.
/// The `outcome` label of an addon call's answer.
pub fn outcome<T>(answer: &Result<T, pulse_runtime::CallError>) -> &'static str {
    use pulse_runtime::CallError;
    match answer {
        Ok(_) => "ok",
        Err(CallError::Addon(_)) => "error",
        Err(CallError::Trap { .. }) => "trap",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::OutOfMemory { .. } | CallError::CallTreeOutOfMemory { .. }) => {
            "out_of_memory"
        }
        Err(CallError::BadAnswer { .. }) => "bad_answer",
    }
}

pub fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    /// Counts one HTTP request; `route` must come from a bounded set
    /// (a matched pattern or `unmatched`), never from the raw path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        *self
            .http_requests
            .lock()
            .expect("metrics lock")
            .entry((method_label(method), route.to_string(), status))
            .or_default() += 1;
        self.http_duration.observe(took);
    }

    /// Counts one call into `addon` that ended with `outcome` (`ok`,
    /// `error`, `trap`, `timeout`, `out_of_memory`, `bad_answer`).
    pub fn addon_call(&self, addon: &str, outcome: &'static str) {
        *self
            .addon_calls
            .lock()
            .expect("metrics lock")
            .entry((addon.to_string(), outcome))
            .or_default() += 1;
    }

    /// The Prometheus text exposition, with the pool's connection counts.
    pub fn render(&self, connections: u32, idle: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP pulse_http_requests_total HTTP requests served.\n# TYPE pulse_http_requests_total counter\n");
        for ((method, route, status), n) in self.http_requests.lock().expect("metrics lock").iter()
        {
            out.push_str(&format!(
                "pulse_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                route.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
        self.http_duration.render(
            "pulse_http_request_duration_seconds",
            "HTTP request latency.",
            &mut out,
        );
        self.cron_duration.render(
            "pulse_cron_job_duration_seconds",
            "Duration of cron job runs.",
            &mut out,
        );
        out.push_str("# HELP pulse_database_connections Open database connections.\n# TYPE pulse_database_connections gauge\n");
        out.push_str(&format!(
            "pulse_database_connections{{state=\"open\"}} {connections}\npulse_database_connections{{state=\"idle\"}} {idle}\n"
        ));
        let calls = self.addon_calls.lock().expect("metrics lock");
        out.push_str("# HELP pulse_addon_calls_total Calls into addons, by outcome.\n# TYPE pulse_addon_calls_total counter\n");
        for ((addon, outcome), n) in calls.iter() {
            out.push_str(&format!(
                "pulse_addon_calls_total{{addon=\"{addon}\",outcome=\"{outcome}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP pulse_addon_traps_total Addon calls that trapped.\n# TYPE pulse_addon_traps_total counter\n");
        for ((addon, outcome), n) in calls.iter() {
            if *outcome == "trap" {
                out.push_str(&format!(
                    "pulse_addon_traps_total{{addon=\"{addon}\"}} {n}\n"
                ));
            }
        }
        out
    }
}
