//! A struct field of a type no Odoo field has does not compile.
use pulse_sdk::prelude::*;

#[derive(Model)]
#[model(name = "lab.entry")]
pub struct Entry {
    pub id: i64,
    pub timeout: std::time::Duration,
}

pulse_sdk::addon! {
    models: [Entry],
}

fn main() {}
