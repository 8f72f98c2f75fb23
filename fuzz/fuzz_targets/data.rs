//! Data files: the text of an addon's `data/*.toml` parsed and its record
//! ids checked as an install does, then each record's values turned into
//! JSON as the loader does for values that are no `{ ref = … }`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::on_worker_stack;
use pulse_core::fuzzing::data_records;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    on_worker_stack(|| {
        for record in data_records(text).unwrap_or_default() {
            for value in record.values.values() {
                let _ = serde_json::to_value(value);
            }
        }
    });
});
