//! Conversions between Rust field types and Odoo's JSON values, and the
//! values a builder or a domain accepts for a field of each type.

use pulse_schema::FieldType;
use serde_json::Value;

use crate::domain::Field;

/// A Rust type that can hold a field's value. Odoo sends `false` for an
/// empty value of any type; `Option<T>` reads it as `None`, plain types as
/// their empty value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a type a Pulse model field can have",
    label = "not a field type",
    note = "fields are String, bool, i64, i32, f64, serde_json::Value, Option<…> of these, \
            Many2one<M>, One2many<M>, Many2many<M>, Vec<i64> (x2many ids) or a #[derive(Selection)] enum"
)]
pub trait FieldValue: Sized {
    /// The field type a struct field of this type declares by default.
    const TYPE: FieldType;
    /// Whether the type forbids an empty value (and so makes the field required).
    const NON_EMPTY: bool = false;
    /// The model a relational type points to (`Many2one<M>` gives `M::NAME`).
    const RELATION: Option<&'static str> = None;
    /// The `(value, label)` pairs of a selection type (a `#[derive(Selection)]` enum).
    const SELECTION: &'static [(&'static str, &'static str)] = &[];
    /// What a typed field path of this type is: [`Field`] for plain
    /// values, [`Related`](crate::Related) for relations (which reach
    /// the fields of the related model).
    type Path;
    /// The path to a field of this type, e.g. `"partner_id.name"`.
    fn path(path: String) -> Self::Path;
    /// Decodes an Odoo JSON value.
    fn from_json(value: &Value) -> Result<Self, String>;
    /// Encodes as an Odoo JSON value.
    fn to_json(&self) -> Value;
}

impl FieldValue for String {
    type Path = Field<String>;
    fn path(path: String) -> Field<String> {
        Field::new(path)
    }
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
    type Path = Field<bool>;
    fn path(path: String) -> Field<bool> {
        Field::new(path)
    }
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
    type Path = Field<i64>;
    fn path(path: String) -> Field<i64> {
        Field::new(path)
    }
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
    type Path = Field<i32>;
    fn path(path: String) -> Field<i32> {
        Field::new(path)
    }
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
    type Path = Field<f64>;
    fn path(path: String) -> Field<f64> {
        Field::new(path)
    }
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
    type Path = Field<Value>;
    fn path(path: String) -> Field<Value> {
        Field::new(path)
    }
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
    /// A domain on an x2many compares one id (`tag_ids = 5`: contains 5).
    type Path = Field<i64>;
    fn path(path: String) -> Field<i64> {
        Field::new(path)
    }
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
    type Path = T::Path;
    fn path(path: String) -> T::Path {
        T::path(path)
    }
    const TYPE: FieldType = T::TYPE;
    const RELATION: Option<&'static str> = T::RELATION;
    const SELECTION: &'static [(&'static str, &'static str)] = T::SELECTION;
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

/// A value a builder setter or a domain accepts for a field of type `T`:
/// `T` itself, and the obvious conversions (`&str` for text, a bare value
/// for an `Option`, an id for a `Many2one`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a `{T}` field",
    label = "expected a value of type `{T}`",
    note = "defaults and builder values are Rust values of the field's type, e.g. default = false, default = 1.5, default = \"text\", default = State::Draft"
)]
pub trait IntoField<T> {
    /// The value as the field's type.
    fn into_field(self) -> T;
}

impl<T: FieldValue> IntoField<T> for T {
    fn into_field(self) -> T {
        self
    }
}

impl<T: FieldValue> IntoField<Option<T>> for T {
    fn into_field(self) -> Option<T> {
        Some(self)
    }
}

impl IntoField<String> for &str {
    fn into_field(self) -> String {
        self.to_string()
    }
}

impl IntoField<Option<String>> for &str {
    fn into_field(self) -> Option<String> {
        Some(self.to_string())
    }
}

impl IntoField<String> for &String {
    fn into_field(self) -> String {
        self.clone()
    }
}

impl IntoField<Option<String>> for &String {
    fn into_field(self) -> Option<String> {
        Some(self.clone())
    }
}

impl IntoField<Option<String>> for Option<&str> {
    fn into_field(self) -> Option<String> {
        self.map(str::to_string)
    }
}

impl IntoField<Vec<i64>> for &[i64] {
    fn into_field(self) -> Vec<i64> {
        self.to_vec()
    }
}

impl IntoField<Vec<i64>> for &Vec<i64> {
    fn into_field(self) -> Vec<i64> {
        self.clone()
    }
}

/// The JSON of `value` as a field of type `T` (what builders, defaults and
/// domains send).
pub(crate) fn json_of<T: FieldValue>(value: impl IntoField<T>) -> Value {
    value.into_field().to_json()
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
