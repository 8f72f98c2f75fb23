//! Record events: who listens to the creation, change and deletion of a
//! model's records ([`Subscription`], kept by the [`crate::Registry`]),
//! and what an operation leaves for them ([`RecordEvent`], marked with the
//! other work in [`crate::Pending`]). The ORM only marks events; calling
//! the listeners is the host's job. Knows no model.

use std::collections::BTreeSet;

use pulse_schema::EventKind;
use serde_json::{Map, Value};

use crate::domain::Domain;

/// An addon's subscription to the events of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The addon listening.
    pub addon: String,
    /// Its handler's name.
    pub handler: String,
    /// The operations it listens to.
    pub on: BTreeSet<EventKind>,
    /// Only records matching this domain.
    pub domain: Option<Domain>,
    /// For writes: only when one of these fields is written (any write when empty).
    pub fields: BTreeSet<String>,
}

impl Subscription {
    /// Whether a write of `written` concerns this subscription.
    pub(crate) fn wants_write(&self, written: &BTreeSet<String>) -> bool {
        self.on.contains(&EventKind::Write)
            && (self.fields.is_empty() || self.fields.iter().any(|f| written.contains(f)))
    }
}

/// One operation on records that a subscription listens to, marked by
/// the ORM for the host to hand to the listener.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordEvent {
    /// The addon listening.
    pub addon: String,
    /// Its handler.
    pub handler: String,
    /// The model.
    pub model: String,
    /// The operation.
    pub kind: EventKind,
    /// The records concerned.
    pub ids: Vec<i64>,
    /// For a write: the fields written.
    pub fields: Vec<String>,
    /// The values before the operation (a write's fields, an unlink's
    /// whole records), each with `id`.
    pub old: Vec<Map<String, Value>>,
    /// The subscription's domain, still to apply (after a create or
    /// write, once computed fields are up to date); `None` when applied
    /// already (before an unlink) or when there is none.
    pub filter: Option<Domain>,
}
