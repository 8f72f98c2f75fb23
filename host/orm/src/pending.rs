//! The work a change leaves for the host: compute methods to run and records
//! to validate. Plain data, so the record methods can mark work without
//! depending on the module that decides what a change entails.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::RecordEvent;

/// Work a change left for the host: compute methods to run and records to
/// validate, each deduplicated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pending {
    /// `(model, compute method)` to the records whose fields it must recompute.
    pub compute: BTreeMap<(String, String), BTreeSet<i64>>,
    /// Model to the records to validate and the fields that changed on them.
    pub validate: BTreeMap<String, (BTreeSet<i64>, BTreeSet<String>)>,
    /// Record events for the addons subscribed to them, in order.
    pub events: Vec<RecordEvent>,
}

impl Pending {
    /// Whether nothing is left to do.
    pub fn is_empty(&self) -> bool {
        self.compute.is_empty() && self.validate.is_empty() && self.events.is_empty()
    }

    pub(crate) fn compute(
        &mut self,
        model: &str,
        method: &str,
        ids: impl IntoIterator<Item = i64>,
    ) {
        let entry = self
            .compute
            .entry((model.to_string(), method.to_string()))
            .or_default();
        entry.extend(ids);
    }

    pub(crate) fn validate(
        &mut self,
        model: &str,
        ids: &[i64],
        fields: impl IntoIterator<Item = String>,
    ) {
        let entry = self.validate.entry(model.to_string()).or_default();
        entry.0.extend(ids.iter().copied());
        entry.1.extend(fields);
    }
}

/// Which fields a change touched.
pub(crate) enum Changed<'a> {
    /// New records: every field.
    All,
    /// A write of these fields.
    Fields(&'a BTreeSet<String>),
}
