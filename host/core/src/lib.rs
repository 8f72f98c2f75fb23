//! The Pulse host without HTTP: the module registry and the Apps
//! lifecycle (install, upgrade, uninstall) over the database, the call
//! engine addons and RPC clients go through, base models, grants and cron.
//!
//! [`Host`] owns the database, the wasmtime runtime and the current
//! registry snapshot. Lifecycle operations run as one transaction per plan
//! and then swap the snapshot atomically; requests in flight finish on the
//! snapshot they started with. The protocols (`pulse-api`) call
//! [`Host::execute_kw`] and [`Host::run_route`] and turn a [`Failure`]'s
//! [`Kind`] into their faults; this crate depends on no HTTP crate
//! (outbound HTTP is an [`Outbound`] the binary hands over).

mod access;
mod addon_orm;
mod arguments;
pub mod auth;
mod auth_policy;
mod backend;
mod base;
mod call;
mod commands;
mod cron;
mod data;
mod db;
mod dispatch;
mod error;
mod events;
mod external_ids;
mod failure;
#[doc(hidden)]
pub mod fuzzing;
mod grants;
mod lifecycle;
mod mail;
mod method_call;
pub mod metrics;
mod migrations;
mod model_methods;
mod module_records;
mod modules;
mod people;
mod recompute;
mod reference;
pub mod routes;
mod schema_sync;
mod utc;
pub mod web;
mod web_methods;

/// `#[crate::boxed]` on a `pub async fn` returns its future boxed
/// (`Pin<Box<dyn Future + Send>>`), so the state machine is compiled once,
/// in this crate. Unboxed, it would be compiled again in every crate that
/// awaits it: an `async fn`'s state machine counts as generic code, and
/// release builds share no generic code between crates, so the `pulse`
/// binary compiled the whole call engine a second time (see the README's
/// suite timings). This is `async_recursion`'s transformation, named for
/// why we use it.
pub(crate) use async_recursion::async_recursion as boxed;

/// What this crate's unit tests reach that is not its API. The tests live
/// in `host/core/tests`, compiled into the one end-to-end test binary
/// (`tests/e2e.rs`), not in `#[cfg(test)]` modules: a crate's unit-test
/// harness is a second compilation of the whole crate, and this crate's
/// took a fifth of the suite's build.
#[doc(hidden)]
pub mod internals {
    pub use crate::auth::{
        Credentials, DatabaseSessions, FIRST_LOCKOUT, FREE_FAILURES, Locked, MAX_LOCKOUT,
        SESSION_IDLE, SESSION_TOUCH, Session, SessionStore, Stamp, Throttle, millis, now_millis,
        parse_expiry, throttle_keys, token_digest,
    };
    pub use crate::base::MODULE_MODEL;
    pub use crate::cron::next_slot;
    pub use crate::db::database_name;
    pub use crate::events::{check_version, subscription};
    pub use crate::lifecycle::built::Modules;
    pub use crate::mail::{Encryption, MAX_HEADER, MAX_RECIPIENTS, SmtpServer, check_values};
    pub use crate::migrations::{MIGRATIONS, apply, present};
    pub use crate::model_methods::{alias, host_method, take_pseudo_fields};
    pub use crate::module_records::InstalledModule;
    pub use crate::modules::UPGRADE_WIZARD;
    pub use crate::schema_sync::{diff, union};
    pub use crate::utc::{format_utc, now, parse_utc};
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use access::{Access, Mode};
pub use auth::{ApiKey, User, hash_password, verify_password};
pub use auth_policy::{LoginDecision, LoginDoor};
pub use backend::TxOrm;
pub use base::SUPERUSER_ID;
pub use call::take_context;
pub use cron::Job;
pub use db::{DEFAULT_STATEMENT_TIMEOUT, Database, PoolSettings, test_postgres};
pub use dispatch::{is_model_method, split_args};
pub use error::Error;
pub use failure::{CallFailure, Failure, Kind};
pub use grants::{Outbound, OutboundError, OutboundFuture, OutboundRequest, OutboundResponse};
pub use humantime::parse_duration;
pub use lifecycle::{ChangeKind, PermissionRequest, PlanReport, SchemaChange};
pub use mail::{
    Encryption, MAX_ATTEMPTS, MailAttachment, MailError, MailFuture, MailSettings, Mailer,
    OutgoingMail, SmtpServer,
};
pub use module_records::{ModuleInfo, ModuleState, Operation};
pub use people::record_login;
pub use pulse_manifest::plan::Installed;
pub use pulse_runtime::Limits;
pub use pulse_schema::Context;

use pulse_orm::Registry;
use pulse_runtime::{LoadedAddon, Runtime};

/// What `pulse serve` logs unless `PULSE_LOG` says otherwise (an
/// `EnvFilter` directive): requests and addon calls are `info` spans.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub db_url: String,
    /// Folders holding addon folders; the first wins for a duplicate name.
    pub addons_paths: Vec<PathBuf>,
    /// Where the host keeps its files (the compiled-component cache is
    /// `DATA_DIR/cache` unless `cache_dir` says otherwise).
    pub data_dir: PathBuf,
    /// Where compiled components are cached, when not `DATA_DIR/cache`.
    /// Entries are keyed by content and engine, so hosts may share one.
    pub cache_dir: Option<PathBuf>,
    /// Password of the user `admin` when the database is created; `None`
    /// means `admin`, with a warning.
    pub admin_password: Option<String>,
    /// Limits on every call into an addon.
    pub limits: Limits,
    /// Limits for particular addons, overriding `limits`.
    pub addon_limits: HashMap<String, Limits>,
    /// The database connection pool.
    pub pool: PoolSettings,
    /// How addons' outbound HTTP requests are sent, once allowed; `None`:
    /// they are refused.
    pub outbound: Option<Arc<dyn Outbound>>,
    /// How queued mail (`mail.mail`) is sent.
    pub mail: MailSettings,
}

impl Config {
    /// The folder of the compiled-component cache.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cache"))
    }
}

/// What the server serves right now: the registry and the loaded addons.
/// Immutable; replaced as a whole after each lifecycle change.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every model of the installed addons.
    pub registry: Arc<Registry>,
    /// Components of the installed addons, by name.
    pub addons: HashMap<String, LoadedAddon<TxOrm>>,
    /// `(model, method)` to the addons implementing it, in load order: the
    /// last one runs, and `super()` walks down the list.
    pub methods: HashMap<(String, String), Vec<String>>,
    /// The models each addon may reach: its own and its dependencies'.
    pub scopes: HashMap<String, Arc<Scope>>,
    /// Model to its validation methods (Odoo's `@api.constrains`), each
    /// with the fields whose change runs it.
    pub validators: HashMap<String, Vec<(String, Vec<String>)>>,
    /// What each addon may do beyond the sandbox (asked for and granted).
    pub permissions: HashMap<String, grants::Permissions>,
    /// The HTTP routes the addons serve.
    pub routes: routes::RouteTable,
    /// How addons' outbound HTTP requests are sent ([`Config::outbound`]).
    pub outbound: Option<Arc<dyn Outbound>>,
    /// The addons with an authentication policy, in load order.
    pub auth_policies: Vec<String>,
}

/// The models an addon's code may use: those it or one of its (transitive)
/// dependencies defines or extends. Anything else is an AccessError.
#[derive(Debug, Default)]
pub struct Scope {
    /// The addon.
    pub addon: String,
    /// The models it may reach.
    pub models: std::collections::HashSet<String>,
    /// The addon and its transitive dependencies.
    pub graph: std::collections::BTreeSet<String>,
}

impl Scope {
    /// The rights the addon's code acts with when no user called it
    /// (lifecycle hooks, what its data files trigger, cron jobs): see
    /// [`Access::for_addon`].
    pub(crate) async fn access(
        &self,
        conn: &mut pulse_orm::Connection,
    ) -> Result<Arc<Access>, pulse_orm::OrmError> {
        let host_models: std::collections::HashSet<String> =
            base::model_names().into_iter().collect();
        let models = self
            .models
            .iter()
            .filter(|m| !host_models.contains(*m))
            .cloned()
            .collect();
        Access::for_addon(conn, &self.addon, &self.graph, models).await
    }
}

/// A running Pulse host.
#[derive(Debug)]
pub struct Host {
    /// The database.
    pub db: Database,
    config: Config,
    runtime: Runtime<TxOrm>,
    current: RwLock<Arc<Snapshot>>,
    sessions: Box<dyn auth::SessionStore>,
    throttle: auth::Throttle,
    credentials: auth::Credentials,
    /// The registry version the snapshot was built from.
    version: std::sync::atomic::AtomicI64,
    /// When the database's registry version was last looked at (`None`:
    /// look at the next request).
    checked: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often a serving host looks for lifecycle changes made by others.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Host {
    /// Opens the database and prepares the runtime. The installed addons are
    /// loaded by [`Host::reload`] (which `serve` calls before it listens) or
    /// on the first request; CLI commands that only plan or list never pay
    /// for loading components.
    #[crate::boxed]
    pub async fn open(config: Config) -> Result<Host, Error> {
        let db = Database::open(&config.db_url, &config.pool).await?;
        let fresh = seed(&db, config.admin_password.as_deref()).await?;
        let max_memory = config
            .addon_limits
            .values()
            .map(|l| l.memory_bytes)
            .fold(config.limits.memory_bytes, usize::max);
        let runtime = Runtime::new(Some(config.cache_dir()), max_memory)?;
        let host = Host {
            sessions: Box::new(auth::DatabaseSessions::new(db.pool.clone())),
            throttle: auth::Throttle::new(db.pool.clone()),
            db,
            config,
            runtime,
            current: RwLock::new(Arc::new(Snapshot::default())),
            credentials: auth::Credentials::default(),
            version: std::sync::atomic::AtomicI64::new(-1),
            checked: std::sync::Mutex::new(None),
        };
        if fresh {
            // As Odoo's `update_list` when a database is created: the Apps
            // list shows every addon of the addons paths straight away.
            let (_, added) = host.update_list().await?;
            tracing::info!(db = %host.db.name, added, "listed the addons of the addons paths");
        }
        Ok(host)
    }

    /// The snapshot requests should use now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().expect("snapshot lock").clone()
    }

    /// Reloads when another process (a CLI command, another host) changed
    /// the installed addons; looks at most every 250 ms.
    #[crate::boxed]
    pub async fn refresh(&self) -> Result<(), Error> {
        {
            let mut checked = self.checked.lock().expect("refresh lock");
            if checked.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
                return Ok(());
            }
            *checked = Some(std::time::Instant::now());
        }
        let mut conn = self.db.pool.acquire().await?;
        let version = db::registry_version(&mut conn).await?;
        drop(conn);
        if version != self.version.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::info!(version, "the installed addons changed; reloading");
            self.reload().await?;
        }
        Ok(())
    }

    /// Creates an API key named `name` for the user `login`, expiring at
    /// `expires` (a date `YYYY-MM-DD`, a datetime, or a duration from now
    /// such as `90d`) when given; the key is returned once and only its
    /// digest is stored.
    #[crate::boxed]
    pub async fn create_api_key(
        &self,
        login: &str,
        name: &str,
        expires: Option<&str>,
    ) -> Result<String, Error> {
        auth::create_api_key(&self.db, login, name, expires).await
    }

    /// The API keys of the user `login` (never the keys themselves).
    #[crate::boxed]
    pub async fn api_keys(&self, login: &str) -> Result<Vec<ApiKey>, Error> {
        auth::list_api_keys(&self.db, login).await
    }

    /// Revokes the API key with this id or (unique) name; answers it.
    #[crate::boxed]
    pub async fn revoke_api_key(&self, name_or_id: &str) -> Result<ApiKey, Error> {
        auth::revoke_api_key(&self.db, name_or_id).await
    }

    /// Grants `permissions` (`sudo`, `http:HOST`) to `addon`; running
    /// hosts pick the change up at their next request.
    #[crate::boxed]
    pub async fn grant(&self, addon: &str, permissions: &[String], on: bool) -> Result<(), Error> {
        let mut tx = self.db.pool.begin().await?;
        for permission in permissions {
            let permission = grants::parse(permission)?;
            sqlx::query("DELETE FROM pulse_grants WHERE addon = $1 AND permission = $2")
                .bind(addon)
                .bind(&permission)
                .execute(&mut *tx)
                .await?;
            if on {
                sqlx::query("INSERT INTO pulse_grants (addon, permission) VALUES ($1, $2)")
                    .bind(addon)
                    .bind(&permission)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        registry_changed(&mut tx, self.db.dialect).await?;
        tx.commit().await?;
        self.invalidate();
        Ok(())
    }

    /// Makes the database load addons' demo data from now on (Odoo's
    /// "load demonstration data"): `pulse demo` databases, never
    /// production ones. Addons installed before keep what they had.
    #[crate::boxed]
    pub async fn enable_demo(&self) -> Result<(), Error> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM pulse_meta WHERE key = $1")
            .bind(db::WITH_DEMO)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO pulse_meta (key, value) VALUES ($1, 1)")
            .bind(db::WITH_DEMO)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The login sessions.
    pub fn sessions(&self) -> &dyn auth::SessionStore {
        self.sessions.as_ref()
    }

    /// The login throttle.
    pub fn throttle(&self) -> &auth::Throttle {
        &self.throttle
    }

    /// The remembered RPC credentials.
    pub fn credentials(&self) -> &auth::Credentials {
        &self.credentials
    }

    /// Whether the database answers a query.
    #[crate::boxed]
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.db.pool).await?;
        Ok(())
    }

    /// Makes the next [`Host::refresh`] look at the database at once.
    fn invalidate(&self) {
        *self.checked.lock().expect("refresh lock") = None;
    }

    /// On PostgreSQL, listens for the lifecycle changes other hosts make
    /// (`LISTEN pulse_registry`) and reloads at once, instead of at the next
    /// request. Runs for as long as the host lives; reconnects on failure.
    pub fn spawn_listener(self: &Arc<Host>) -> Option<tokio::task::JoinHandle<()>> {
        if self.db.dialect != pulse_orm::Dialect::Postgres {
            return None;
        }
        let host = Arc::clone(self);
        Some(tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&host.config.db_url).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(REGISTRY_CHANNEL).await {
                            tracing::warn!(error = %e, "cannot LISTEN for registry changes");
                        } else {
                            while listener.recv().await.is_ok() {
                                tracing::info!(
                                    "another host changed the installed addons; reloading"
                                );
                                *host.checked.lock().expect("refresh lock") = None;
                                if let Err(e) = host.refresh().await {
                                    tracing::error!(error = %e, "reload after a notification failed");
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot connect to listen for registry changes")
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }))
    }
}

/// What every database holds before any addon: the user `admin` (with
/// `admin_password`, `admin` when `None`, only when there is no such
/// user yet) and the `base` models, groups and records. One transaction,
/// serialized with other hosts setting the same database up. Answers
/// whether the database was new (it had no `admin` yet).
async fn seed(db: &Database, admin_password: Option<&str>) -> Result<bool, Error> {
    db::retrying("seeding the database", move || async move {
        let mut tx = db.pool.begin().await.map_err(db::tagged)?;
        migrations::lock(&mut tx, db.dialect)
            .await
            .map_err(db::tagged)?;
        let fresh = seed_in(&mut tx, db, admin_password)
            .await
            .map_err(db::tagged_error)?;
        tx.commit().await.map_err(db::tagged)?;
        Ok(fresh)
    })
    .await
}

async fn seed_in(
    tx: &mut pulse_orm::Connection,
    db: &Database,
    admin_password: Option<&str>,
) -> Result<bool, Error> {
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM res_users WHERE login = $1")
        .bind("admin")
        .fetch_one(&mut *tx)
        .await?;
    if admins == 0 {
        let password = admin_password.unwrap_or_else(|| {
            tracing::warn!(db = %db.name, "no admin password given (--admin-password or PULSE_ADMIN_PASSWORD): the new database gets admin/admin");
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
        tracing::info!(db = %db.name, "created the user 'admin'");
    }
    base::ensure(tx, db.dialect).await?;
    Ok(admins == 0)
}

/// The PostgreSQL channel lifecycle changes are announced on.
const REGISTRY_CHANNEL: &str = "pulse_registry";

/// Counts a change of the installed addons (or their grants) in `tx`; on
/// PostgreSQL also tells the listening hosts, when `tx` commits.
async fn registry_changed(
    tx: &mut pulse_orm::Connection,
    dialect: pulse_orm::Dialect,
) -> Result<(), Error> {
    sqlx::query("UPDATE pulse_meta SET value = value + 1 WHERE key = $1")
        .bind(db::REGISTRY_VERSION)
        .execute(&mut *tx)
        .await?;
    if dialect == pulse_orm::Dialect::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REGISTRY_CHANNEL)
            .bind("changed")
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
