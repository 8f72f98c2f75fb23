use pulse_core::internals::{MIGRATIONS, apply, present};
use pulse_orm::Dialect;

use super::scratch;

fn all() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.number).collect()
}

#[test]
fn numbers_run_one_by_one_from_one() {
    assert_eq!(all(), (1..=MIGRATIONS.len() as i64).collect::<Vec<_>>());
}

async fn migrate(db: &scratch::Scratch) -> Vec<i64> {
    let mut tx = db.pool.begin().await.unwrap();
    let applied = apply(&mut tx, db.dialect).await.unwrap();
    tx.commit().await.unwrap();
    applied
}

async fn columns(db: &scratch::Scratch, table: &str) -> Vec<String> {
    let mut conn = db.pool.acquire().await.unwrap();
    let mut found = Vec::new();
    for column in [
        "installed_version",
        "scope",
        "create_date",
        "expiration_date",
        "name",
    ] {
        if present(&mut conn, db.dialect, table, Some(column))
            .await
            .unwrap()
        {
            found.push(column.to_string());
        }
    }
    found
}

/// A fresh database gets every migration; opened again, none.
#[tokio::test]
async fn a_fresh_database_gets_all_and_a_reopened_one_none() {
    for db in scratch::both("migrations_fresh").await {
        assert_eq!(migrate(&db).await, all(), "{:?}", db.dialect);
        assert_eq!(migrate(&db).await, Vec::<i64>::new(), "{:?}", db.dialect);
        let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pulse_migrations")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(recorded, MIGRATIONS.len() as i64);
        assert_eq!(
            columns(&db, "res_users_apikeys").await,
            ["scope", "create_date", "expiration_date", "name"]
        );
        db.remove().await;
    }
}

/// A database made before migrations (and before the later columns)
/// is upgraded in place: its rows stay, the missing columns and tables
/// appear, and every migration is recorded.
#[tokio::test]
async fn an_old_shaped_database_is_upgraded() {
    for db in scratch::both("migrations_old").await {
        let pk = db.dialect.primary_key();
        for ddl in [
            format!(
                "CREATE TABLE ir_module_module (id {pk}, name VARCHAR NOT NULL UNIQUE, \
                 state VARCHAR NOT NULL, latest_version VARCHAR, shortdesc VARCHAR, \
                 summary TEXT, author VARCHAR, application BOOLEAN NOT NULL DEFAULT FALSE, \
                 depends TEXT NOT NULL DEFAULT '[]', description_json TEXT, \
                 component_hash VARCHAR, sequence BIGINT NOT NULL DEFAULT 0)"
            ),
            "CREATE TABLE pulse_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)".into(),
            "INSERT INTO pulse_meta (key, value) VALUES ('registry_version', 7)".into(),
            format!(
                "CREATE TABLE res_users_apikeys (id {pk}, user_id BIGINT NOT NULL, \
                 name VARCHAR NOT NULL, key_digest VARCHAR NOT NULL UNIQUE)"
            ),
            "INSERT INTO res_users_apikeys (user_id, name, key_digest) VALUES (1, 'old', 'd')"
                .into(),
            "INSERT INTO ir_module_module (name, state) VALUES ('todo', 'installed')".into(),
        ] {
            sqlx::query(&ddl).execute(&db.pool).await.unwrap();
        }
        assert_eq!(migrate(&db).await, all(), "{:?}", db.dialect);
        assert_eq!(
            columns(&db, "ir_module_module").await,
            ["installed_version", "name"]
        );
        assert_eq!(
            columns(&db, "res_users_apikeys").await,
            ["scope", "create_date", "expiration_date", "name"]
        );
        let version: i64 =
            sqlx::query_scalar("SELECT value FROM pulse_meta WHERE key = 'registry_version'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(version, 7, "the registry version is kept");
        let kept: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM res_users_apikeys WHERE name = 'old' AND scope IS NULL",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(kept, 1);
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pulse_sessions")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(sessions, 0);
        assert_eq!(migrate(&db).await, Vec::<i64>::new());
        db.remove().await;
    }
}

/// A database whose migrations come from a newer Pulse is refused.
#[tokio::test]
async fn a_database_from_a_newer_pulse_is_refused() {
    let db = scratch::sqlite("migrations_newer").await;
    migrate(&db).await;
    sqlx::query("INSERT INTO pulse_migrations (number, name, applied_at) VALUES (999, 'x', 0)")
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    let error = apply(&mut tx, db.dialect).await.unwrap_err();
    assert!(error.to_string().contains("migration 999"), "{error}");
    drop(tx);
    db.remove().await;
}

/// Hosts starting at once on PostgreSQL: each migration runs once, and
/// neither start fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_starting_at_once_migrate_once() {
    let db = scratch::postgres("migrations_race").await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                let applied = apply(&mut tx, Dialect::Postgres).await.unwrap();
                tx.commit().await.unwrap();
                applied
            })
        })
        .collect();
    let mut applied = Vec::new();
    for start in starts {
        applied.extend(start.await.unwrap());
    }
    applied.sort();
    assert_eq!(applied, all());
    db.remove().await;
}
