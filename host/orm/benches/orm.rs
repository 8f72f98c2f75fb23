//! ORM benchmarks against hand-written sqlx on the native drivers, in the
//! same process and on the same data: search_read of 80 records x 10
//! fields, a batch create of 10,000 records, and read_group over 100,000
//! move lines. search_read is also measured against the same hand-written
//! query on sqlx's `Any` driver (which the ORM uses), to separate what the
//! ORM costs from what the driver costs. SQLite always; PostgreSQL too when `PULSE_BENCH_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) is reachable.
//!
//! Run: `cargo bench -p pulse-orm --bench orm`

use std::sync::Arc;
use std::time::{Duration, Instant};

use pulse_orm::{Dialect, Domain, ModelDef, Orm, Record, Registry, SearchOptions, create_table};
use pulse_schema::{FieldSpec, FieldType, ModelSpec};
use serde_json::{Map, Value, json};
use sqlx::{AnyConnection, Connection, Row};

const RUNS: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn model() -> ModelSpec {
    let f = FieldSpec::new;
    ModelSpec {
        name: "bench.line".into(),
        description: "Move line".into(),
        fields: vec![
            f("name", FieldType::Char),
            f("ref", FieldType::Char),
            f("account_id", FieldType::Integer),
            f("debit", FieldType::Float),
            f("credit", FieldType::Float),
            f("quantity", FieldType::Integer),
            f("active", FieldType::Boolean),
            f("date", FieldType::Date),
            f("note", FieldType::Text),
        ],
        extends: false,
        checks: Vec::new(),
    }
}

fn row(i: i64) -> Record {
    let mut r = Map::new();
    r.insert("name".into(), json!(format!("Line {i}")));
    r.insert("ref".into(), json!(format!("REF{:06}", i % 9973)));
    r.insert("account_id".into(), json!(i % 50 + 1));
    r.insert(
        "debit".into(),
        json!(if i % 2 == 0 {
            (i % 1000) as f64 + 0.5
        } else {
            0.0
        }),
    );
    r.insert(
        "credit".into(),
        json!(if i % 2 == 1 {
            (i % 1000) as f64 + 0.25
        } else {
            0.0
        }),
    );
    r.insert("quantity".into(), json!(i % 17));
    r.insert("active".into(), json!(i % 10 != 0));
    r.insert(
        "date".into(),
        json!(format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
    );
    r.insert("note".into(), json!("posted"));
    r
}

struct Ratio {
    name: &'static str,
    orm: Duration,
    baseline: Duration,
    target: f64,
}

/// Hand-written: one prepared INSERT per row in a transaction.
async fn baseline_create(url: &str, rows: &[Record], pg: bool) -> Duration {
    let sql = if pg {
        "INSERT INTO bench_line (name, ref, account_id, debit, credit, quantity, active, date, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
    } else {
        "INSERT INTO bench_line (name, ref, account_id, debit, credit, quantity, active, date, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
    };
    macro_rules! run {
        ($conn:expr) => {{
            let mut tx = $conn.begin().await.unwrap();
            let start = Instant::now();
            for r in rows {
                let _id: i64 = sqlx::query(sql)
                    .bind(r["name"].as_str().unwrap())
                    .bind(r["ref"].as_str().unwrap())
                    .bind(r["account_id"].as_i64().unwrap())
                    .bind(r["debit"].as_f64().unwrap())
                    .bind(r["credit"].as_f64().unwrap())
                    .bind(r["quantity"].as_i64().unwrap())
                    .bind(r["active"].as_bool().unwrap())
                    .bind(r["date"].as_str().unwrap())
                    .bind(r["note"].as_str().unwrap())
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap()
                    .get(0);
            }
            let elapsed = start.elapsed();
            tx.rollback().await.unwrap();
            elapsed
        }};
    }
    if pg {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        run!(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        run!(conn)
    }
}

/// Hand-written search_read: one query, rows to JSON objects.
async fn baseline_search_read(url: &str, pg: bool) -> Duration {
    let sql = if pg {
        "SELECT id, name, ref, account_id, debit, credit, quantity, active, date, note FROM bench_line WHERE active = $1 ORDER BY id LIMIT 80"
    } else {
        "SELECT id, name, ref, account_id, debit, credit, quantity, active, date, note FROM bench_line WHERE active = ? ORDER BY id LIMIT 80"
    };
    macro_rules! run {
        ($conn:expr, $active:expr, $boolean:ty) => {{
            let mut samples = Vec::new();
            for _ in 0..RUNS * 20 {
                let start = Instant::now();
                let rows = sqlx::query(sql).bind($active).fetch_all(&mut $conn).await.unwrap();
                let records: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "id": r.get::<i64, _>(0), "name": r.get::<String, _>(1), "ref": r.get::<String, _>(2),
                            "account_id": r.get::<i64, _>(3), "debit": r.get::<f64, _>(4), "credit": r.get::<f64, _>(5),
                            "quantity": r.get::<i64, _>(6), "active": r.get::<$boolean, _>(7),
                            "date": r.get::<String, _>(8), "note": r.get::<String, _>(9),
                        })
                    })
                    .collect();
                assert_eq!(records.len(), 80);
                samples.push(start.elapsed());
            }
            median(samples)
        }};
    }
    if pg {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        run!(conn, true, bool)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        run!(conn, true, bool)
    }
}

/// The same hand-written search_read through sqlx's `Any` driver, which
/// the ORM runs on: what the ORM adds on top of its driver.
async fn any_search_read(url: &str, pg: bool) -> Duration {
    let sql = "SELECT id, name, ref, account_id, debit, credit, quantity, active, date, note FROM bench_line WHERE active = $1 ORDER BY id LIMIT 80";
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let mut samples = Vec::new();
    for _ in 0..RUNS * 20 {
        let start = Instant::now();
        let rows = sqlx::query(sql)
            .bind(true)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let records: Vec<Value> = rows
            .iter()
            .map(|r| {
                // SQLite holds booleans as integers.
                let active = if pg { r.get::<bool, _>(7) } else { r.get::<i64, _>(7) != 0 };
                json!({
                    "id": r.get::<i64, _>(0), "name": r.get::<String, _>(1), "ref": r.get::<String, _>(2),
                    "account_id": r.get::<i64, _>(3), "debit": r.get::<f64, _>(4), "credit": r.get::<f64, _>(5),
                    "quantity": r.get::<i64, _>(6), "active": active,
                    "date": r.get::<String, _>(8), "note": r.get::<String, _>(9),
                })
            })
            .collect();
        assert_eq!(records.len(), 80);
        samples.push(start.elapsed());
    }
    median(samples)
}

/// Hand-written GROUP BY.
async fn baseline_group(url: &str, pg: bool) -> Duration {
    let sql = if pg {
        "SELECT account_id, CAST(SUM(debit) AS DOUBLE PRECISION), CAST(SUM(credit) AS DOUBLE PRECISION), COUNT(*) FROM bench_line GROUP BY account_id ORDER BY account_id"
    } else {
        "SELECT account_id, SUM(debit), SUM(credit), COUNT(*) FROM bench_line GROUP BY account_id ORDER BY account_id"
    };
    macro_rules! run {
        ($conn:expr) => {{
            let mut samples = Vec::new();
            for _ in 0..RUNS {
                let start = Instant::now();
                let rows = sqlx::query(sql).fetch_all(&mut $conn).await.unwrap();
                let groups: Vec<Value> = rows
                    .iter()
                    .map(|r| json!({"account_id": r.get::<i64, _>(0), "debit": r.get::<f64, _>(1), "credit": r.get::<f64, _>(2), "account_id_count": r.get::<i64, _>(3)}))
                    .collect();
                assert_eq!(groups.len(), 50);
                samples.push(start.elapsed());
            }
            median(samples)
        }};
    }
    if pg {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        run!(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        run!(conn)
    }
}

async fn bench(url: &str, dialect: Dialect) -> Vec<Ratio> {
    sqlx::any::install_default_drivers();
    let pg = dialect == Dialect::Postgres;
    let mut conn = AnyConnection::connect(url).await.unwrap();
    sqlx::query("DROP TABLE IF EXISTS bench_line")
        .execute(&mut conn)
        .await
        .unwrap();
    let spec = model();
    let mut registry = Registry::new();
    registry
        .insert(ModelDef::from_spec(&spec, "bench").unwrap())
        .unwrap();
    let registry = Arc::new(registry);
    let orm = Orm::new(dialect, registry.clone());
    create_table(&mut conn, dialect, registry.get("bench.line").unwrap())
        .await
        .unwrap();

    // Batch create of 10,000 records, each side in a transaction rolled back after.
    let rows: Vec<Record> = (0..10_000).map(row).collect();
    let mut orm_create = Vec::new();
    let mut base_create = Vec::new();
    for _ in 0..3 {
        let mut tx = conn.begin().await.unwrap();
        let start = Instant::now();
        orm.create(&mut tx, "bench.line", &rows).await.unwrap();
        orm_create.push(start.elapsed());
        tx.rollback().await.unwrap();
        base_create.push(baseline_create(url, &rows, pg).await);
    }

    // 100,000 move lines for the reads.
    let all: Vec<Record> = (0..100_000).map(row).collect();
    let mut tx = conn.begin().await.unwrap();
    orm.create(&mut tx, "bench.line", &all).await.unwrap();
    tx.commit().await.unwrap();
    if pg {
        sqlx::query("ANALYZE bench_line")
            .execute(&mut conn)
            .await
            .unwrap();
    }

    let domain = Domain::parse(&json!([["active", "=", true]])).unwrap();
    let fields: Vec<String> = spec.fields.iter().map(|f| f.name.clone()).collect();
    let options = SearchOptions {
        limit: Some(80),
        ..SearchOptions::default()
    };
    let mut orm_read = Vec::new();
    for _ in 0..RUNS * 20 {
        let start = Instant::now();
        let records = orm
            .search_read(&mut conn, "bench.line", &domain, &fields, &options)
            .await
            .unwrap();
        assert_eq!(records.len(), 80);
        orm_read.push(start.elapsed());
    }
    let base_read = baseline_search_read(url, pg).await;
    let any_read = any_search_read(url, pg).await;

    let mut orm_group = Vec::new();
    let groupby = vec!["account_id".to_string()];
    let aggregates = vec!["debit:sum".to_string(), "credit:sum".to_string()];
    for _ in 0..RUNS {
        let start = Instant::now();
        let groups = orm
            .read_group(
                &mut conn,
                "bench.line",
                &Domain::all(),
                &aggregates,
                &groupby,
                0,
                None,
                true,
            )
            .await
            .unwrap();
        assert_eq!(groups.len(), 50);
        orm_group.push(start.elapsed());
    }
    let base_group = baseline_group(url, pg).await;
    sqlx::query("DROP TABLE bench_line")
        .execute(&mut conn)
        .await
        .unwrap();

    vec![
        Ratio {
            name: "search_read 80 x 10 fields",
            orm: median(orm_read.clone()),
            baseline: base_read,
            target: 1.5,
        },
        Ratio {
            name: "search_read, baseline on Any",
            orm: median(orm_read.clone()),
            baseline: any_read,
            target: 1.5,
        },
        Ratio {
            name: "create 10,000 records",
            orm: median(orm_create),
            baseline: median(base_create),
            target: 2.0,
        },
        Ratio {
            name: "read_group over 100,000 lines",
            orm: median(orm_group),
            baseline: base_group,
            target: 1.5,
        },
    ]
}

fn report(engine: &str, ratios: &[Ratio]) {
    for r in ratios {
        let ratio = r.orm.as_secs_f64() / r.baseline.as_secs_f64();
        println!(
            "{engine:<10} {:<32} ORM {:>10.3?}  sqlx {:>10.3?}  ratio {ratio:.2} (target <= {})",
            r.name, r.orm, r.baseline, r.target
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("pulse-orm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("bench.sqlite").display());
    report("SQLite", &bench(&sqlite, Dialect::Sqlite).await);
    let pg_admin = std::env::var("PULSE_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match sqlx::PgConnection::connect(&pg_admin).await {
        Ok(_) => report("PostgreSQL", &bench(&pg_admin, Dialect::Postgres).await),
        Err(e) => println!("PostgreSQL: skipped ({e})"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
