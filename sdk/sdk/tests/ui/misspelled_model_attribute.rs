//! A misspelled `#[model]` option is refused, with a suggestion.
use pulse_sdk::prelude::*;

#[derive(Model)]
#[model(nmae = "lab.entry")]
pub struct Entry {
    pub id: i64,
}

pulse_sdk::addon! {
    models: [Entry],
}

fn main() {}
