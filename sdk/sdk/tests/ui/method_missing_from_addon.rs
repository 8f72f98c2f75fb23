//! A method left out of `addon!` does not compile.
use pulse_sdk::prelude::*;

#[derive(Model)]
#[model(name = "todo.task")]
pub struct Task {
    pub id: i64,
    pub name: String,
}

#[method(model = "todo.task")]
pub fn action_done(_env: &Env, _ids: &[i64]) -> Result<bool> {
    Ok(true)
}

#[method(model = "todo.task")]
pub fn forgotten(_env: &Env, _ids: &[i64]) -> Result<bool> {
    Ok(true)
}

pulse_sdk::addon! {
    models: [Task],
    methods: [action_done],
}

fn main() {}
