//! A to-do addon: the smallest complete Pulse addon.
//!
//! Build and run it with the demo command in the README, or on its own:
//! `pulse build todo && pulse install todo && pulse serve`.

use pulse_sdk::prelude::*;

/// A task on someone's list.
#[derive(Model, Debug, Clone)]
#[model(name = "todo.task", description = "To-do Task")]
pub struct Task {
    /// The record id (not a column).
    pub id: i64,
    /// What to do.
    #[field(required, string = "Title")]
    pub name: String,
    /// Whether it is done.
    #[field(index)]
    pub done: bool,
    /// Free-form notes.
    #[field(kind = "text")]
    pub notes: Option<String>,
}

/// Marks the tasks as done; returns `true` like Odoo's action methods.
#[method(model = "todo.task")]
pub fn action_done(env: &Env, ids: &[i64]) -> Result<bool> {
    env.model::<Task>().write(ids, json!({"done": true}))?;
    Ok(true)
}

/// Names of the open tasks whose title contains `text` (a method with an argument).
#[method(model = "todo.task")]
pub fn open_titles(env: &Env, _ids: &[i64], text: String) -> Result<Vec<String>> {
    let tasks = env.model::<Task>();
    let ids = tasks.search(&domain![("done", "=", false), ("name", "ilike", text)])?;
    Ok(tasks.read(&ids)?.into_iter().map(|t| t.name).collect())
}

/// Seeds a first task so a new install shows something.
fn welcome(env: &Env) -> Result<()> {
    env.model::<Task>().create(&[Task {
        id: 0,
        name: "Try Pulse".into(),
        done: false,
        notes: Some("Created by the todo addon's post-init hook.".into()),
    }])?;
    env.info("todo: welcome task created");
    Ok(())
}

pulse_sdk::addon! {
    models: [Task],
    methods: [action_done, open_titles],
    post_init: welcome,
}
