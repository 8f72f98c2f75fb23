//! Conversions between Rust field types and Odoo's JSON values.

use pulse_schema::FieldType;
use serde_json::Value;

/// A Rust type that can hold a field's value. Odoo sends `false` for an
/// empty value of any type; `Option<T>` reads it as `None`, plain types as
/// their empty value.
pub trait FieldValue: Sized {
    /// The field type a struct field of this type declares by default.
    const TYPE: FieldType;
    /// Whether the type forbids an empty value (and so makes the field required).
    const NON_EMPTY: bool = false;
    /// Decodes an Odoo JSON value.
    fn from_json(value: &Value) -> Result<Self, String>;
    /// Encodes as an Odoo JSON value.
    fn to_json(&self) -> Value;
}

impl FieldValue for String {
    const TYPE: FieldType = FieldType::Char;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(false) | Value::Null => Ok(String::new()),
            other => Err(format!("expected text, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl FieldValue for bool {
    const TYPE: FieldType = FieldType::Boolean;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            other => Err(format!("expected a boolean, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FieldValue for i64 {
    const TYPE: FieldType = FieldType::Integer;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("expected an integer, got {n}")),
            Value::Bool(false) | Value::Null => Ok(0),
            // A many2one reads as `[id, display name]`; the id is the value.
            Value::Array(pair) if pair.len() == 2 && pair[1].is_string() => pair[0]
                .as_i64()
                .ok_or_else(|| format!("expected a record id, got {value}")),
            other => Err(format!("expected an integer, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl FieldValue for i32 {
    const TYPE: FieldType = FieldType::Integer;
    fn from_json(value: &Value) -> Result<Self, String> {
        let wide = i64::from_json(value)?;
        i32::try_from(wide).map_err(|_| format!("{wide} does not fit in 32 bits"))
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl FieldValue for f64 {
    const TYPE: FieldType = FieldType::Float;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| format!("expected a number, got {n}")),
            Value::Bool(false) | Value::Null => Ok(0.0),
            other => Err(format!("expected a number, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl FieldValue for Value {
    const TYPE: FieldType = FieldType::Json;
    fn from_json(value: &Value) -> Result<Self, String> {
        Ok(value.clone())
    }
    fn to_json(&self) -> Value {
        self.clone()
    }
}

/// Ids of x2many fields: reads as the list of ids, writes as Odoo's
/// "replace" command `[[6, 0, ids]]`.
impl FieldValue for Vec<i64> {
    const TYPE: FieldType = FieldType::Many2many;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| format!("expected record ids, got {value}"))
                })
                .collect(),
            Value::Bool(false) | Value::Null => Ok(Vec::new()),
            other => Err(format!("expected record ids, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        serde_json::json!([[6, 0, self]])
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    const TYPE: FieldType = T::TYPE;
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(false) if T::TYPE != FieldType::Boolean => Ok(None),
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
    fn to_json(&self) -> Value {
        match self {
            Some(v) => v.to_json(),
            None => Value::Bool(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn false_is_empty() {
        assert_eq!(String::from_json(&json!(false)).unwrap(), "");
        assert_eq!(Option::<String>::from_json(&json!(false)).unwrap(), None);
        assert_eq!(Option::<i64>::from_json(&json!(3)).unwrap(), Some(3));
        assert_eq!(
            Option::<bool>::from_json(&json!(false)).unwrap(),
            Some(false)
        );
        assert!(i64::from_json(&json!("x")).is_err());
        assert_eq!(i64::from_json(&json!([7, "Ana"])).unwrap(), 7);
        assert_eq!(
            Option::<i64>::from_json(&json!([7, "Ana"])).unwrap(),
            Some(7)
        );
        assert_eq!(None::<String>.to_json(), json!(false));
    }
}
