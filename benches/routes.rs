//! Addon HTTP routes: requests per second and latency of the `route_lab`
//! addon's `GET /route_lab/hello` (a small JSON document) through `pulse
//! serve`'s router, next to a native axum handler answering the same
//! document, in the same process and run; then the cost of the fresh
//! instance every request gets (pooling allocator, pre-linked component).
//!
//! A third server separates the two costs an addon route adds: a bare axum
//! handler that runs the same component in a fresh instance, with none of
//! Pulse's routing, authentication, transaction or metrics around it. Its
//! ratio to native is what wasmtime's instance per request leaves on this
//! machine; the addon route's ratio to it is what Pulse itself costs.
//!
//! The process logs as `pulse serve` does by default (into a sink).
//!
//! Run: `cargo bench --bench routes` (PULSE_BENCH_SECONDS sets each
//! measurement's length, default 5).

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::{Uri, header};
use axum::routing::get;
use pulse_runtime::{
    Context, Exception, GroupQuery, HttpRequest, HttpResponse, Limits, LoadedAddon, MethodCall,
    NameQuery, OrmBackend, RouteRequest, Runtime, SearchQuery, User,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use common::{CONNECTIONS, Client, Request, load, percentile};

const INSTANTIATIONS: usize = 20_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The native handler: the same document the addon answers.
async fn native(
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> axum::Json<Value> {
    axum::Json(json!({
        "hello": query.get("name").cloned().unwrap_or_else(|| "world".into()),
        "uid": null,
    }))
}

/// The same document from the addon, in a fresh instance per request, with
/// nothing of Pulse's server around the call.
async fn direct(
    component: axum::extract::State<LoadedAddon<NoDatabase>>,
    uri: Uri,
) -> impl axum::response::IntoResponse {
    let request = RouteRequest {
        method: "GET".into(),
        path: uri.path().into(),
        query: uri.query().unwrap_or_default().into(),
        ..Default::default()
    };
    let (outcome, _) = component.handle_route(NoDatabase, "hello", request).await;
    let answer = outcome.expect("route_lab answers");
    ([(header::CONTENT_TYPE, "application/json")], answer.body)
}

/// A backend for instantiating outside any request: the measured code
/// never reaches the ORM.
struct NoDatabase;

fn none<T>() -> Result<T, Exception> {
    Err(Exception::Internal("no database in this benchmark".into()))
}

impl OrmBackend for NoDatabase {
    async fn search(
        &mut self,
        _: &Context,
        _: &str,
        _: &SearchQuery<'_>,
    ) -> Result<Vec<i64>, Exception> {
        none()
    }
    async fn search_count(&mut self, _: &Context, _: &str, _: &str) -> Result<u64, Exception> {
        none()
    }
    async fn search_read(
        &mut self,
        _: &Context,
        _: &str,
        _: &SearchQuery<'_>,
        _: &[String],
    ) -> Result<String, Exception> {
        none()
    }
    async fn read_group(
        &mut self,
        _: &Context,
        _: &str,
        _: &GroupQuery<'_>,
    ) -> Result<String, Exception> {
        none()
    }
    async fn name_search(
        &mut self,
        _: &Context,
        _: &str,
        _: &NameQuery<'_>,
    ) -> Result<Vec<(i64, String)>, Exception> {
        none()
    }
    async fn read(
        &mut self,
        _: &Context,
        _: &str,
        _: &[i64],
        _: &[String],
    ) -> Result<String, Exception> {
        none()
    }
    async fn create(&mut self, _: &Context, _: &str, _: &str) -> Result<Vec<i64>, Exception> {
        none()
    }
    async fn write(&mut self, _: &Context, _: &str, _: &[i64], _: &str) -> Result<(), Exception> {
        none()
    }
    async fn unlink(&mut self, _: &Context, _: &str, _: &[i64]) -> Result<(), Exception> {
        none()
    }
    async fn call(&mut self, _: &MethodCall<'_>) -> Result<String, Exception> {
        none()
    }
    async fn call_super(
        &mut self,
        _: &Context,
        _: &[i64],
        _: &str,
        _: &str,
    ) -> Result<String, Exception> {
        none()
    }
    async fn sudo(&mut self, _: bool) -> Result<(), Exception> {
        none()
    }
    async fn current_user(&mut self) -> Result<User, Exception> {
        none()
    }
    async fn http_fetch(&mut self, _: &HttpRequest) -> Result<HttpResponse, Exception> {
        none()
    }
}

#[tokio::main]
async fn main() {
    common::log_like_pulse_serve();
    let seconds = common::seconds();
    let addons = root().join("tests/fixtures/addons");
    let dir = tempfile::tempdir().unwrap();
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_pulse"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--addons-path")
        .arg(&addons)
        .args(["build", "route_lab"])
        .status()
        .expect("pulse runs");
    assert!(built.success(), "pulse build route_lab failed");

    let config = pulse_core::Config {
        db_url: format!("sqlite://{}", dir.path().join("bench.sqlite").display()),
        addons_paths: vec![addons.clone()],
        data_dir: dir.path().to_path_buf(),
        cache_dir: None,
        admin_password: Some("admin".into()),
        limits: Limits::default(),
        addon_limits: Default::default(),
        pool: Default::default(),
        outbound: None,
        mail: Default::default(),
    };
    let host = Arc::new(pulse_core::Host::open(config).await.unwrap());
    host.install(&["route_lab".to_string()]).await.unwrap();
    host.reload().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pulse_addr = listener.local_addr().unwrap();
    tokio::spawn(pulse_api::serve(host, listener, std::future::pending()));

    let app = Router::new().route("/route_lab/hello", get(native));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let native_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The component on its own runtime, as `pulse serve` loads it.
    let runtime = Runtime::<NoDatabase>::new(None, Limits::default().memory_bytes).unwrap();
    let component = runtime
        .load(
            "route_lab",
            &addons.join("route_lab/route_lab.wasm"),
            Limits::default(),
        )
        .unwrap();
    let app = Router::new()
        .route("/route_lab/hello", get(direct))
        .with_state(component.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let direct_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // All three answer the same document.
    let path = "/route_lab/hello?name=bench";
    let (_, ours) = Client::connect(pulse_addr).await.get(path).await;
    assert_eq!(ours, br#"{"hello":"bench","uid":null}"#);
    for addr in [native_addr, direct_addr] {
        let (_, theirs) = Client::connect(addr).await.get(path).await;
        assert_eq!(ours, theirs, "all answer the same document");
    }

    let request = Request::Get(path.into());
    for addr in [pulse_addr, direct_addr, native_addr] {
        load(addr, request.clone(), 1).await;
    }
    println!(
        "GET {path} (a public addon route answering a small JSON document), {CONNECTIONS} keep-alive connections, {seconds} s each"
    );
    let show = |m: &common::Measurement| {
        format!(
            "{:>7.0} req/s (p50 {:>8.2?}, p99 {:>8.2?})",
            m.rps(),
            m.percentile(0.5),
            m.percentile(0.99)
        )
    };
    for round in 0..2 {
        let pulse = load(pulse_addr, request.clone(), seconds).await;
        let bare = load(direct_addr, request.clone(), seconds).await;
        let native = load(native_addr, request.clone(), seconds).await;
        println!(
            "round {round}: addon route {}   native axum {}   ratio {:.2} (target >= 0.50)",
            show(&pulse),
            show(&native),
            pulse.rps() / native.rps()
        );
        println!(
            "         axum handler running the component itself {}   ratio to native {:.2}; addon route / that {:.2}",
            show(&bare),
            bare.rps() / native.rps(),
            pulse.rps() / bare.rps()
        );
    }

    // Instantiation alone: a fresh store and instance of the pre-linked
    // component, from the pool, then dropped.
    let mut samples: Vec<Duration> = Vec::with_capacity(INSTANTIATIONS);
    for i in 0..INSTANTIATIONS + 1000 {
        let started = Instant::now();
        let (outcome, _) = component.instantiate(NoDatabase).await;
        let took = started.elapsed();
        outcome.unwrap();
        if i >= 1000 {
            samples.push(took);
        }
    }
    samples.sort();
    let mut calls: Vec<Duration> = Vec::with_capacity(INSTANTIATIONS);
    for i in 0..INSTANTIATIONS + 1000 {
        let request = RouteRequest {
            method: "GET".into(),
            path: "/route_lab/hello".into(),
            query: "name=bench".into(),
            ..Default::default()
        };
        let started = Instant::now();
        let (outcome, _) = component.handle_route(NoDatabase, "hello", request).await;
        let took = started.elapsed();
        assert_eq!(outcome.unwrap().body, br#"{"hello":"bench","uid":null}"#);
        if i >= 1000 {
            calls.push(took);
        }
    }
    calls.sort();
    println!(
        "the route's whole call, instance included, without HTTP: p50 {:.1?}, p99 {:.1?}",
        percentile(&calls, 0.5),
        percentile(&calls, 0.99)
    );
    println!(
        "instantiation per request ({INSTANTIATIONS} samples after 1000 warm-up): p50 {:.1?}, p90 {:.1?}, p99 {:.1?} (target p50 < 50 µs)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99)
    );
}
