//! Throughput of Odoo's JSON-RPC `search_read` (80 `res.partner` records,
//! 10 fields) over keep-alive connections, 32 at once, against a bare
//! handler (axum and sqlx) running the same query on the same SQLite file,
//! in the same process and run. Prints requests per second and latencies.
//!
//! The process logs as `pulse serve` does by default (into a sink).
//!
//! Run: `cargo bench --bench rpc` (PULSE_BENCH_SECONDS sets each
//! measurement's length, default 5).

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::net::TcpListener;

use common::{CONNECTIONS, Client, Request, load};

const PARTNERS: usize = 1000;
const FIELDS: [&str; 10] = [
    "name",
    "email",
    "phone",
    "street",
    "city",
    "zip",
    "vat",
    "is_company",
    "active",
    "comment",
];

/// The bare handler: parse the JSON-RPC body, run the query, answer the
/// same JSON-RPC envelope.
async fn bare(State(pool): State<sqlx::SqlitePool>, body: Bytes) -> axum::response::Response {
    let request: Value = serde_json::from_slice(&body).unwrap();
    let limit = request["params"]["kwargs"]["limit"].as_i64().unwrap_or(80);
    let rows = sqlx::query(
        "SELECT id, name, email, phone, street, city, zip, vat, is_company, active, comment \
         FROM res_partner WHERE active = ?1 ORDER BY id LIMIT ?2",
    )
    .bind(true)
    .bind(limit)
    .fetch_all(&pool)
    .await
    .unwrap();
    let text = |r: &sqlx::sqlite::SqliteRow, i: usize| -> Value {
        r.get::<Option<String>, _>(i)
            .map(Value::String)
            .unwrap_or(Value::Bool(false))
    };
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<i64, _>(0), "name": text(r, 1), "email": text(r, 2), "phone": text(r, 3),
                "street": text(r, 4), "city": text(r, 5), "zip": text(r, 6), "vat": text(r, 7),
                "is_company": r.get::<bool, _>(8), "active": r.get::<bool, _>(9), "comment": text(r, 10),
            })
        })
        .collect();
    axum::Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": records})).into_response()
}

use axum::response::IntoResponse;

#[tokio::main]
async fn main() {
    common::log_like_pulse_serve();
    let seconds = common::seconds();
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("bench.sqlite");
    let config = pulse_core::Config {
        db_url: format!("sqlite://{}", db_file.display()),
        addons_paths: Vec::new(),
        data_dir: dir.path().to_path_buf(),
        cache_dir: None,
        admin_password: Some("admin".into()),
        limits: pulse_core::Limits::default(),
        addon_limits: Default::default(),
        pool: Default::default(),
        outbound: None,
        mail: Default::default(),
    };
    let host = Arc::new(pulse_core::Host::open(config).await.unwrap());
    host.reload().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pulse_addr = listener.local_addr().unwrap();
    tokio::spawn(pulse_api::serve(host, listener, std::future::pending()));

    // Log in, and create the partners through the API.
    let mut client = Client::connect(pulse_addr).await;
    let (head, _) = client
        .post(
            "/web/session/authenticate",
            "",
            &json!({"jsonrpc": "2.0", "method": "call", "id": 1,
                    "params": {"db": "bench", "login": "admin", "password": "admin"}})
            .to_string(),
        )
        .await;
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let partners: Vec<Value> = (0..PARTNERS)
        .map(|i| {
            json!({
                "name": format!("Partner {i:04}"), "email": format!("p{i}@example.com"),
                "phone": format!("+63 2 555 {i:04}"), "street": format!("{i} Ayala Avenue"),
                "city": "Makati", "zip": "1226", "vat": format!("PH{i:09}"),
                "is_company": i % 3 == 0, "active": i % 10 != 0, "comment": "bench",
            })
        })
        .collect();
    let (_, created) = client
        .post(
            "/web/dataset/call_kw",
            &cookie,
            &json!({"jsonrpc": "2.0", "method": "call", "id": 2, "params": {
                "model": "res.partner", "method": "create", "args": [partners], "kwargs": {}}})
            .to_string(),
        )
        .await;
    assert!(
        created.starts_with(b"{\"id\":2,\"jsonrpc\":\"2.0\",\"result\":[")
            || String::from_utf8_lossy(&created).contains("\"result\":["),
        "{}",
        String::from_utf8_lossy(&created)
    );

    // The bare baseline on the same file.
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect(&format!("sqlite://{}", db_file.display()))
        .await
        .unwrap();
    let app = Router::new()
        .route("/web/dataset/call_kw", post(bare))
        .with_state(pool);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 3, "params": {
        "model": "res.partner", "method": "search_read",
        "args": [[["active", "=", true]]],
        "kwargs": {"fields": FIELDS, "limit": 80}}})
    .to_string();
    // Both answer the same records.
    let (_, ours) = Client::connect(pulse_addr)
        .await
        .post("/web/dataset/call_kw", &cookie, &body)
        .await;
    let (_, theirs) = Client::connect(bare_addr)
        .await
        .post("/web/dataset/call_kw", "", &body)
        .await;
    let ours: Value = serde_json::from_slice(&ours).unwrap();
    let theirs: Value = serde_json::from_slice(&theirs).unwrap();
    assert_eq!(
        ours["result"], theirs["result"],
        "both answer the same 80 records"
    );
    assert_eq!(ours["result"].as_array().unwrap().len(), 80);

    // Warm up, then measure each, twice, alternating.
    let ours = Request::Post {
        path: "/web/dataset/call_kw".into(),
        cookie: cookie.clone(),
        body: body.clone(),
    };
    let theirs = Request::Post {
        path: "/web/dataset/call_kw".into(),
        cookie: String::new(),
        body: body.clone(),
    };
    load(pulse_addr, ours.clone(), 1).await;
    load(bare_addr, theirs.clone(), 1).await;
    let mut rows = Vec::new();
    for round in 0..2 {
        let pulse = load(pulse_addr, ours.clone(), seconds).await;
        let bare = load(bare_addr, theirs.clone(), seconds).await;
        rows.push((round, pulse, bare));
    }
    println!(
        "search_read of 80 res.partner x 10 fields over JSON-RPC, {CONNECTIONS} keep-alive connections, SQLite, {seconds} s each"
    );
    for (round, pulse, bare) in &rows {
        println!(
            "round {round}: Pulse {:>7.0} req/s (p50 {:>6.2?}, p99 {:>6.2?})   bare axum+sqlx {:>7.0} req/s (p50 {:>6.2?}, p99 {:>6.2?})   ratio {:.2} (target >= 0.60)",
            pulse.rps(),
            pulse.percentile(0.5),
            pulse.percentile(0.99),
            bare.rps(),
            bare.percentile(0.5),
            bare.percentile(0.99),
            pulse.rps() / bare.rps()
        );
    }
}
