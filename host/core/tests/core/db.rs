use pulse_core::PoolSettings;
use pulse_core::internals::database_name;
use pulse_orm::Dialect;

use super::scratch;

/// A runaway query on PostgreSQL is stopped at the statement timeout
/// (SQLSTATE 57014, query_canceled) and the pool goes on serving.
#[tokio::test]
async fn postgres_statements_stop_at_the_timeout() {
    let settings = PoolSettings {
        max_connections: Some(2),
        statement_timeout: Some(std::time::Duration::from_millis(200)),
    };
    let db = scratch::postgres_with("timeout", &settings).await;
    let started = std::time::Instant::now();
    let error = sqlx::query("SELECT pg_sleep(2)")
        .execute(&db.pool)
        .await
        .expect_err("the statement timeout stops pg_sleep(2)");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let code = error.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("57014"), "{error}");
    sqlx::query("SELECT 1").execute(&db.pool).await.unwrap();
    db.remove().await;
}

#[test]
fn names_follow_odoo_db_names() {
    assert_eq!(
        database_name("sqlite://.pulse/pulse.sqlite", Dialect::Sqlite),
        "pulse"
    );
    assert_eq!(
        database_name(
            "postgres://postgres@127.0.0.1:5432/acme?sslmode=disable",
            Dialect::Postgres
        ),
        "acme"
    );
}
