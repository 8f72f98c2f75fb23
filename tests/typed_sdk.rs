//! The SDK's typed API through the compiled `todo` example, over JSON-RPC,
//! on SQLite and PostgreSQL: create builders (with the host's defaults for
//! what they leave out), a `#[derive(Selection)]` field, a `Many2one<T>`
//! field whose relation comes from its type, and a typed domain with `!`,
//! `|` and a path through the many2one.

use pulse_testing::{Backend, Pulse, Rpc, build_addons};
use serde_json::{Value, json};

fn call(rpc: &mut Rpc, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
    rpc.call(model, method, args, kwargs)
        .unwrap_or_else(|e| panic!("{model}.{method}: {e}"))
}

fn typed_sdk(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["examples"]);
    pulse.ok(&["install", "todo"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);

    // What the derive told the host: kinds, relation, options and defaults
    // inferred from the Rust types and values.
    let fields = call(
        &mut rpc,
        "todo.task",
        "fields_get",
        json!([]),
        json!({"attributes": ["type", "relation", "selection", "required"]}),
    );
    assert_eq!(fields["project_id"]["type"], "many2one", "{fields}");
    assert_eq!(fields["project_id"]["relation"], "todo.project");
    assert_eq!(fields["priority"]["type"], "selection");
    assert_eq!(
        fields["priority"]["selection"],
        json!([["low", "Low"], ["normal", "Normal"], ["urgent", "Urgent"]])
    );
    let defaults = call(
        &mut rpc,
        "todo.task",
        "default_get",
        json!([["priority", "done"]]),
        json!({}),
    );
    assert_eq!(defaults, json!({"priority": "normal", "done": false}));

    // Builders inside the addon: a project and its tasks, the first urgent.
    let home = call(
        &mut rpc,
        "todo.project",
        "plan",
        json!([[], "Home", ["Fix roof", "Paint fence"]]),
        json!({}),
    );
    let work = call(
        &mut rpc,
        "todo.project",
        "plan",
        json!([[], "Work", ["Write report"]]),
        json!({}),
    );
    let planned = call(
        &mut rpc,
        "todo.task",
        "search_read",
        json!([[["project_id", "!=", false]]]),
        json!({"fields": ["name", "priority", "done", "project_id"], "order": "id"}),
    );
    let rows: Vec<(Value, Value, Value, Value)> = planned
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].clone(),
                r["priority"].clone(),
                r["done"].clone(),
                r["project_id"][0].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                json!("Fix roof"),
                json!("urgent"),
                json!(false),
                home.clone()
            ),
            (json!("Paint fence"), json!("normal"), json!(false), home),
            (json!("Write report"), json!("urgent"), json!(false), work),
        ],
        "the builders' values, and the host's defaults for the rest"
    );

    // Tasks from outside: one urgent without a project, one plain.
    call(
        &mut rpc,
        "todo.task",
        "create",
        json!([[{"name": "Urgent call", "priority": "urgent"}, {"name": "Read book"}]]),
        json!({}),
    );
    let roof = call(
        &mut rpc,
        "todo.task",
        "search",
        json!([[["name", "=", "Fix roof"]]]),
        json!({}),
    );
    call(
        &mut rpc,
        "todo.task",
        "action_done",
        json!([roof]),
        json!({}),
    );

    // not done AND (urgent OR project name ilike "hom"): the done urgent
    // roof, the plain book and the seeded welcome task stay out.
    let attention = call(
        &mut rpc,
        "todo.task",
        "attention_titles",
        json!([[], "hom"]),
        json!({}),
    );
    assert_eq!(
        attention,
        json!(["Paint fence", "Write report", "Urgent call"])
    );
    let attention = call(
        &mut rpc,
        "todo.task",
        "attention_titles",
        json!([[]]),
        json!({"project": "WORK"}),
    );
    assert_eq!(attention, json!(["Write report", "Urgent call"]));

    // A selection value the enum does not have is refused by the host.
    let e = rpc
        .call(
            "todo.task",
            "create",
            json!([{"name": "Odd", "priority": "someday"}]),
            json!({}),
        )
        .unwrap_err();
    assert_eq!(e["data"]["name"], "odoo.exceptions.ValidationError", "{e}");

    // A builder without its required title: refused inside the addon,
    // naming the field, and nothing is created.
    let before = call(
        &mut rpc,
        "todo.task",
        "search_count",
        json!([[]]),
        json!({}),
    );
    let e = rpc
        .call("todo.task", "create_untitled", json!([[]]), json!({}))
        .unwrap_err();
    assert_eq!(e["data"]["name"], "odoo.exceptions.ValidationError", "{e}");
    let message = e["data"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'name'") && message.contains("Task::create().name"),
        "{message}"
    );
    let after = call(
        &mut rpc,
        "todo.task",
        "search_count",
        json!([[]]),
        json!({}),
    );
    assert_eq!(before, after);
}

#[test]
fn typed_sdk_on_sqlite() {
    typed_sdk(Backend::Sqlite);
}

#[test]
fn typed_sdk_on_postgres() {
    typed_sdk(Backend::Postgres);
}
