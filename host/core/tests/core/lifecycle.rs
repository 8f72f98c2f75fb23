use std::sync::Arc;

use pulse_core::internals::{InstalledModule, Modules};
use pulse_runtime::Description;
use pulse_schema::{FieldSpec, FieldType, ModelSpec};

fn module(name: &str, depends: &[&str], models: Vec<ModelSpec>) -> InstalledModule {
    InstalledModule {
        name: name.to_string(),
        version: "1.0.0".to_string(),
        depends: depends.iter().map(|d| d.to_string()).collect(),
        description: Description {
            models,
            ..Description::default()
        },
        sequence: 0,
    }
}

fn model(name: &str, extends: bool, field: &str) -> ModelSpec {
    ModelSpec {
        name: name.to_string(),
        description: String::new(),
        fields: vec![FieldSpec::new(field, FieldType::Char)],
        extends,
        checks: Vec::new(),
    }
}

/// What an install step does to the modules: reads the registry
/// for its describe call, its hooks, its data files and computed
/// fields, and changes the modules once. One build to start, one
/// per change, none for a read.
#[test]
fn the_registry_is_built_once_per_change_and_never_for_a_read() {
    let todo = module("todo", &[], vec![model("todo.task", false, "name")]);
    let mut modules = Modules::new(vec![todo]).unwrap();
    assert_eq!(modules.builds(), 1);
    let first = modules.registry().clone();
    for _ in 0..4 {
        assert!(
            Arc::ptr_eq(&first, modules.registry()),
            "a read builds nothing"
        );
    }
    assert_eq!(modules.builds(), 1);

    let extension = module(
        "todo_note",
        &["todo"],
        vec![model("todo.task", true, "note")],
    );
    modules.change(|list| list.push(extension)).unwrap();
    assert_eq!(modules.builds(), 2);
    let task = modules.registry().get("todo.task").unwrap();
    assert!(
        task.field("note").is_some(),
        "the change is in the new registry"
    );
    assert!(first.get("todo.task").unwrap().field("note").is_none());

    modules
        .change(|list| list.retain(|m| m.name != "todo_note"))
        .unwrap();
    assert_eq!(modules.builds(), 3);
    let task = modules.registry().get("todo.task").unwrap();
    assert!(
        task.field("note").is_none(),
        "the removal is in the new registry"
    );
}

/// A change the registry refuses fails the step that made it.
#[test]
fn a_change_to_an_invalid_registry_fails() {
    let mut modules = Modules::new(Vec::new()).unwrap();
    let orphan = module("orphan", &[], vec![model("nobody.defines", true, "x")]);
    assert!(modules.change(|list| list.push(orphan)).is_err());
}
