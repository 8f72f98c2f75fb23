//! Odoo JSON values <-> SQL parameters and columns, by field type.

use std::collections::HashMap;

use pulse_schema::FieldType;
use serde_json::{Map, Value};
use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, Row, ValueRef};

use crate::error::OrmError;
use crate::registry::{FieldDef, ModelDef};

/// A record as Odoo's JSON-RPC shows it: field name to value, `id` included.
pub type Record = Map<String, Value>;

/// The ids of `records`, in order (a record without one is skipped).
pub(crate) fn record_ids(records: &[Record]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_i64))
        .collect()
}

/// Sets `field` of each of `records` to its value in `values` (by id), or
/// to `missing()` where `values` has none.
pub(crate) fn fill_field<V: Clone + Into<Value>>(
    records: &mut [Record],
    field: &str,
    values: HashMap<i64, V>,
    missing: impl Fn() -> Value,
) {
    for record in records.iter_mut() {
        let id = record.get("id").and_then(Value::as_i64).unwrap_or_default();
        let value = values.get(&id).cloned().map_or_else(&missing, Into::into);
        record.insert(field.to_string(), value);
    }
}

/// A value ready to bind, typed so a NULL carries its column type (which
/// PostgreSQL needs).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// NULL of a text column.
    NullText,
    /// NULL of an integer column.
    NullInt,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
}

/// Binds `value` to the next parameter of `query`.
pub fn bind<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    value: SqlValue,
) -> Query<'q, Any, AnyArguments<'q>> {
    match value {
        SqlValue::NullText => query.bind(None::<String>),
        SqlValue::NullInt => query.bind(None::<i64>),
        SqlValue::Bool(b) => query.bind(b),
        SqlValue::Int(i) => query.bind(i),
        SqlValue::Float(f) => query.bind(f),
        SqlValue::Text(s) => query.bind(s),
    }
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::Null | Value::Bool(false))
}

/// Converts a value written to `field` of `model` into a parameter,
/// rejecting values of the wrong type with a message naming the field.
pub fn to_sql(model: &ModelDef, field: &FieldDef, value: &Value) -> Result<SqlValue, OrmError> {
    let wrong = |expected: &str| {
        OrmError::validation(format!(
            "Wrong value for {}.{}: {} (expected {expected})",
            model.name,
            field.name(),
            value
        ))
    };
    if let Value::String(s) = value {
        check_text(model, field, s)?;
    }
    Ok(match field.ttype() {
        FieldType::Char | FieldType::Text | FieldType::Html => match value {
            v if is_empty(v) => SqlValue::NullText,
            Value::String(s) => SqlValue::Text(s.clone()),
            Value::Number(n) => SqlValue::Text(n.to_string()),
            _ => return Err(wrong("text")),
        },
        FieldType::Selection => match value {
            v if is_empty(v) => SqlValue::NullText,
            Value::String(s) => {
                let allowed = &field.spec.selection;
                if !allowed.is_empty() && !allowed.iter().any(|(key, _)| key == s) {
                    let keys: Vec<&str> = allowed.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(wrong(&format!("one of {keys:?}")));
                }
                SqlValue::Text(s.clone())
            }
            _ => return Err(wrong("a selection value")),
        },
        FieldType::Date => match value {
            v if is_empty(v) => SqlValue::NullText,
            Value::String(s) if is_date(s) => SqlValue::Text(s.clone()),
            _ => return Err(wrong("a date YYYY-MM-DD")),
        },
        FieldType::Datetime => match value {
            v if is_empty(v) => SqlValue::NullText,
            // Stored with a space, as Odoo writes them, so text order is time order.
            Value::String(s) if is_datetime(s) => SqlValue::Text(s.replacen('T', " ", 1)),
            _ => return Err(wrong("a datetime YYYY-MM-DD HH:MM:SS")),
        },
        FieldType::Integer => match value {
            v if is_empty(v) => SqlValue::Int(0),
            Value::Number(n) => SqlValue::Int(n.as_i64().ok_or_else(|| wrong("an integer"))?),
            Value::Bool(true) => SqlValue::Int(1),
            _ => return Err(wrong("an integer")),
        },
        FieldType::Float | FieldType::Monetary => match value {
            v if is_empty(v) => SqlValue::Float(0.0),
            Value::Number(n) => {
                let number = n.as_f64().ok_or_else(|| wrong("a number"))?;
                SqlValue::Float(match field.spec.digits {
                    // Rounded to the field's scale, as Odoo does on write.
                    Some((_, scale)) => round_to(number, scale),
                    None => number,
                })
            }
            _ => return Err(wrong("a number")),
        },
        FieldType::Boolean => match value {
            Value::Null => SqlValue::Bool(false),
            Value::Bool(b) => SqlValue::Bool(*b),
            Value::Number(n) => SqlValue::Bool(n.as_i64() != Some(0)),
            _ => return Err(wrong("a boolean")),
        },
        FieldType::Many2one => match value {
            v if is_empty(v) => SqlValue::NullInt,
            Value::Number(n) => SqlValue::Int(n.as_i64().ok_or_else(|| wrong("a record id"))?),
            Value::Array(pair) if !pair.is_empty() => match pair[0].as_i64() {
                Some(id) => SqlValue::Int(id),
                None => return Err(wrong("a record id")),
            },
            _ => return Err(wrong("a record id")),
        },
        FieldType::Json => match value {
            v if is_empty(v) => SqlValue::NullText,
            // serde_json writes a NUL inside a string as `\u0000`, which
            // PostgreSQL refuses in text as it refuses the byte itself.
            other if has_nul(other) => {
                return Err(nul_refused(model, field));
            }
            other => SqlValue::Text(other.to_string()),
        },
        FieldType::One2many | FieldType::Many2many => {
            return Err(wrong("x2many commands, which are no column value"));
        }
        FieldType::Binary => match value {
            v if is_empty(v) => SqlValue::NullText,
            Value::String(s) if is_base64(s) => SqlValue::Text(s.clone()),
            _ => return Err(wrong("base64 text")),
        },
    })
}

/// `value` rounded half away from zero to `scale` decimals, as Odoo's
/// `float_round` does: nudged by one unit in the last place first, so 2.675
/// (2.67499… in binary) rounds as written.
pub fn round_to(value: f64, scale: u32) -> f64 {
    let factor = 10f64.powi(scale.min(15) as i32);
    let normalized = value * factor;
    if normalized == 0.0 || !normalized.is_finite() {
        return value;
    }
    let epsilon = 2f64.powf(normalized.abs().log2() - 52.0);
    (normalized + normalized.signum() * epsilon).round() / factor
}

/// Standard base64 with padding, as Odoo sends binary values.
fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len().is_multiple_of(4)
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Refuses a NUL character in text given for `field`: PostgreSQL refuses
/// it in a text column while SQLite stores it, and the same value must
/// meet the same answer on both engines.
pub(crate) fn check_text(model: &ModelDef, field: &FieldDef, text: &str) -> Result<(), OrmError> {
    if text.contains('\0') {
        return Err(nul_refused(model, field));
    }
    Ok(())
}

fn nul_refused(model: &ModelDef, field: &FieldDef) -> OrmError {
    OrmError::validation(format!(
        "Wrong value for {}.{}: text may not contain the NUL character (\\x00)",
        model.name,
        field.name()
    ))
}

/// Whether a NUL character is anywhere in `value` (keys included).
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// `YYYY-MM-DD` naming a day of the calendar (no month 13, no 30 February).
pub fn is_date(s: &str) -> bool {
    calendar_date(s).is_some()
}

/// The day a `YYYY-MM-DD` text names, if it is one.
pub(crate) fn calendar_date(s: &str) -> Option<time::Date> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    let month = time::Month::try_from(s[5..7].parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(s[..4].parse().ok()?, month, s[8..10].parse().ok()?).ok()
}

/// `YYYY-MM-DD HH:MM:SS` (or with a `T`) naming a real day and time of day.
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let shaped = b.len() == 19
        && s.is_char_boundary(10)
        && is_date(&s[..10])
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && b[16] == b':'
        && b[11..]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    let part = |range: std::ops::Range<usize>| s[range].parse::<u8>().ok();
    shaped
        && matches!(
            (part(11..13), part(14..16), part(17..19)),
            (Some(h), Some(m), Some(sec)) if time::Time::from_hms(h, m, sec).is_ok()
        )
}

/// Above this many values an `in` list binds as one JSON array parameter
/// instead of one parameter each: SQLite takes at most 32,766 parameters
/// in a statement and PostgreSQL 65,535, and a domain may hold several lists.
pub(crate) const IN_LIST_PARAMS: usize = 1000;

/// `IN (…)` over `values` bound as one JSON array parameter (see
/// [`IN_LIST_PARAMS`]), unpacked by the database: `json_each` on SQLite,
/// `jsonb_array_elements_text` cast to the values' type on PostgreSQL.
pub(crate) fn in_json_list(
    dialect: crate::dialect::Dialect,
    values: Vec<SqlValue>,
    params: &mut Vec<SqlValue>,
) -> String {
    let cast = match values.first() {
        Some(SqlValue::Int(_) | SqlValue::NullInt) => "BIGINT",
        Some(SqlValue::Float(_)) => "DOUBLE PRECISION",
        Some(SqlValue::Bool(_)) => "BOOLEAN",
        _ => "TEXT",
    };
    let items: Vec<Value> = values
        .into_iter()
        .map(|v| match v {
            SqlValue::Int(i) => Value::from(i),
            SqlValue::Float(f) => Value::from(f),
            SqlValue::Bool(b) => Value::from(b),
            SqlValue::Text(t) => Value::from(t),
            SqlValue::NullText | SqlValue::NullInt => Value::Null,
        })
        .collect();
    params.push(SqlValue::Text(Value::Array(items).to_string()));
    let param = dialect.param(params.len());
    match dialect {
        crate::dialect::Dialect::Sqlite => format!("SELECT value FROM json_each({param})"),
        crate::dialect::Dialect::Postgres => {
            format!("SELECT CAST(jsonb_array_elements_text(CAST({param} AS JSONB)) AS {cast})")
        }
    }
}

/// What `read` gives for an empty value of `field`.
pub(crate) fn empty_value(field: &FieldDef) -> Value {
    match field.ttype() {
        FieldType::Integer => Value::from(0),
        FieldType::Float | FieldType::Monetary => Value::from(0.0),
        FieldType::One2many | FieldType::Many2many => Value::Array(Vec::new()),
        _ => Value::Bool(false),
    }
}

/// The field types held as text their value reads as (dates and
/// datetimes included: they are ISO text on both engines), as a pattern.
macro_rules! text_types {
    () => {
        FieldType::Char
            | FieldType::Text
            | FieldType::Html
            | FieldType::Selection
            | FieldType::Date
            | FieldType::Datetime
    };
}
pub(crate) use text_types;

/// Reads column `index` of `row` as the Odoo JSON value of `field`
/// (many2one as the bare id; the caller adds display names).
pub fn from_row(row: &AnyRow, index: usize, field: &FieldDef) -> Result<Value, OrmError> {
    Ok(match field.ttype() {
        text_types!() | FieldType::Binary => match row.try_get::<Option<String>, _>(index)? {
            Some(s) => Value::String(s),
            None => Value::Bool(false),
        },
        FieldType::Integer => Value::from(row.try_get::<Option<i64>, _>(index)?.unwrap_or(0)),
        FieldType::Float | FieldType::Monetary => Value::from(float_at(row, index)?.unwrap_or(0.0)),
        FieldType::Boolean => Value::Bool(bool_at(row, index)?.unwrap_or(false)),
        FieldType::Many2one => match row.try_get::<Option<i64>, _>(index)? {
            Some(id) => Value::from(id),
            None => Value::Bool(false),
        },
        FieldType::Json => match row.try_get::<Option<String>, _>(index)? {
            Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            None => Value::Bool(false),
        },
        // Read separately, from the related table (see x2many).
        FieldType::One2many | FieldType::Many2many => Value::Array(Vec::new()),
    })
}

/// The kind of value in column `index` (decided per value on SQLite).
fn kind_at(row: &AnyRow, index: usize) -> Result<AnyTypeInfoKind, sqlx::Error> {
    let raw = row.try_get_raw(index)?;
    Ok(if raw.is_null() {
        AnyTypeInfoKind::Null
    } else {
        raw.type_info().kind()
    })
}

/// A column value SQLite rendered as JSON (`json_object`), as the Odoo
/// JSON value of `field` — what [`from_row`] gives for the same column.
pub fn from_json_column(value: Value, field: &FieldDef) -> Value {
    match (field.ttype(), value) {
        (FieldType::Boolean, Value::Number(n)) => Value::Bool(n.as_i64() != Some(0)),
        (FieldType::Boolean, Value::Null) => Value::Bool(false),
        (FieldType::Integer, Value::Null) => Value::from(0),
        (FieldType::Float | FieldType::Monetary, Value::Number(n)) => {
            Value::from(n.as_f64().unwrap_or(0.0))
        }
        (FieldType::Float | FieldType::Monetary, Value::Null) => Value::from(0.0),
        (FieldType::Json, Value::String(text)) => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        (_, Value::Null) => Value::Bool(false),
        (_, value) => value,
    }
}

/// SQLite holds booleans as 0/1 integers. The value's kind picks the
/// decoder, so no failed decode (and its error) is paid per row.
pub fn bool_at(row: &AnyRow, index: usize) -> Result<Option<bool>, sqlx::Error> {
    match kind_at(row, index)? {
        AnyTypeInfoKind::Null => Ok(None),
        AnyTypeInfoKind::Bool => row.try_get(index),
        _ => Ok(row.try_get::<Option<i64>, _>(index)?.map(|i| i != 0)),
    }
}

/// SQLite may hand back a whole number of a REAL column as an integer.
fn float_at(row: &AnyRow, index: usize) -> Result<Option<f64>, sqlx::Error> {
    match kind_at(row, index)? {
        AnyTypeInfoKind::Null => Ok(None),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Ok(row.try_get::<Option<i64>, _>(index)?.map(|i| i as f64))
        }
        _ => row.try_get(index),
    }
}
