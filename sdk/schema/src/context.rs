//! Odoo's context: the dictionary every RPC call may carry (`kwargs
//! ["context"]`, JSON-2's `context` key) and every method runs under
//! (Odoo's `self.env.context`). The keys the host acts on are typed; the
//! others travel as they came, as Odoo passes them on.
//!
//! Odoo reads its flags with Python's truth value (`context.get(
//! 'active_test', True)`), so `0`, `""`, `[]` and `null` turn a flag off and
//! any other value turns it on: [`is_truthy`] is that rule. A `lang` or `tz`
//! that is not text is ignored, as Odoo ignores a language it does not
//! know. What Odoo would fail on later (a context that is no dictionary,
//! company ids that are no ids) is refused at once, and so is a context
//! past [`MAX_CONTEXT_BYTES`] or nested past [`MAX_CONTEXT_DEPTH`].

use std::fmt;

use serde_json::{Map, Value};

/// How large a context may be, as JSON text. Odoo's own contexts are a few
/// hundred bytes; this one is copied into every addon method call.
pub const MAX_CONTEXT_BYTES: usize = 64 * 1024;

/// How deeply objects and lists may nest inside a context.
pub const MAX_CONTEXT_DEPTH: usize = 32;

/// The context of a call, as Odoo passes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// The user's language (`en_US`), for translated values.
    pub lang: Option<String>,
    /// The user's time zone (`Europe/Brussels`), for dates shown to them.
    pub tz: Option<String>,
    /// Whether searches hide archived records (`active = False`); `None`
    /// when the caller did not say, which Odoo reads as `True`.
    pub active_test: Option<bool>,
    /// The companies the call works in, the current one first (Odoo's
    /// company switcher).
    pub allowed_company_ids: Vec<i64>,
    /// Every other key, as it came (`default_<field>`, `uid`, `params`, …).
    pub extra: Map<String, Value>,
}

/// Why a value is no usable context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// The context is not a dictionary (Odoo's `dict(context)` fails).
    NotADictionary(String),
    /// `allowed_company_ids` is not a list of company ids.
    CompanyIds(String),
    /// The context is larger than [`MAX_CONTEXT_BYTES`] (its size).
    TooLarge(usize),
    /// The context nests deeper than [`MAX_CONTEXT_DEPTH`].
    TooDeep,
}

impl ContextError {
    /// Whether Odoo would report it as a `TypeError` (a value of the wrong
    /// type) rather than a `ValueError` (a value out of bounds).
    pub fn is_type_error(&self) -> bool {
        matches!(
            self,
            ContextError::NotADictionary(_) | ContextError::CompanyIds(_)
        )
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::NotADictionary(got) => {
                write!(f, "The context must be a dictionary, got {got}")
            }
            ContextError::CompanyIds(got) => write!(
                f,
                "The context key 'allowed_company_ids' must be a list of company ids, got {got}"
            ),
            ContextError::TooLarge(size) => write!(
                f,
                "The context is {size} bytes long, more than the {MAX_CONTEXT_BYTES} allowed"
            ),
            ContextError::TooDeep => write!(
                f,
                "The context nests more than {MAX_CONTEXT_DEPTH} levels deep"
            ),
        }
    }
}

impl std::error::Error for ContextError {}

impl Context {
    /// Reads a context as a client sends it; `null`, `false` and an absent
    /// context are the empty one (Odoo's `context or {}`).
    pub fn from_value(value: &Value) -> Result<Context, ContextError> {
        let map = match value {
            Value::Object(map) => map,
            Value::Null | Value::Bool(false) => return Ok(Context::default()),
            other => return Err(ContextError::NotADictionary(kind_of(other))),
        };
        check_depth(value)?;
        let size = value.to_string().len();
        if size > MAX_CONTEXT_BYTES {
            return Err(ContextError::TooLarge(size));
        }
        let mut context = Context::default();
        for (key, value) in map {
            match key.as_str() {
                "lang" => context.lang = value.as_str().map(str::to_string),
                "tz" => context.tz = value.as_str().map(str::to_string),
                "active_test" => context.active_test = Some(is_truthy(value)),
                "allowed_company_ids" => context.allowed_company_ids = company_ids(value)?,
                _ => {
                    context.extra.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(context)
    }

    /// The context as Odoo's dictionary.
    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        if let Some(lang) = &self.lang {
            map.insert("lang".into(), Value::from(lang.as_str()));
        }
        if let Some(tz) = &self.tz {
            map.insert("tz".into(), Value::from(tz.as_str()));
        }
        if let Some(active_test) = self.active_test {
            map.insert("active_test".into(), Value::from(active_test));
        }
        if !self.allowed_company_ids.is_empty() {
            map.insert(
                "allowed_company_ids".into(),
                Value::from(self.allowed_company_ids.clone()),
            );
        }
        Value::Object(map)
    }

    /// Whether searches hide archived records: unless the caller said
    /// `active_test: false`.
    pub fn active_test(&self) -> bool {
        self.active_test.unwrap_or(true)
    }

    /// The current company (Odoo's `env.company`): the first allowed one.
    pub fn company_id(&self) -> Option<i64> {
        self.allowed_company_ids.first().copied()
    }
}

/// Python's truth value of a JSON value, the way Odoo tests a context flag
/// or the operand of `=?`: `null`, `false`, `0`, `""`, `[]` and `{}` are
/// false, everything else is true.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

fn company_ids(value: &Value) -> Result<Vec<i64>, ContextError> {
    match value {
        Value::Null | Value::Bool(false) => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_i64().ok_or_else(|| {
                    ContextError::CompanyIds(format!("a list holding {}", kind_of(item)))
                })
            })
            .collect(),
        other => Err(ContextError::CompanyIds(kind_of(other))),
    }
}

/// What a value is, for an error message (never the value itself: it can
/// be megabytes long).
fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a dictionary".into(),
    }
}

/// Refuses values nested deeper than [`MAX_CONTEXT_DEPTH`], without
/// recursion.
fn check_depth(value: &Value) -> Result<(), ContextError> {
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= MAX_CONTEXT_DEPTH {
            return Err(ContextError::TooDeep);
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_context_reads_as_odoo_passes_it() {
        let context = Context::from_value(&json!({
            "lang": "fr_BE",
            "tz": "Europe/Brussels",
            "active_test": false,
            "allowed_company_ids": [3, 1],
            "default_name": "x",
            "uid": 2,
        }))
        .unwrap();
        assert_eq!(context.lang.as_deref(), Some("fr_BE"));
        assert_eq!(context.tz.as_deref(), Some("Europe/Brussels"));
        assert!(!context.active_test());
        assert_eq!(context.company_id(), Some(3));
        assert_eq!(context.extra.len(), 2);
        let back = Context::from_value(&context.to_value()).unwrap();
        assert_eq!(back, context);
        assert_eq!(
            Context::from_value(&json!(null)).unwrap(),
            Context::default()
        );
        assert!(Context::default().active_test());
    }

    #[test]
    fn flags_are_read_with_pythons_truth_value() {
        for (value, active) in [
            (json!(0), false),
            (json!(""), false),
            (json!(null), false),
            (json!([]), false),
            (json!(1), true),
            (json!("false"), true),
            (json!({"a": 1}), true),
        ] {
            let context = Context::from_value(&json!({ "active_test": value })).unwrap();
            assert_eq!(context.active_test(), active, "{value}");
        }
        // A language that is no text is no language.
        let context = Context::from_value(&json!({"lang": 42, "tz": ["UTC"]})).unwrap();
        assert_eq!((context.lang, context.tz), (None, None));
    }

    #[test]
    fn hostile_contexts_are_refused_by_name() {
        let error = Context::from_value(&json!("abc")).unwrap_err();
        assert!(error.is_type_error());
        assert_eq!(
            error.to_string(),
            "The context must be a dictionary, got a string"
        );
        let error = Context::from_value(&json!({"allowed_company_ids": "1"})).unwrap_err();
        assert!(
            error.to_string().contains("'allowed_company_ids'"),
            "{error}"
        );
        let huge = "x".repeat(MAX_CONTEXT_BYTES);
        let error = Context::from_value(&json!({ "note": huge })).unwrap_err();
        assert!(matches!(error, ContextError::TooLarge(_)));
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let error = Context::from_value(&json!({ "deep": deep })).unwrap_err();
        assert_eq!(error, ContextError::TooDeep);
        let mut within = json!(1);
        for _ in 0..MAX_CONTEXT_DEPTH - 1 {
            within = json!([within]);
        }
        Context::from_value(&json!({ "deep": within })).unwrap();
    }
}
