//! How the ORM's methods read their arguments: positional or by keyword, as
//! Odoo's `call_kw` passes them, with the errors a client gets for values
//! of the wrong shape. A leaf: the dispatcher and the web methods both
//! use it.

use pulse_orm::{Domain, Record, SearchOptions};
use serde_json::{Map, Value};

use crate::failure::CallFailure;

/// Positional argument `index`, or keyword argument `name`.
pub fn argument<'a>(
    args: &'a [Value],
    kwargs: &'a Map<String, Value>,
    index: usize,
    name: &str,
) -> Option<&'a Value> {
    args.get(index)
        .or_else(|| kwargs.get(name))
        .filter(|v| !v.is_null())
}

pub(crate) fn ids_of(value: Option<&Value>) -> Result<Vec<i64>, CallFailure> {
    match value {
        None | Some(Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|i| vec![i])
            .ok_or_else(|| CallFailure::BadArgument(format!("invalid record id {n}"))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| CallFailure::BadArgument(format!("invalid record id {v}")))
            })
            .collect(),
        Some(other) => Err(CallFailure::BadArgument(format!(
            "expected record ids, got {other}"
        ))),
    }
}

pub(crate) fn fields_of(value: Option<&Value>) -> Result<Vec<String>, CallFailure> {
    match value {
        None | Some(Value::Bool(false)) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| CallFailure::BadArgument(format!("invalid field name {v}")))
            })
            .collect(),
        Some(other) => Err(CallFailure::BadArgument(format!(
            "expected a list of field names, got {other}"
        ))),
    }
}

/// `offset`, `limit` and `order` from argument `first` on (or by keyword).
pub(crate) fn search_options(
    args: &[Value],
    kwargs: &Map<String, Value>,
    first: usize,
) -> Result<SearchOptions, CallFailure> {
    let number = |v: Option<&Value>, what: &str| -> Result<Option<u32>, CallFailure> {
        match v {
            None | Some(Value::Bool(false)) => Ok(None),
            // Past what any table holds, a number means "all of them", as in Odoo.
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|n| Some(u32::try_from(n).unwrap_or(u32::MAX)))
                .ok_or_else(|| CallFailure::BadArgument(format!("invalid {what} {n}"))),
            Some(other) => Err(CallFailure::BadArgument(format!("invalid {what} {other}"))),
        }
    };
    Ok(SearchOptions {
        offset: number(argument(args, kwargs, first, "offset"), "offset")?.unwrap_or(0),
        // Odoo reads a limit of 0 as no limit.
        limit: number(argument(args, kwargs, first + 1, "limit"), "limit")?.filter(|l| *l > 0),
        order: match argument(args, kwargs, first + 2, "order") {
            None | Some(Value::Bool(false)) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(CallFailure::BadArgument(format!("invalid order {other}")));
            }
        },
    })
}

pub(crate) fn record_of(value: Option<&Value>) -> Result<Record, CallFailure> {
    match value {
        Some(Value::Object(values)) => Ok(values.clone()),
        other => Err(CallFailure::BadArgument(format!(
            "expected a dictionary of field values, got {}",
            other.unwrap_or(&Value::Null)
        ))),
    }
}

pub(crate) fn domain_of(value: Option<&Value>) -> Result<Domain, CallFailure> {
    match value {
        None => Ok(Domain::all()),
        Some(v) => Domain::parse(v).map_err(CallFailure::Orm),
    }
}
