//! Doors for the fuzz targets in `fuzz/`, not an API: the decoding an
//! addon's files go through before any database is involved, reachable
//! without making the internals public (requests are `pulse_api::fuzzing`'s).

use std::collections::BTreeSet;

/// How the dispatcher reads one argument (positional, or by keyword).
pub use crate::arguments::argument;
pub use crate::data::DataRecord;

/// The records of one data file's text, checked as an install checks them.
pub fn data_records(text: &str) -> Result<Vec<DataRecord>, String> {
    crate::data::parse(text, &mut BTreeSet::new())
}
