//! The database: connecting (SQLite file or PostgreSQL), bringing the
//! host's own tables up to date (see [`crate::migrations`]), and retrying
//! transactions that clash with another.

use std::path::Path;
use std::str::FromStr;

use pulse_orm::Dialect;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::{Error, migrations};

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

/// A host error as [`retrying`] takes it: tagged with whether it was a
/// database clash.
pub fn tagged_error(e: Error) -> (Error, bool) {
    let clashed = match &e {
        Error::Database(d) => is_conflict(d),
        Error::Orm(o) => is_orm_conflict(o),
        _ => false,
    };
    (e, clashed)
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
#[crate::boxed]
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
#[crate::boxed]
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

/// A query of the `Any` driver, its parameters bound or being bound.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Database {
    /// Begins a transaction and claims in it the first row `select` finds
    /// (a `SELECT` with its `ORDER BY`, parameters bound by `bind`), so that
    /// each due row is taken by one host once: on PostgreSQL the row stays
    /// locked until the transaction ends and rows other hosts' transactions
    /// hold are skipped (`FOR NO KEY UPDATE SKIP LOCKED`); SQLite has one
    /// writer at a time. `None` when there is no such row.
    pub(crate) async fn claim_first(
        &self,
        select: &str,
        bind: impl for<'q> FnOnce(AnyQuery<'q>) -> AnyQuery<'q>,
    ) -> Result<Option<(sqlx::Transaction<'static, sqlx::Any>, sqlx::any::AnyRow)>, Error> {
        let lock = if self.dialect == Dialect::Postgres {
            " FOR NO KEY UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let mut tx = self.pool.begin().await?;
        let sql = format!("{select} LIMIT 1{lock}");
        let row = bind(sqlx::query(&sql)).fetch_optional(&mut *tx).await?;
        Ok(row.map(|row| (tx, row)))
    }
}

impl Database {
    /// Opens (creating when needed) the database at `url` with a pool set
    /// up by `settings`, and runs the migrations of the host's tables it
    /// lacks. Seeding (the user `admin`, the `base` records) is the host's
    /// business: see `Host::open`.
    #[crate::boxed]
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Database, Error> {
        let db = Database::connect(url, settings).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Opens the pool only: no table is created or changed.
    #[doc(hidden)]
    #[crate::boxed]
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Database, Error> {
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
        Ok(Database {
            pool,
            dialect,
            name,
        })
    }

    /// Runs the migrations the database lacks, in one transaction (tried
    /// again when it clashes with another host doing the same on SQLite).
    async fn migrate(&self) -> Result<(), Error> {
        let applied = retrying("migrating the database", move || async move {
            let mut tx = self.pool.begin().await.map_err(tagged)?;
            let applied = migrations::apply(&mut tx, self.dialect)
                .await
                .map_err(tagged_error)?;
            tx.commit().await.map_err(tagged)?;
            Ok(applied)
        })
        .await?;
        if !applied.is_empty() {
            tracing::info!(db = %self.name, ?applied, "the host's tables are up to date");
        }
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
pub fn database_name(url: &str, dialect: Dialect) -> String {
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

/// Fresh PostgreSQL databases for tests (this crate's unit tests and
/// `pulse-testing`), on the server `PULSE_TEST_PG` names, else the local one.
#[doc(hidden)]
pub mod test_postgres {
    use sqlx::Connection;

    /// The server's maintenance database, to create and drop others from.
    pub fn admin_url() -> String {
        std::env::var("PULSE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates the database `name` afresh (dropping one of that name
    /// first); answers its URL.
    pub async fn create(name: &str) -> Result<String, sqlx::Error> {
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await?;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&sql).execute(&mut conn).await?;
        }
        let server = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Ok(format!("{server}/{name}"))
    }

    /// Drops the database `name`, ending its connections.
    pub async fn drop(name: &str) -> Result<(), sqlx::Error> {
        let mut conn = sqlx::PgConnection::connect(&admin_url()).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}
