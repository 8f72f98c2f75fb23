//! A default that is not one of the selection's variants, or not of the
//! field's type, does not compile.
use pulse_sdk::prelude::*;

#[derive(Selection, Clone, Copy)]
pub enum State {
    /// Draft
    Draft,
    /// Posted
    Posted,
}

#[derive(Model)]
#[model(name = "lab.entry")]
pub struct Entry {
    pub id: i64,
    #[field(default = State::Cancelled)]
    pub state: State,
    #[field(default = "draft")]
    pub other_state: State,
}

pulse_sdk::addon! {
    models: [Entry],
}

fn main() {}
