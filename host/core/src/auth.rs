//! Passwords (argon2id), API keys, login sessions, remembered RPC
//! credentials and the login throttle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sqlx::Row;

use pulse_orm::OrmError;

use crate::utc::now;
use crate::{Database, Error};

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Config(format!("cannot hash a password: {e}")))
}

/// Whether `password` matches the PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `res.users` id.
    pub uid: i64,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
}

/// What a user's credentials are now: a digest of the stored password
/// hash (salted, so every new password changes it). Sessions and
/// remembered credentials keep the stamp they were made with and hold only
/// while it is still the user's, so a new password or a deactivation ends
/// them at their next use, whichever process (server, CLI, another host)
/// made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(String);

impl Stamp {
    #[doc(hidden)]
    pub fn of(password_hash: Option<&str>) -> Stamp {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        digest.update(b"pulse-credentials\0");
        digest.update(password_hash.unwrap_or_default().as_bytes());
        Stamp(hex::encode(digest.finalize()))
    }
}

/// The stamp of user `uid` now; `None` when the user is gone or inactive.
#[crate::boxed]
pub async fn current_stamp(db: &Database, uid: i64) -> Result<Option<Stamp>, Error> {
    let row = sqlx::query("SELECT password, active FROM res_users WHERE id = $1")
        .bind(uid)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    if !pulse_orm::bool_at(&row, 1)?.unwrap_or(false) {
        return Ok(None);
    }
    let hash: Option<String> = row.try_get(0)?;
    Ok(Some(Stamp::of(hash.as_deref())))
}

/// The login of user `uid`, if there is one.
#[crate::boxed]
pub async fn login_of(db: &Database, uid: i64) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT login FROM res_users WHERE id = $1")
            .bind(uid)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Where a password is given: an interactive (web) login takes the
/// password only; RPC clients may give an API key in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `/web/session/authenticate`.
    Interactive,
    /// XML-RPC and JSON-RPC services.
    Rpc,
}

/// How many argon2 checks run at once: it is deliberately slow and
/// memory-hungry.
const CONCURRENT_CHECKS: usize = 4;

/// Checks a login and password (at the RPC door, or an API key) against
/// `res_users`; the user and their current [`Stamp`] when they match.
#[crate::boxed]
pub async fn authenticate(
    db: &Database,
    login: &str,
    password: &str,
    door: Door,
) -> Result<Option<(User, Stamp)>, Error> {
    let row = sqlx::query(
        "SELECT id, login, name, password FROM res_users WHERE login = $1 AND active = $2",
    )
    .bind(login)
    .bind(true)
    .fetch_optional(&db.pool)
    .await?;
    let found = |row: &sqlx::any::AnyRow| -> Result<(User, Stamp), Error> {
        let hash: Option<String> = row.try_get("password")?;
        Ok((
            User {
                uid: row.try_get("id")?,
                login: row.try_get("login")?,
                name: row.try_get("name")?,
            },
            Stamp::of(hash.as_deref()),
        ))
    };
    // An API key stands in for the password of scripts and RPC clients,
    // never of an interactive login.
    if door == Door::Rpc
        && password.starts_with(API_KEY_PREFIX)
        && let Some(row) = &row
        && let Some(owner) = api_key_user(db, password).await?
        && owner == row.try_get::<i64, _>("id")?
    {
        return found(row).map(Some);
    }
    let stored: Option<String> = match &row {
        Some(row) => row.try_get("password")?,
        None => None,
    };
    // Unknown logins and users without a password spend the time a real
    // check would, so neither can be told by timing; neither ever matches.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (
            DUMMY
                .get_or_init(|| hash_password("pulse-dummy").unwrap_or_default())
                .clone(),
            false,
        ),
    };
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CHECKS);
    let _permit = CHECKS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    match row {
        Some(row) if matches && real => found(&row).map(Some),
        _ => Ok(None),
    }
}

/// How API keys start, so they are told from passwords at a glance.
pub const API_KEY_PREFIX: &str = "pulse_";

/// The model API keys are seen and revoked as (Odoo 19's).
pub const API_KEY_MODEL: &str = "res.users.apikeys";

/// The digest an API key or a session token is stored and looked up by.
/// Both are 256 random bits, so a fast hash is enough (nobody can guess
/// their way back), unlike a password.
#[doc(hidden)]
pub fn token_digest(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// The user an API key belongs to: none when the key is unknown or
/// expired, or its user inactive.
#[crate::boxed]
pub async fn api_key_owner(db: &Database, key: &str) -> Result<Option<i64>, Error> {
    api_key_user(db, key).await
}

async fn api_key_user(db: &Database, key: &str) -> Result<Option<i64>, Error> {
    let row = sqlx::query(
        "SELECT k.user_id, k.expiration_date FROM res_users_apikeys k \
         JOIN res_users u ON u.id = k.user_id WHERE k.key_digest = $1 AND u.active = $2",
    )
    .bind(token_digest(key))
    .bind(true)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let uid: i64 = row.try_get(0)?;
    let expires: Option<String> = row.try_get(1)?;
    // Datetimes are stored `YYYY-MM-DD HH:MM:SS` (UTC): text order is time order.
    if let Some(expires) = expires.filter(|e| !e.is_empty())
        && expires <= crate::utc::format_utc(now())
    {
        tracing::info!(uid, expires, "expired API key refused");
        return Ok(None);
    }
    Ok(Some(uid))
}

/// When a key given `--expires TEXT` expires (UTC `YYYY-MM-DD HH:MM:SS`):
/// TEXT is a date (`2027-01-01`), a datetime, or a duration from now
/// (`90d`, `12h`, `1week`).
pub fn parse_expiry(text: &str) -> Result<String, Error> {
    let text = text.trim();
    let bad = || {
        Error::Config(format!(
            "bad expiry {text:?}: expected a date YYYY-MM-DD, a datetime YYYY-MM-DD HH:MM:SS or a duration such as 90d"
        ))
    };
    let at = match humantime::parse_duration(text) {
        Ok(duration) => now().saturating_add(i64::try_from(duration.as_secs()).map_err(|_| bad())?),
        Err(_) => {
            let seconds = crate::utc::parse_utc(text).ok_or_else(bad)?;
            // The calendar round trip refuses 2026-13-01 and 2026-02-30.
            let canonical = crate::utc::format_utc(seconds);
            let given = if text.len() == 10 {
                format!("{text} 00:00:00")
            } else {
                text.replacen('T', " ", 1)
            };
            if canonical != given {
                return Err(bad());
            }
            seconds
        }
    };
    if at <= now() {
        return Err(Error::Config(format!("the expiry {text:?} is in the past")));
    }
    Ok(crate::utc::format_utc(at))
}

/// Creates an API key named `name` for the user `login`, expiring at
/// `expires` (see [`parse_expiry`]) when given. The key is returned once
/// and only its digest is stored.
#[crate::boxed]
pub async fn create_api_key(
    db: &Database,
    login: &str,
    name: &str,
    expires: Option<&str>,
) -> Result<String, Error> {
    let uid: i64 = sqlx::query("SELECT id FROM res_users WHERE login = $1")
        .bind(login)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?
        .ok_or_else(|| Error::Config(format!("no user with the login {login:?}")))?;
    let expires = expires.map(parse_expiry).transpose()?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = format!("{API_KEY_PREFIX}{}", hex::encode(bytes));
    sqlx::query(
        "INSERT INTO res_users_apikeys (user_id, name, key_digest, scope, create_date, expiration_date) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uid)
    .bind(name)
    .bind(token_digest(&key))
    .bind("rpc")
    .bind(crate::utc::format_utc(now()))
    .bind(expires)
    .execute(&db.pool)
    .await?;
    Ok(key)
}

/// An API key as `pulse apikey --list` shows it (never the key or its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `res.users.apikeys` id.
    pub id: i64,
    /// The owner's login.
    pub login: String,
    /// What the key is for.
    pub name: String,
    /// When it was made (UTC).
    pub create_date: Option<String>,
    /// When it stops working (UTC), if ever.
    pub expiration_date: Option<String>,
}

const API_KEY_COLUMNS: &str = "SELECT k.id, u.login, k.name, k.create_date, k.expiration_date \
     FROM res_users_apikeys k JOIN res_users u ON u.id = k.user_id";

fn api_key_of(row: &sqlx::any::AnyRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: row.try_get(0)?,
        login: row.try_get(1)?,
        name: row.try_get(2)?,
        create_date: row.try_get(3)?,
        expiration_date: row.try_get(4)?,
    })
}

/// The API keys of the user `login`.
#[crate::boxed]
pub async fn list_api_keys(db: &Database, login: &str) -> Result<Vec<ApiKey>, Error> {
    let rows = sqlx::query(&format!(
        "{API_KEY_COLUMNS} WHERE u.login = $1 ORDER BY k.id"
    ))
    .bind(login)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(api_key_of).collect::<Result<_, _>>()?)
}

/// Revokes the API key with the id or name `name_or_id`; a name must
/// name one key only. Answers the key revoked.
#[crate::boxed]
pub async fn revoke_api_key(db: &Database, name_or_id: &str) -> Result<ApiKey, Error> {
    let rows = match name_or_id.parse::<i64>() {
        Ok(id) => {
            sqlx::query(&format!("{API_KEY_COLUMNS} WHERE k.id = $1"))
                .bind(id)
                .fetch_all(&db.pool)
                .await?
        }
        Err(_) => {
            sqlx::query(&format!(
                "{API_KEY_COLUMNS} WHERE k.name = $1 ORDER BY k.id"
            ))
            .bind(name_or_id)
            .fetch_all(&db.pool)
            .await?
        }
    };
    let keys: Vec<ApiKey> = rows.iter().map(api_key_of).collect::<Result<_, _>>()?;
    let key = match keys.as_slice() {
        [key] => key.clone(),
        [] => {
            return Err(Error::Config(format!(
                "no API key with the id or name {name_or_id:?}"
            )));
        }
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|k| format!("{} ({})", k.id, k.login))
                .collect();
            return Err(Error::Config(format!(
                "{} API keys are named {name_or_id:?}: revoke one by its id ({})",
                several.len(),
                ids.join(", ")
            )));
        }
    };
    sqlx::query("DELETE FROM res_users_apikeys WHERE id = $1")
        .bind(key.id)
        .execute(&db.pool)
        .await?;
    Ok(key)
}

/// The users' model: its `password` is no field (see
/// [`crate::model_methods`]).
pub const USERS_MODEL: &str = "res.users";

/// The language a user has until they choose one (Odoo's `en_US`).
pub const DEFAULT_LANG: &str = "en_US";

/// `res.users.context_get()`, which Odoo clients call right after logging
/// in: the caller's preferences as a context, `lang`, `tz` and every
/// `context_<key>` field of the user as `<key>`, and `uid`. Where
/// `res.users` has no `lang` field, the language is [`DEFAULT_LANG`];
/// where it has no `tz`, the time zone is unset (`false`), as Odoo answers
/// for a user who never chose one.
#[crate::boxed]
pub async fn context_get(
    host: &crate::Host,
    uid: i64,
) -> Result<serde_json::Value, crate::Failure> {
    let snapshot = host.snapshot();
    let users = snapshot.registry.require(USERS_MODEL)?;
    let preferences: Vec<String> = users
        .fields()
        .iter()
        .filter(|f| f.has_column())
        .map(|f| f.name().to_string())
        .filter(|name| name == "lang" || name == "tz" || name.starts_with("context_"))
        .collect();
    let mut context = serde_json::Map::new();
    context.insert("lang".into(), DEFAULT_LANG.into());
    context.insert("tz".into(), false.into());
    if !preferences.is_empty() {
        let mut conn = host.db.pool.acquire().await?;
        let orm = pulse_orm::Orm::new(host.db.dialect, snapshot.registry.clone());
        let mut found = orm
            .read(&mut conn, USERS_MODEL, &[uid], &preferences)
            .await?;
        for (name, value) in found.pop().unwrap_or_default() {
            // A user who never chose a language reads in the default one.
            let unset_lang = name == "lang" && !pulse_schema::is_truthy(&value);
            if name != "id" && !unset_lang {
                let key = name.strip_prefix("context_").unwrap_or(&name);
                context.insert(key.to_string(), value);
            }
        }
    }
    context.insert("uid".into(), uid.into());
    Ok(serde_json::Value::Object(context))
}

/// Takes the `password` values out of `res.users` rows (it is no field:
/// it is never stored or read as one), one per row.
pub fn take_passwords(
    mut rows: Vec<pulse_orm::Record>,
) -> Result<(Vec<pulse_orm::Record>, Vec<Option<String>>), crate::failure::CallFailure> {
    let mut passwords = Vec::with_capacity(rows.len());
    for row in &mut rows {
        passwords.push(match row.remove("password") {
            None | Some(serde_json::Value::Bool(false)) | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(p)) if !p.is_empty() => Some(p),
            Some(_) => {
                return Err(crate::failure::CallFailure::BadArgument(
                    "a password must be a non-empty string".into(),
                ));
            }
        });
    }
    Ok((rows, passwords))
}

/// Stores the argon2id hashes of `passwords` for the users `ids` (in
/// order). A user whose password changes loses their API keys (their
/// sessions and remembered credentials end by their [`Stamp`]).
#[crate::boxed]
pub async fn set_passwords(
    conn: &mut pulse_orm::Connection,
    ids: &[i64],
    passwords: Vec<Option<String>>,
) -> Result<(), crate::failure::CallFailure> {
    for (id, password) in ids.iter().zip(passwords) {
        let Some(password) = password else { continue };
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| crate::failure::CallFailure::Unavailable(e.to_string()))?
            .map_err(|e| crate::failure::CallFailure::Unavailable(e.to_string()))?;
        sqlx::query("UPDATE res_users SET password = $1 WHERE id = $2")
            .bind(hash)
            .bind(*id)
            .execute(&mut *conn)
            .await
            .map_err(|e| crate::failure::CallFailure::Orm(e.into()))?;
        revoke_user_api_keys(conn, *id)
            .await
            .map_err(crate::failure::CallFailure::Orm)?;
    }
    Ok(())
}

/// What writing `values` to the `res.users` records `ids` does to
/// credentials, in the same transaction: a user deactivated loses its API
/// keys (its sessions and remembered credentials end by their [`Stamp`]).
/// Every ORM write path calls this after the write: RPC, addon code, data
/// files.
#[crate::boxed]
pub async fn after_write(
    conn: &mut pulse_orm::Connection,
    ids: &[i64],
    values: &pulse_orm::Record,
) -> Result<(), OrmError> {
    let deactivated = matches!(
        values.get("active"),
        Some(serde_json::Value::Bool(false) | serde_json::Value::Null)
    ) || values.get("active").and_then(serde_json::Value::as_i64) == Some(0);
    if !deactivated {
        return Ok(());
    }
    for id in ids {
        revoke_user_api_keys(conn, *id).await?;
    }
    Ok(())
}

async fn revoke_user_api_keys(conn: &mut pulse_orm::Connection, uid: i64) -> Result<(), OrmError> {
    let revoked = sqlx::query("DELETE FROM res_users_apikeys WHERE user_id = $1")
        .bind(uid)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if revoked > 0 {
        tracing::info!(uid, revoked, "API keys revoked with the user's credentials");
    }
    Ok(())
}

/// Failures allowed (per login, per client address) before logins are refused.
#[doc(hidden)]
pub const FREE_FAILURES: u32 = 5;

/// The first lockout after [`FREE_FAILURES`]; each further failure doubles it.
#[doc(hidden)]
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);

/// The longest lockout. A key whose last failure is older is forgotten.
#[doc(hidden)]
pub const MAX_LOCKOUT: Duration = Duration::from_secs(900);

/// How many logins and addresses the throttle keeps count of at most.
const MAX_THROTTLE_KEYS: usize = 100_000;

/// Hex digits of a login's SHA-256 a throttle key keeps: a key is small
/// whatever the login sent (a 1 MB login is no 1 MB key).
const LOGIN_KEY_DIGITS: usize = 32;

/// The throttle keys of an attempt: the login tried and the client address.
pub fn throttle_keys(login: &str, address: IpAddr) -> [String; 2] {
    use sha2::Digest;
    let mut digest = hex::encode(sha2::Sha256::digest(login.as_bytes()));
    digest.truncate(LOGIN_KEY_DIGITS);
    [format!("login:{digest}"), format!("address:{address}")]
}

/// Failed logins, per login and per client address, kept in the
/// database (`pulse_login_failures`) so that every host counts the same
/// failures: after [`FREE_FAILURES`] failures, further attempts are
/// refused for a while that doubles with each failure (up to
/// [`MAX_LOCKOUT`]). An attempt is counted as a failure before its
/// password is checked ([`Throttle::reserve`]) and forgiven when it
/// succeeds ([`Throttle::succeeded`]), so a burst of concurrent attempts,
/// on one host or several, cannot race past the limit: a reservation
/// locks the keys' rows until it is counted.
#[derive(Debug)]
pub struct Throttle {
    #[doc(hidden)]
    pub pool: sqlx::AnyPool,
    /// How many keys are kept at most ([`MAX_THROTTLE_KEYS`]).
    #[doc(hidden)]
    pub max_keys: i64,
}

/// Logins are refused for now (too many failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked;

/// Unix time in milliseconds: the throttle's clock.
#[doc(hidden)]
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[doc(hidden)]
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Throttle {
    /// The throttle over the database of `pool`.
    pub fn new(pool: sqlx::AnyPool) -> Throttle {
        Throttle {
            pool,
            max_keys: MAX_THROTTLE_KEYS as i64,
        }
    }

    fn lockout(count: i64) -> Duration {
        let doublings = u32::try_from(count.saturating_sub(i64::from(FREE_FAILURES)).clamp(0, 10))
            .unwrap_or(10);
        (FIRST_LOCKOUT * (1u32 << doublings)).min(MAX_LOCKOUT)
    }

    /// Counts an attempt on `keys` as a failure now, unless one of them is
    /// locked out (then nothing is counted).
    #[crate::boxed]
    pub async fn reserve(&self, keys: &[String]) -> Result<Result<(), Locked>, Error> {
        self.reserve_at(keys, now_millis()).await
    }

    #[doc(hidden)]
    #[crate::boxed]
    pub async fn reserve_at(&self, keys: &[String], now: i64) -> Result<Result<(), Locked>, Error> {
        let pool = &self.pool;
        crate::db::retrying("the login throttle", move || async move {
            let mut tx = pool.begin().await.map_err(crate::db::tagged)?;
            let outcome = self
                .count(&mut tx, keys, now)
                .await
                .map_err(crate::db::tagged)?;
            if outcome.is_ok() {
                tx.commit().await.map_err(crate::db::tagged)?;
            }
            Ok(outcome)
        })
        .await
    }

    /// The reservation, in `tx`; the caller commits it only when it is
    /// `Ok` (a refusal counts nothing).
    async fn count(
        &self,
        tx: &mut pulse_orm::Connection,
        keys: &[String],
        now: i64,
    ) -> Result<Result<(), Locked>, sqlx::Error> {
        // Each key's row, made when missing and locked either way (the
        // update changes nothing), so concurrent attempts on one key, from
        // any host, are counted one after the other.
        let mut seen = Vec::with_capacity(keys.len());
        for key in keys {
            let row = sqlx::query(
                "INSERT INTO pulse_login_failures (key, failures, last_failure) VALUES ($1, 0, $2) \
                 ON CONFLICT (key) DO UPDATE SET failures = pulse_login_failures.failures \
                 RETURNING failures, last_failure",
            )
            .bind(key)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            seen.push((row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?));
        }
        let live = |last: i64| now.saturating_sub(last) < millis(MAX_LOCKOUT);
        let locked = seen.iter().any(|&(count, last)| {
            live(last)
                && count >= i64::from(FREE_FAILURES)
                && now.saturating_sub(last) < millis(Throttle::lockout(count))
        });
        if locked {
            return Ok(Err(Locked));
        }
        // A row just made (no failure yet) may take the table past its bound.
        if seen.iter().any(|&(count, _)| count == 0) && !self.make_room(tx, keys, now).await? {
            // Only reachable with as many lockouts in force: refusing the
            // newcomers keeps every count that holds someone back.
            tracing::warn!("login throttle full; refusing logins not counted yet");
            return Ok(Err(Locked));
        }
        for (key, (count, last)) in keys.iter().zip(seen) {
            // Old failures decay: a key quiet for the longest lockout starts again.
            let count = if live(last) { count + 1 } else { 1 };
            sqlx::query(
                "UPDATE pulse_login_failures SET failures = $1, last_failure = $2 WHERE key = $3",
            )
            .bind(count)
            .bind(now)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        Ok(Ok(()))
    }

    /// Keeps the table within [`Throttle::max_keys`]: forgets the keys
    /// whose failures lapsed, then those not locked out, never `keys`
    /// themselves. Whether it is within the bound now.
    async fn make_room(
        &self,
        tx: &mut pulse_orm::Connection,
        keys: &[String],
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let held = || sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pulse_login_failures");
        if held().fetch_one(&mut *tx).await? <= self.max_keys {
            return Ok(true);
        }
        let others = (2..keys.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        for (condition, bound) in [
            (
                "last_failure <= $1",
                now.saturating_sub(millis(MAX_LOCKOUT)),
            ),
            ("failures < $1", i64::from(FREE_FAILURES)),
        ] {
            let sql = format!(
                "DELETE FROM pulse_login_failures WHERE {condition} AND key NOT IN ({others})"
            );
            let mut delete = sqlx::query(&sql).bind(bound);
            for key in keys {
                delete = delete.bind(key);
            }
            delete.execute(&mut *tx).await?;
            if held().fetch_one(&mut *tx).await? <= self.max_keys {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Forgets the failures of `keys` (the login's and the address's) after
    /// a successful login, the one this attempt reserved included.
    #[crate::boxed]
    pub async fn succeeded(&self, keys: &[String]) -> Result<(), Error> {
        for key in keys {
            sqlx::query("DELETE FROM pulse_login_failures WHERE key = $1")
                .bind(key)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

/// Credentials (`uid`, password, [`Stamp`]) that passed a full check
/// recently, so RPC scripts sending them with every call do not pay for
/// argon2 each time. Kept by digest, for [`CREDENTIALS_TTL`] at most, and
/// only while the user's stamp is the same.
///
/// Unlike sessions and throttle counters, these stay in each host's
/// memory, on purpose. An entry is a fast (SHA-256) digest of a password:
/// in the shared database, a dump of it would be an offline oracle that
/// tests a billion guesses a second, where the stored argon2 hash allows a
/// handful. Nothing is lost by keeping them apart: an entry only saves one
/// host an argon2 check, and it holds only while its stamp is the user's
/// current one, read from the database at every call, so a password change
/// or a deactivation on any host refuses the old credentials on every
/// host at once.
#[derive(Debug, Default)]
pub struct Credentials {
    checked: Mutex<HashMap<String, Instant>>,
}

/// How long checked credentials are remembered.
const CREDENTIALS_TTL: Duration = Duration::from_secs(600);

/// How many checked credentials are remembered at most.
const MAX_CREDENTIALS: usize = 10_000;

impl Credentials {
    fn token(uid: i64, password: &str, stamp: &Stamp) -> String {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        digest.update(uid.to_le_bytes());
        digest.update(stamp.0.as_bytes());
        digest.update(password.as_bytes());
        hex::encode(digest.finalize())
    }

    /// Whether these credentials passed a check recently, with the user's
    /// credentials as they are now (`stamp`).
    pub fn is_fresh(&self, uid: i64, password: &str, stamp: &Stamp) -> bool {
        self.checked
            .lock()
            .expect("credentials lock")
            .get(&Credentials::token(uid, password, stamp))
            .is_some_and(|at| at.elapsed() < CREDENTIALS_TTL)
    }

    /// Remembers that these credentials passed a check now.
    pub fn remember(&self, uid: i64, password: &str, stamp: &Stamp) {
        let mut checked = self.checked.lock().expect("credentials lock");
        if checked.len() >= MAX_CREDENTIALS {
            checked.retain(|_, at| at.elapsed() < CREDENTIALS_TTL);
        }
        if checked.len() >= MAX_CREDENTIALS {
            checked.clear();
        }
        checked.insert(Credentials::token(uid, password, stamp), Instant::now());
    }
}

/// A login session: who, and with which credentials (see [`Stamp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The user's credentials when the session opened.
    pub stamp: Stamp,
}

/// What a [`SessionStore`] answers: a future, so that a store may ask the
/// database, behind a trait object.
pub type Pending<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'a>>;

/// Where sessions live, by the random token in the `session_id` cookie.
/// Whoever uses a session checks its stamp against the user's current one.
pub trait SessionStore: std::fmt::Debug + Send + Sync {
    /// Opens `session`; returns its token.
    fn open(&self, session: Session) -> Pending<'_, String>;
    /// The session of `token`, if it is live; using it keeps it alive.
    fn get<'a>(&'a self, token: &'a str) -> Pending<'a, Option<Session>>;
    /// Ends the session of `token`.
    fn close<'a>(&'a self, token: &'a str) -> Pending<'a, ()>;
}

/// Sessions in the database (`pulse_sessions`), so that every host
/// serves the same ones: a cookie from one host works on another, a
/// logout anywhere ends it everywhere, and a restart logs nobody out.
/// A row is keyed by the SHA-256 digest of the token: whoever reads the
/// table (or a dump of it) cannot log in with what they find. Every use
/// reads the row; a use writes it only when the last recorded one is
/// [`SESSION_TOUCH`] old, so busy sessions do not write on every request.
#[derive(Debug)]
pub struct DatabaseSessions {
    #[doc(hidden)]
    pub pool: sqlx::AnyPool,
}

/// A session unused for this long is over.
#[doc(hidden)]
pub const SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);

/// How stale a session's recorded last use may get before a use records
/// it again: the idle limit is kept to within this.
#[doc(hidden)]
pub const SESSION_TOUCH: Duration = Duration::from_secs(60);

impl DatabaseSessions {
    /// The sessions in the database of `pool`.
    pub fn new(pool: sqlx::AnyPool) -> DatabaseSessions {
        DatabaseSessions { pool }
    }

    #[doc(hidden)]
    #[crate::boxed]
    pub async fn open_at(&self, session: Session, now: i64) -> Result<String, Error> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        // Logins are rare next to requests: forgetting idle sessions here
        // keeps the table from only growing.
        sqlx::query("DELETE FROM pulse_sessions WHERE last_seen <= $1")
            .bind(now.saturating_sub(SESSION_IDLE.as_secs() as i64))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO pulse_sessions (token_digest, uid, stamp, created_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_digest(&token))
        .bind(session.user.uid)
        .bind(&session.stamp.0)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    #[doc(hidden)]
    #[crate::boxed]
    pub async fn get_at(&self, token: &str, now: i64) -> Result<Option<Session>, Error> {
        let digest = token_digest(token);
        let row = sqlx::query(
            "SELECT s.uid, s.stamp, s.last_seen, u.login, u.name \
             FROM pulse_sessions s JOIN res_users u ON u.id = s.uid WHERE s.token_digest = $1",
        )
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get(2)?;
        let idle = now.saturating_sub(last_seen);
        if idle >= SESSION_IDLE.as_secs() as i64 {
            self.close_digest(&digest).await?;
            return Ok(None);
        }
        if idle >= SESSION_TOUCH.as_secs() as i64 {
            sqlx::query("UPDATE pulse_sessions SET last_seen = $1 WHERE token_digest = $2")
                .bind(now)
                .bind(&digest)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            user: User {
                uid: row.try_get(0)?,
                login: row.try_get(3)?,
                name: row.try_get(4)?,
            },
            stamp: Stamp(row.try_get(1)?),
        }))
    }

    async fn close_digest(&self, digest: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM pulse_sessions WHERE token_digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl SessionStore for DatabaseSessions {
    fn open(&self, session: Session) -> Pending<'_, String> {
        Box::pin(self.open_at(session, now()))
    }

    fn get<'a>(&'a self, token: &'a str) -> Pending<'a, Option<Session>> {
        Box::pin(self.get_at(token, now()))
    }

    fn close<'a>(&'a self, token: &'a str) -> Pending<'a, ()> {
        Box::pin(async move { self.close_digest(&token_digest(token)).await })
    }
}
