//! The context as it crosses the WIT boundary of `pulse:addon@0.2`: the
//! typed keys as fields of the `context` record, every other key as JSON
//! object text. The host and the SDK both convert through here, so the two
//! ends read it the same way.

use serde_json::{Map, Value};

use crate::{Context, ContextError};

/// The fields of the WIT `context` record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireContext {
    /// `lang`.
    pub lang: Option<String>,
    /// `tz`.
    pub tz: Option<String>,
    /// `active_test`, when the caller said.
    pub active_test: Option<bool>,
    /// The current company: the first of `allowed_company_ids`.
    pub company_id: Option<i64>,
    /// Every other key, a JSON object; with `allowed_company_ids` when
    /// there are several companies, so none is lost on the way.
    pub extra: String,
}

impl Context {
    /// The context as the WIT record carries it.
    pub fn to_wire(&self) -> WireContext {
        let mut extra = self.extra.clone();
        if self.allowed_company_ids.len() > 1 {
            extra.insert(
                "allowed_company_ids".into(),
                Value::from(self.allowed_company_ids.clone()),
            );
        }
        WireContext {
            lang: self.lang.clone(),
            tz: self.tz.clone(),
            active_test: self.active_test,
            company_id: self.company_id(),
            extra: Value::Object(extra).to_string(),
        }
    }

    /// The context a WIT record carries, checked as a client's is
    /// ([`Context::from_value`]); the typed fields win over free keys of
    /// the same name.
    pub fn from_wire(wire: WireContext) -> Result<Context, ContextError> {
        let mut map: Map<String, Value> = if wire.extra.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str(&wire.extra) {
                Ok(Value::Object(map)) => map,
                _ => {
                    return Err(ContextError::NotADictionary(
                        "free keys that are no JSON object".into(),
                    ));
                }
            }
        };
        for (key, value) in [
            ("lang", wire.lang.map(Value::from)),
            ("tz", wire.tz.map(Value::from)),
            ("active_test", wire.active_test.map(Value::from)),
        ] {
            match value {
                Some(value) => map.insert(key.into(), value),
                None => map.remove(key),
            };
        }
        if let Some(company) = wire.company_id {
            let others: Vec<Value> = map
                .get("allowed_company_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter(|id| id.as_i64() != Some(company))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut ids = vec![Value::from(company)];
            ids.extend(others);
            map.insert("allowed_company_ids".into(), Value::Array(ids));
        }
        Context::from_value(&Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_context_crosses_the_wit_boundary_and_back() {
        let context = Context::from_value(&json!({
            "lang": "fr_BE", "tz": "Europe/Brussels", "active_test": false,
            "allowed_company_ids": [3, 1], "default_name": "x",
        }))
        .unwrap();
        let wire = context.to_wire();
        assert_eq!(wire.company_id, Some(3));
        assert_eq!(Context::from_wire(wire).unwrap(), context);
        let single = Context::from_value(&json!({"allowed_company_ids": [2]})).unwrap();
        assert_eq!(single.to_wire().extra, "{}");
        assert_eq!(Context::from_wire(single.to_wire()).unwrap(), single);
        assert_eq!(
            Context::from_wire(WireContext::default()).unwrap(),
            Context::default()
        );
        let bad = WireContext {
            extra: "[1]".into(),
            ..WireContext::default()
        };
        assert!(Context::from_wire(bad).is_err());
    }
}
