//! A to-do addon: the smallest complete Pulse addon.
//!
//! Build and run it with the demo command in the README, or on its own:
//! `pulse build todo && pulse install todo && pulse serve`.

use pulse_sdk::prelude::*;

/// How urgent a task is (an Odoo selection field).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Low
    Low,
    /// Normal
    Normal,
    /// Urgent
    Urgent,
}

/// A project tasks belong to.
#[derive(Model, Debug, Clone)]
#[model(name = "todo.project", description = "To-do Project")]
pub struct Project {
    /// The record id (not a column).
    pub id: i64,
    /// The project's name.
    #[field(required)]
    pub name: String,
    /// Archived projects are hidden.
    #[field(default = true)]
    pub active: bool,
}

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
    #[field(index, default = false)]
    pub done: bool,
    /// Free-form notes.
    #[field(kind = "text")]
    pub notes: Option<String>,
    /// How urgent it is.
    #[field(default = Priority::Normal)]
    pub priority: Priority,
    /// The project it belongs to, if any.
    pub project_id: Option<Many2one<Project>>,
}

/// Marks the tasks as done; returns `true` like Odoo's action methods.
#[method(model = "todo.task")]
pub fn action_done(env: &Env, ids: &[i64]) -> Result<bool> {
    env.model::<Task>().write(ids, Task::write().done(true))?;
    Ok(true)
}

/// Names of the open tasks whose title contains `text` (a method with an argument).
#[method(model = "todo.task")]
pub fn open_titles(env: &Env, _ids: &[i64], text: String) -> Result<Vec<String>> {
    let f = Task::fields();
    let tasks = env
        .model::<Task>()
        .search_read(&(f.done().eq(false) & f.name().ilike(&text)))?;
    Ok(tasks.into_iter().map(|t| t.name).collect())
}

/// Titles of the tasks that still need attention: not done, and either
/// urgent or in a project whose name contains `project` (`!`, `|` and a
/// path through the many2one, in one domain).
#[method(model = "todo.task")]
pub fn attention_titles(env: &Env, _ids: &[i64], project: String) -> Result<Vec<String>> {
    let f = Task::fields();
    let domain = !f.done().eq(true)
        & (f.priority().eq(Priority::Urgent) | f.project_id().name().ilike(&project));
    let tasks = env.model::<Task>().search_read(&domain)?;
    Ok(tasks.into_iter().map(|t| t.name).collect())
}

/// Creates a project and its tasks from `titles`, the first one urgent;
/// returns the project's id. Each task is a typed builder: no id, the
/// defaults (`done`, `priority`) left to the host unless set.
#[method(model = "todo.project")]
pub fn plan(env: &Env, _ids: &[i64], name: String, titles: Vec<String>) -> Result<i64> {
    let project = env
        .model::<Project>()
        .create_one(Project::create().name(&name))?;
    let tasks = titles.iter().enumerate().map(|(i, title)| {
        let task = Task::create().name(title).project_id(project);
        if i == 0 {
            task.priority(Priority::Urgent)
        } else {
            task
        }
    });
    env.model::<Task>().create(tasks)?;
    Ok(project)
}

/// A create builder that leaves out the required title: refused by the
/// SDK with an error naming the field, before the host is called.
#[method(model = "todo.task")]
pub fn create_untitled(env: &Env, _ids: &[i64]) -> Result<i64> {
    env.model::<Task>().create_one(Task::create().done(true))
}

/// Seeds a first task so a new install shows something.
fn welcome(env: &Env) -> Result<()> {
    env.model::<Task>().create_one(
        Task::create()
            .name("Try Pulse")
            .notes("Created by the todo addon's post-init hook."),
    )?;
    env.info("todo: welcome task created");
    Ok(())
}

pulse_sdk::addon! {
    models: [Project, Task],
    methods: [action_done, open_titles, attention_titles, plan, create_untitled],
    post_init: welcome,
}
