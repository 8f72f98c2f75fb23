use pulse_core::internals::{check_version, subscription};
use pulse_runtime::{ApiVersion, Description};
use pulse_schema::{EventKind, EventSpec};
use serde_json::{Value, json};

fn spec(on: Vec<EventKind>, domain: Option<Value>) -> EventSpec {
    EventSpec {
        name: "watch".into(),
        model: "x.y".into(),
        on,
        domain,
        fields: Vec::new(),
    }
}

#[test]
fn subscriptions_need_an_operation_and_a_domain_that_parses() {
    let no_operation = subscription("lab", &spec(Vec::new(), None)).unwrap_err();
    assert!(
        no_operation.to_string().contains("names no operation"),
        "{no_operation}"
    );
    let bad = spec(vec![EventKind::Write], Some(json!([["a", "=="]])));
    let bad = subscription("lab", &bad).unwrap_err();
    assert!(bad.to_string().contains("has an invalid domain"), "{bad}");
    let good = spec(vec![EventKind::Create, EventKind::Create], None);
    let good = subscription("lab", &good).unwrap();
    assert_eq!((good.addon.as_str(), good.on.len()), ("lab", 1));
}

#[test]
fn an_addon_built_against_0_1_may_not_describe_events_or_a_policy() {
    let with_events = Description {
        events: vec![spec(vec![EventKind::Unlink], None)],
        ..Description::default()
    };
    let refused = check_version("old", ApiVersion::V0_1, &with_events).unwrap_err();
    assert!(
        refused.to_string().contains("pulse:addon@0.1.0"),
        "{refused}"
    );
    let with_policy = Description {
        auth_policy: true,
        ..Description::default()
    };
    assert!(check_version("old", ApiVersion::V0_1, &with_policy).is_err());
    assert!(check_version("new", ApiVersion::V0_2, &with_events).is_ok());
    assert!(check_version("old", ApiVersion::V0_1, &Description::default()).is_ok());
}
