//! Passwords (argon2id) and login sessions.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sqlx::Row;

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

/// Checks a login and password against `res_users`.
pub async fn authenticate(
    db: &Database,
    login: &str,
    password: &str,
) -> Result<Option<User>, Error> {
    let row = sqlx::query(
        "SELECT id, login, name, password FROM res_users WHERE login = $1 AND active = $2",
    )
    .bind(login)
    .bind(true)
    .fetch_optional(&db.pool)
    .await?;
    // Unknown logins spend the time a real check would, so they cannot be
    // probed by timing.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // An API key stands in for the password (for scripts and RPC clients).
    if password.starts_with(API_KEY_PREFIX)
        && let Some(row) = &row
        && let Some(user) = api_key_user(db, password).await?
        && user == row.try_get::<i64, _>("id")?
    {
        return Ok(Some(User {
            uid: user,
            login: row.try_get("login")?,
            name: row.try_get("name")?,
        }));
    }
    let stored: Option<String> = match &row {
        Some(row) => row.try_get("password")?,
        None => None,
    };
    let hash: String = match stored {
        Some(hash) => hash,
        None => DUMMY
            .get_or_init(|| hash_password("pulse-dummy").unwrap_or_default())
            .clone(),
    };
    // argon2 is deliberately slow and memory-hungry: keep it off the async
    // workers, and run at most a few at once.
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let _permit = CHECKS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(row) = row.filter(|_| matches) else {
        return Ok(None);
    };
    Ok(Some(User {
        uid: row.try_get("id")?,
        login: row.try_get("login")?,
        name: row.try_get("name")?,
    }))
}

/// How API keys start, so they are told from passwords at a glance.
pub const API_KEY_PREFIX: &str = "pulse_";

/// The digest an API key is stored and looked up by. Keys are 256 random
/// bits, so a fast hash is enough (nobody can guess their way back).
fn api_key_digest(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// The user an API key belongs to.
pub async fn api_key_owner(db: &Database, key: &str) -> Result<Option<i64>, Error> {
    api_key_user(db, key).await
}

async fn api_key_user(db: &Database, key: &str) -> Result<Option<i64>, Error> {
    let row = sqlx::query("SELECT user_id FROM res_users_apikeys WHERE key_digest = $1")
        .bind(api_key_digest(key))
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Creates an API key named `name` for the user `login`. The key is
/// returned once and only its digest is stored.
pub async fn create_api_key(db: &Database, login: &str, name: &str) -> Result<String, Error> {
    let uid: i64 = sqlx::query("SELECT id FROM res_users WHERE login = $1")
        .bind(login)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?
        .ok_or_else(|| Error::Config(format!("no user with the login {login:?}")))?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = format!("{API_KEY_PREFIX}{}", hex::encode(bytes));
    sqlx::query("INSERT INTO res_users_apikeys (user_id, name, key_digest) VALUES ($1, $2, $3)")
        .bind(uid)
        .bind(name)
        .bind(api_key_digest(&key))
        .execute(&db.pool)
        .await?;
    Ok(key)
}

/// Takes the `password` values out of `res.users` rows (it is no field:
/// it is never stored or read as one), one per row.
pub fn take_passwords(
    model: &str,
    mut rows: Vec<pulse_orm::Record>,
) -> Result<(Vec<pulse_orm::Record>, Vec<Option<String>>), crate::dispatch::CallFailure> {
    if model != "res.users" {
        return Ok((rows, Vec::new()));
    }
    let mut passwords = Vec::with_capacity(rows.len());
    for row in &mut rows {
        passwords.push(match row.remove("password") {
            None | Some(serde_json::Value::Bool(false)) | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(p)) if !p.is_empty() => Some(p),
            Some(_) => {
                return Err(crate::dispatch::CallFailure::BadArgument(
                    "a password must be a non-empty string".into(),
                ));
            }
        });
    }
    Ok((rows, passwords))
}

/// Stores the argon2id hashes of `passwords` for the users `ids` (in order).
pub async fn set_passwords(
    conn: &mut pulse_orm::Connection,
    ids: &[i64],
    passwords: Vec<Option<String>>,
) -> Result<(), crate::dispatch::CallFailure> {
    for (id, password) in ids.iter().zip(passwords) {
        let Some(password) = password else { continue };
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| crate::dispatch::CallFailure::Unavailable(e.to_string()))?
            .map_err(|e| crate::dispatch::CallFailure::Unavailable(e.to_string()))?;
        sqlx::query("UPDATE res_users SET password = $1 WHERE id = $2")
            .bind(hash)
            .bind(*id)
            .execute(&mut *conn)
            .await
            .map_err(|e| crate::dispatch::CallFailure::Orm(e.into()))?;
    }
    Ok(())
}

/// Failed logins, per login and per client address: after
/// [`FREE_FAILURES`] failures, further attempts are refused for a while that
/// doubles with each failure (up to a quarter of an hour).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, std::time::Instant)>>,
}

/// Failures allowed before logins are refused.
const FREE_FAILURES: u32 = 5;

impl Throttle {
    fn wait(count: u32) -> std::time::Duration {
        let doubling = count.saturating_sub(FREE_FAILURES).min(10);
        std::time::Duration::from_secs((30u64 << doubling).min(900))
    }

    /// Whether any of `keys` is locked out now.
    pub fn is_blocked(&self, keys: &[String]) -> bool {
        let failures = self.failures.lock().expect("throttle lock");
        keys.iter().any(|k| {
            failures.get(k).is_some_and(|(count, last)| {
                *count >= FREE_FAILURES && last.elapsed() < Throttle::wait(*count)
            })
        })
    }

    /// Records a failure against every key.
    pub fn failed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() > 100_000 {
            failures.retain(|_, (_, last)| last.elapsed() < std::time::Duration::from_secs(900));
        }
        for key in keys {
            let entry = failures
                .entry(key.clone())
                .or_insert((0, std::time::Instant::now()));
            entry.0 += 1;
            entry.1 = std::time::Instant::now();
        }
    }

    /// Forgets the failures of `key` after a successful login.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("throttle lock").remove(key);
    }
}

/// Credentials (`uid` + password digests) that passed a full check
/// recently, so RPC scripts sending them with every call do not pay for
/// argon2 each time. Entries last ten minutes.
#[derive(Debug, Default)]
pub struct Credentials {
    checked: Mutex<HashMap<String, std::time::Instant>>,
}

const CREDENTIALS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

impl Credentials {
    /// Whether `token` passed a check less than ten minutes ago.
    pub fn is_fresh(&self, token: &str) -> bool {
        self.checked
            .lock()
            .expect("credentials lock")
            .get(token)
            .is_some_and(|at| at.elapsed() < CREDENTIALS_TTL)
    }

    /// Remembers that `token` passed a check now.
    pub fn remember(&self, token: String) {
        let mut checked = self.checked.lock().expect("credentials lock");
        if checked.len() > 10_000 {
            checked.retain(|_, at| at.elapsed() < CREDENTIALS_TTL);
        }
        checked.insert(token, std::time::Instant::now());
    }
}

/// Live sessions, by the random id in the `session_id` cookie.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, (User, std::time::Instant)>>,
}

/// A session unused for this long is over.
const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Sessions {
    /// Opens a session for `user`; returns its id.
    pub fn open(&self, user: User) -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        self.by_id
            .lock()
            .expect("sessions lock")
            .insert(id.clone(), (user, std::time::Instant::now()));
        id
    }

    /// The user of session `id`, if it is live; using it keeps it alive.
    pub fn get(&self, id: &str) -> Option<User> {
        let mut sessions = self.by_id.lock().expect("sessions lock");
        let now = std::time::Instant::now();
        // Forget idle sessions now and then, so the map cannot only grow.
        if sessions.len() > 1024 {
            sessions.retain(|_, (_, seen)| now.duration_since(*seen) < SESSION_IDLE);
        }
        match sessions.get_mut(id) {
            Some((user, seen)) if now.duration_since(*seen) < SESSION_IDLE => {
                *seen = now;
                Some(user.clone())
            }
            Some(_) => {
                sessions.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.by_id.lock().expect("sessions lock").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("s3cret").unwrap();
        let b = hash_password("s3cret").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("s3cret", "not a hash"));
    }
}
