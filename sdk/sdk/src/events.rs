//! Record events and the authentication policy: what an addon is told
//! after records change (Odoo's automated actions), and what it says
//! about a login.
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! /// Runs after every write of `name` or `email` on a partner that has
//! /// an email, in the same transaction.
//! #[event(model = "res.partner", on = "write", domain = r#"[["email", "!=", false]]"#, fields = "name, email")]
//! pub fn partner_changed(env: &Env, event: &RecordEvent) -> Result<()> {
//!     for id in &event.ids {
//!         let before = event.before(*id).and_then(|r| r.get("name")).cloned();
//!         let after = event.after(*id).and_then(|r| r.get("name")).cloned();
//!         let _ = (env, before, after);
//!     }
//!     Ok(())
//! }
//!
//! /// Refuses one address; asks managers for a second factor.
//! #[auth_policy]
//! pub fn policy(_env: &Env, attempt: &LoginAttempt) -> Result<LoginDecision> {
//!     if attempt.address == "203.0.113.7" {
//!         return Ok(LoginDecision::Refuse("address not allowed".into()));
//!     }
//!     if attempt.has_group("base.group_system") && attempt.second_factor.is_none() {
//!         return Ok(LoginDecision::SecondFactor("totp".into()));
//!     }
//!     Ok(LoginDecision::Allow)
//! }
//!
//! pulse_sdk::addon! {
//!     models: [],
//!     events: [partner_changed],
//!     auth_policy: policy,
//! }
//!
//! # fn main() {
//! use pulse_sdk::EventHandler;
//! assert_eq!(<partner_changed as EventHandler>::MODEL, "res.partner");
//! assert_eq!(<partner_changed as EventHandler>::ON, [EventKind::Write]);
//! assert_eq!(<partner_changed as EventHandler>::FIELDS, ["name", "email"]);
//! # }
//! ```

use serde_json::{Map, Value};

use crate::{Env, Result};
pub use pulse_schema::{EventKind, LoginAttempt, LoginDecision};

/// A record-event handler, implemented by `#[event(model = "…", on = "…")]`.
pub trait EventHandler {
    /// The handler's name (the function's).
    const NAME: &'static str;
    /// The model it listens to.
    const MODEL: &'static str;
    /// The operations it listens to.
    const ON: &'static [EventKind];
    /// Only records matching this JSON domain.
    const DOMAIN: Option<&'static str> = None;
    /// For writes: only when one of these fields is written.
    const FIELDS: &'static [&'static str] = &[];
    /// Handles the event.
    fn handle(env: &Env, event: &RecordEvent) -> Result<()>;
}

/// What happened to records of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordEvent {
    /// The model.
    pub model: String,
    /// The operation.
    pub kind: EventKind,
    /// The records concerned.
    pub ids: Vec<i64>,
    /// For a write: the fields written.
    pub fields: Vec<String>,
    /// The values before: the fields written (write), the whole records (unlink).
    pub old_values: Vec<Map<String, Value>>,
    /// The values after: the whole records (create), the fields written (write).
    pub new_values: Vec<Map<String, Value>>,
    /// The user who made the change.
    pub uid: i64,
}

impl RecordEvent {
    /// The values of record `id` before the operation.
    pub fn before(&self, id: i64) -> Option<&Map<String, Value>> {
        find(&self.old_values, id)
    }

    /// The values of record `id` after the operation.
    pub fn after(&self, id: i64) -> Option<&Map<String, Value>> {
        find(&self.new_values, id)
    }
}

fn find(records: &[Map<String, Value>], id: i64) -> Option<&Map<String, Value>> {
    records
        .iter()
        .find(|r| r.get("id").and_then(Value::as_i64) == Some(id))
}

/// An authentication policy, implemented by `#[auth_policy]`.
pub trait AuthPolicy {
    /// Decides about a login whose credentials are right.
    fn check(env: &Env, attempt: &LoginAttempt) -> Result<LoginDecision>;
}
