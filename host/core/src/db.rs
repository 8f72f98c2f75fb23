//! The database: connecting (SQLite file or PostgreSQL), the host's own
//! tables, and the first user.

use std::path::Path;
use std::str::FromStr;

use pulse_orm::Dialect;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::{Error, auth};

/// The `pulse_meta` key counting lifecycle changes.
pub const REGISTRY_VERSION: &str = "registry_version";

/// Whether `e` is a clash with a concurrent transaction that a retry of
/// the whole transaction can resolve: SQLite's busy or stale-snapshot
/// refusals, PostgreSQL's serialization failures and deadlocks (Odoo
/// retries these too).
pub fn is_conflict(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some("5" | "6" | "517" | "261" | "40001" | "40P01" | "55P03")
    ) || db.message().contains("database is locked")
}

/// Whether an ORM failure is a database clash (see [`is_conflict`]).
pub fn is_orm_conflict(e: &pulse_orm::OrmError) -> bool {
    matches!(e, pulse_orm::OrmError::Database(d) if is_conflict(d))
}

/// A database error as [`retrying`] takes it: converted, and tagged with
/// whether it was a clash.
pub fn tagged<E: From<sqlx::Error>>(e: sqlx::Error) -> (E, bool) {
    let clashed = is_conflict(&e);
    (E::from(e), clashed)
}

/// How often a transaction that clashed with another is tried in all.
const ATTEMPTS: u32 = 5;

/// Runs `attempt`, one whole transaction, again while it clashes with a
/// concurrent transaction (it answers `Err((error, true))`, see
/// [`is_conflict`]), up to five times in all, after a short, growing,
/// jittered pause. Another failure, or the last clash, is answered as is.
pub async fn retrying<T, E, F>(what: &str, mut attempt: impl FnMut() -> F) -> Result<T, E>
where
    F: Future<Output = Result<T, (E, bool)>>,
{
    let mut n = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err((_, true)) if n < ATTEMPTS => {
                tracing::info!(
                    what,
                    attempt = n,
                    "a concurrent transaction got in the way; retrying"
                );
                let jitter = u64::from(std::process::id() % 7 + n * 3);
                let millis = 10 * u64::from(n * n) + jitter;
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                n += 1;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// The `pulse_meta` key set in databases that hold demo data.
pub const WITH_DEMO: &str = "with_demo";

/// Whether the database loads addons' demo data.
pub async fn with_demo(conn: &mut pulse_orm::Connection) -> Result<bool, Error> {
    Ok(
        sqlx::query("SELECT COUNT(*) FROM pulse_meta WHERE key = $1 AND value = 1")
            .bind(WITH_DEMO)
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>(0)?
            > 0,
    )
}

/// The registry version recorded in the database.
pub async fn registry_version(conn: &mut pulse_orm::Connection) -> Result<i64, Error> {
    Ok(sqlx::query("SELECT value FROM pulse_meta WHERE key = $1")
        .bind(REGISTRY_VERSION)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?)
}

/// An open database.
#[derive(Debug, Clone)]
pub struct Database {
    /// The connection pool.
    pub pool: AnyPool,
    /// SQLite or PostgreSQL.
    pub dialect: Dialect,
    /// The name RPC clients use: the SQLite file's stem or the PostgreSQL database name.
    pub name: String,
}

/// The host's own tables: module records, the ownership ledger and users.
/// Types are portable between SQLite and PostgreSQL.
fn system_tables(dialect: Dialect) -> Vec<String> {
    let pk = dialect.primary_key();
    let boolean = dialect.boolean_type();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS ir_module_module (
                id {pk},
                name VARCHAR NOT NULL UNIQUE,
                state VARCHAR NOT NULL,
                latest_version VARCHAR,
                shortdesc VARCHAR,
                summary TEXT,
                author VARCHAR,
                application {boolean} NOT NULL DEFAULT FALSE,
                depends TEXT NOT NULL DEFAULT '[]',
                description_json TEXT,
                component_hash VARCHAR,
                sequence BIGINT NOT NULL DEFAULT 0,
                installed_version VARCHAR
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS ir_model (
                id {pk},
                model VARCHAR NOT NULL UNIQUE,
                name VARCHAR,
                table_name VARCHAR NOT NULL,
                module VARCHAR NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS ir_model_fields (
                id {pk},
                model VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                ttype VARCHAR NOT NULL,
                module VARCHAR NOT NULL,
                UNIQUE (model, name)
            )"
        ),
        // Bumped by every lifecycle change, so running servers know to reload.
        "CREATE TABLE IF NOT EXISTS pulse_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)"
            .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS ir_model_relation (
                id {pk},
                name VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                field VARCHAR NOT NULL,
                module VARCHAR NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS ir_model_data (
                id {pk},
                module VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                model VARCHAR NOT NULL,
                res_id BIGINT NOT NULL,
                noupdate {boolean} NOT NULL DEFAULT FALSE,
                UNIQUE (module, name)
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS res_users (
                id {pk},
                login VARCHAR NOT NULL UNIQUE,
                name VARCHAR NOT NULL,
                password VARCHAR,
                active {boolean} NOT NULL DEFAULT TRUE
            )"
        ),
        // What the admin granted addons beyond the sandbox.
        "CREATE TABLE IF NOT EXISTS pulse_grants (addon VARCHAR NOT NULL, permission VARCHAR NOT NULL, PRIMARY KEY (addon, permission))".to_string(),
        // API keys: only their SHA-256 digest is kept.
        format!(
            "CREATE TABLE IF NOT EXISTS res_users_apikeys (
                id {pk},
                user_id BIGINT NOT NULL,
                name VARCHAR NOT NULL,
                key_digest VARCHAR NOT NULL UNIQUE,
                scope VARCHAR,
                create_date TEXT,
                expiration_date TEXT
            )"
        ),
    ]
}

/// Connections in the pool when [`PoolSettings::max_connections`] is not
/// given: SQLite has one writer at a time anyway.
const SQLITE_POOL_SIZE: u32 = 4;
const POSTGRES_POOL_SIZE: u32 = 10;

/// How long one PostgreSQL statement may run unless configured otherwise.
pub const DEFAULT_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How the connection pool is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most (`None`: 4 on SQLite, 10 on PostgreSQL).
    pub max_connections: Option<u32>,
    /// PostgreSQL's `statement_timeout` on every connection, so no request
    /// holds a connection (and its locks) with a runaway query (`None` or
    /// zero: no limit). SQLite has no such setting.
    pub statement_timeout: Option<std::time::Duration>,
}

impl Default for PoolSettings {
    fn default() -> PoolSettings {
        PoolSettings {
            max_connections: None,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
        }
    }
}

impl Database {
    /// Opens (creating when needed) the database at `url` with a pool set
    /// up by `settings`, creates the host's tables, and makes sure the user
    /// `admin` exists with `admin_password` (`admin` when `None`) when the
    /// database is new.
    pub async fn open(
        url: &str,
        admin_password: Option<&str>,
        settings: &PoolSettings,
    ) -> Result<Database, Error> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url).ok_or_else(|| {
            Error::Config(format!(
                "unsupported database URL {url:?}: expected sqlite://FILE or postgres://USER@HOST/DB"
            ))
        })?;
        let name = database_name(url, dialect);
        if dialect == Dialect::Sqlite
            && let Some(parent) = sqlite_path(url).and_then(|p| p.parent().map(Path::to_path_buf))
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&parent).map_err(|e| {
                Error::Config(format!(
                    "cannot create the data directory {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let url = match dialect {
            Dialect::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::Config(format!("bad database URL: {e}")))?;
        let size = settings.max_connections.unwrap_or(match dialect {
            Dialect::Sqlite => SQLITE_POOL_SIZE,
            Dialect::Postgres => POSTGRES_POOL_SIZE,
        });
        if size == 0 {
            return Err(Error::Config(
                "the pool needs at least one connection".into(),
            ));
        }
        let timeout_ms = settings
            .statement_timeout
            .map(|t| t.as_millis())
            .filter(|ms| *ms > 0);
        let pool = AnyPoolOptions::new()
            .max_connections(size)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Postgres
                        && let Some(ms) = timeout_ms
                    {
                        conn.execute(format!("SET statement_timeout = {ms}").as_str())
                            .await?;
                    }
                    if dialect == Dialect::Sqlite {
                        // LIKE is case-sensitive as on PostgreSQL; ilike lowers both sides.
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| Error::Config(format!("cannot open the database {name:?}: {e}")))?;
        let db = Database {
            pool,
            dialect,
            name,
        };
        db.init(admin_password).await?;
        Ok(db)
    }

    async fn init(&self, admin_password: Option<&str>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        for ddl in system_tables(self.dialect) {
            sqlx::query(&ddl).execute(&mut *tx).await?;
        }
        let versions = sqlx::query("SELECT COUNT(*) FROM pulse_meta WHERE key = $1")
            .bind(REGISTRY_VERSION)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>(0)?;
        if versions == 0 {
            sqlx::query("INSERT INTO pulse_meta (key, value) VALUES ($1, $2)")
                .bind(REGISTRY_VERSION)
                .bind(0_i64)
                .execute(&mut *tx)
                .await?;
        }
        let admins = sqlx::query("SELECT COUNT(*) FROM res_users WHERE login = $1")
            .bind("admin")
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>(0)?;
        if admins == 0 {
            let password = admin_password.unwrap_or_else(|| {
                tracing::warn!(db = %self.name, "no admin password given (--admin-password or PULSE_ADMIN_PASSWORD): the new database gets admin/admin");
                "admin"
            });
            let hash = auth::hash_password(password)?;
            sqlx::query(
                "INSERT INTO res_users (login, name, password, active) VALUES ($1, $2, $3, $4)",
            )
            .bind("admin")
            .bind("Administrator")
            .bind(hash)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            tracing::info!(db = %self.name, "created the user 'admin'");
        }
        crate::base::ensure(&mut tx, self.dialect).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

/// The name RPC clients pass as `db`.
fn database_name(url: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => sqlite_path(url)
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "memory".into()),
        Dialect::Postgres => url
            .rsplit('/')
            .next()
            .and_then(|s| s.split('?').next())
            .filter(|s| !s.is_empty() && !s.contains('@'))
            .unwrap_or("postgres")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runaway query on PostgreSQL is stopped at the statement timeout
    /// (SQLSTATE 57014, query_canceled) and the pool goes on serving.
    #[tokio::test]
    async fn postgres_statements_stop_at_the_timeout() {
        use sqlx::Connection;
        let admin = std::env::var("PULSE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("pulse_unit_timeout_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL is required for this test");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let settings = PoolSettings {
            max_connections: Some(2),
            statement_timeout: Some(std::time::Duration::from_millis(200)),
        };
        let db = Database::open(&format!("{base}/{name}"), Some("pw"), &settings)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let error = sqlx::query("SELECT pg_sleep(2)")
            .execute(&db.pool)
            .await
            .expect_err("the statement timeout stops pg_sleep(2)");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let code = error.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("57014"), "{error}");
        sqlx::query("SELECT 1").execute(&db.pool).await.unwrap();
        db.pool.close().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
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
}
