//! A model left out of `addon!` does not compile either.
use pulse_sdk::prelude::*;

#[derive(Model)]
#[model(name = "todo.tag")]
pub struct Tag {
    pub id: i64,
    pub name: String,
}

pulse_sdk::addon! {
    models: [],
}

fn main() {}
