//! The 0.1-era default, JSON inside a string, says how to write it now.
use pulse_sdk::prelude::*;

#[derive(Model)]
#[model(name = "lab.entry")]
pub struct Entry {
    pub id: i64,
    #[field(default = "\"draft\"")]
    pub state: String,
}

pulse_sdk::addon! {
    models: [Entry],
}

fn main() {}
