use pulse_core::internals::{diff, union};
use pulse_runtime::Description;
use pulse_schema::{FieldSpec, FieldType, ModelSpec};

fn field(name: &str, ttype: FieldType) -> FieldSpec {
    FieldSpec::new(name, ttype)
}

fn description(fields: Vec<FieldSpec>) -> Description {
    Description {
        models: vec![ModelSpec {
            name: "x.y".into(),
            description: String::new(),
            fields,
            extends: false,
            checks: Vec::new(),
        }],
        ..Description::default()
    }
}

#[test]
fn diff_finds_additions_removals_and_type_changes() {
    let old = description(vec![
        field("a", FieldType::Char),
        field("b", FieldType::Char),
    ]);
    let new = description(vec![
        field("a", FieldType::Integer),
        field("c", FieldType::Char),
    ]);
    let d = diff("a", &old, &new);
    assert_eq!(
        d.added_fields
            .iter()
            .map(|(_, f)| f.name.as_str())
            .collect::<Vec<_>>(),
        ["c"]
    );
    assert_eq!(d.removed_fields, [("x.y".to_string(), "b".to_string())]);
    assert_eq!(d.retyped_fields.len(), 1);
    assert!(d.new_models.is_empty() && d.removed_models.is_empty());
    let u = union(&old, &new);
    assert_eq!(u.models[0].fields.len(), 3);
}
