use pulse_core::auth::{API_KEY_MODEL, USERS_MODEL};
use pulse_core::internals::{MODULE_MODEL, UPGRADE_WIZARD, alias, host_method, take_pseudo_fields};
use pulse_orm::Record;

#[test]
fn the_table_answers_for_its_models_only() {
    assert_eq!(alias(API_KEY_MODEL, "remove"), Some("unlink"));
    assert_eq!(alias(API_KEY_MODEL, "unlink"), None);
    assert_eq!(alias("res.partner", "remove"), None);
    assert!(host_method(MODULE_MODEL, "button_install").is_some());
    assert!(host_method(MODULE_MODEL, "read").is_none());
    assert!(host_method(UPGRADE_WIZARD, "anything").is_some());
    assert!(host_method("res.partner", "write").is_none());
    assert!(host_method(USERS_MODEL, "context_get").is_some());
    assert!(host_method(USERS_MODEL, "write").is_none());
    let row: Record =
        serde_json::from_value(serde_json::json!({"name": "A", "password": "pw"})).unwrap();
    let (rows, taken) = take_pseudo_fields(USERS_MODEL, vec![row.clone()]).unwrap();
    assert_eq!(
        (rows[0].get("password"), taken),
        (None, vec![Some("pw".to_string())])
    );
    let (rows, taken) = take_pseudo_fields("res.partner", vec![row]).unwrap();
    assert!(rows[0].contains_key("password") && taken.is_empty());
}
