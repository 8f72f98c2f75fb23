//! Search domains in Odoo's prefix notation, and typed field paths.
//!
//! Leaves come from a model's typed paths (`Task::fields().done().eq(true)`)
//! or from [`Domain::leaf`]; `&`, `|` and `!` combine domains as Odoo's
//! `expression.AND`, `OR` and `NOT` do, with the `"&"`, `"|"` and `"!"`
//! operators written out in prefix notation.
//!
//! ```
//! use pulse_sdk::{Domain, json};
//! let done = Domain::leaf("done", "=", json!(true));
//! let milk = Domain::leaf("name", "ilike", json!("milk"));
//! assert_eq!((done.clone() | milk.clone()).to_json(), r#"["|",["done","=",true],["name","ilike","milk"]]"#);
//! assert_eq!((!done.clone()).to_json(), r#"["!",["done","=",true]]"#);
//! assert_eq!((done & milk).to_json(), r#"["&",["done","=",true],["name","ilike","milk"]]"#);
//! ```

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use serde_json::Value;

use crate::field::{FieldValue, IntoField, json_of};

/// A search domain in Odoo's syntax: a list of terms in prefix notation,
/// whose top-level terms are AND-ed. Build it from typed field paths and
/// `&`, `|`, `!`, with [`domain!`](crate::domain), or with [`Domain::leaf`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    terms: Vec<Value>,
    /// How many expressions the top level holds (Odoo ANDs them).
    roots: usize,
}

impl Domain {
    /// The domain that matches every record (`[]`).
    pub fn all() -> Domain {
        Domain::default()
    }

    /// The domain that matches no record.
    pub fn none() -> Domain {
        Domain::leaf("id", "in", Value::Array(Vec::new()))
    }

    /// The single leaf `(field, operator, value)`.
    pub fn leaf(field: &str, operator: &str, value: Value) -> Domain {
        Domain {
            terms: vec![Value::Array(vec![
                Value::String(field.to_string()),
                Value::String(operator.to_string()),
                value,
            ])],
            roots: 1,
        }
    }

    /// Adds the leaf `(field, operator, value)`, AND-ed with the rest
    /// (implicitly, as `domain!` writes it).
    pub fn and(mut self, field: &str, operator: &str, value: Value) -> Domain {
        let leaf = Domain::leaf(field, operator, value);
        self.terms.extend(leaf.terms);
        self.roots += 1;
        self
    }

    /// Whether this is the domain that matches every record.
    pub fn is_all(&self) -> bool {
        self.terms.is_empty()
    }

    /// The domain as one prefix expression: the implicit AND of its
    /// top-level terms made explicit.
    fn into_expression(self) -> Vec<Value> {
        let mut terms = vec![Value::from("&"); self.roots.saturating_sub(1)];
        terms.extend(self.terms);
        terms
    }

    fn combine(operator: &str, left: Domain, right: Domain) -> Domain {
        let mut terms = vec![Value::from(operator)];
        terms.extend(left.into_expression());
        terms.extend(right.into_expression());
        Domain { terms, roots: 1 }
    }

    /// The domain as an Odoo JSON value.
    pub fn to_value(&self) -> Value {
        Value::Array(self.terms.clone())
    }

    /// The domain as Odoo JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

/// Both must match (Odoo's `AND`); `Domain::all()` is its identity.
impl BitAnd for Domain {
    type Output = Domain;
    fn bitand(self, right: Domain) -> Domain {
        if self.is_all() {
            return right;
        }
        if right.is_all() {
            return self;
        }
        Domain::combine("&", self, right)
    }
}

/// Either may match (Odoo's `OR`); with `Domain::all()` on either side,
/// everything matches.
impl BitOr for Domain {
    type Output = Domain;
    fn bitor(self, right: Domain) -> Domain {
        if self.is_all() || right.is_all() {
            return Domain::all();
        }
        Domain::combine("|", self, right)
    }
}

/// The records that do not match (Odoo's `NOT`).
impl Not for Domain {
    type Output = Domain;
    fn not(self) -> Domain {
        if self.is_all() {
            return Domain::none();
        }
        let mut terms = vec![Value::from("!")];
        terms.extend(self.into_expression());
        Domain { terms, roots: 1 }
    }
}

/// A typed path to a field of type `T` (`name`, or `partner_id.name`
/// through a relation), from a model's `fields()`; its methods make the
/// domain leaves of Odoo's operators.
pub struct Field<T> {
    path: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> Field<T> {
    /// The path `path` (dotted through relations).
    pub fn new(path: impl Into<String>) -> Self {
        Field {
            path: path.into(),
            _type: PhantomData,
        }
    }

    /// The dotted path, e.g. `partner_id.name`.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn leaf(&self, operator: &str, value: Value) -> Domain {
        Domain::leaf(&self.path, operator, value)
    }

    /// `like`: contains `pattern`, case-sensitive (`%` and `_` are wildcards).
    pub fn like(&self, pattern: &str) -> Domain {
        self.leaf("like", Value::from(pattern))
    }

    /// `ilike`: contains `text`, any case.
    pub fn ilike(&self, text: &str) -> Domain {
        self.leaf("ilike", Value::from(text))
    }

    /// `not ilike`: does not contain `text`, any case.
    pub fn not_ilike(&self, text: &str) -> Domain {
        self.leaf("not ilike", Value::from(text))
    }

    /// `!= False`: the field has a value.
    pub fn is_set(&self) -> Domain {
        self.leaf("!=", Value::Bool(false))
    }

    /// `= False`: the field is empty.
    pub fn is_not_set(&self) -> Domain {
        self.leaf("=", Value::Bool(false))
    }
}

impl<T: FieldValue> Field<T> {
    /// `=`
    #[allow(clippy::should_implement_trait)]
    pub fn eq(&self, value: impl IntoField<T>) -> Domain {
        self.leaf("=", json_of(value))
    }

    /// `!=`
    pub fn ne(&self, value: impl IntoField<T>) -> Domain {
        self.leaf("!=", json_of(value))
    }

    /// `<`
    pub fn lt(&self, value: impl IntoField<T>) -> Domain {
        self.leaf("<", json_of(value))
    }

    /// `<=`
    pub fn le(&self, value: impl IntoField<T>) -> Domain {
        self.leaf("<=", json_of(value))
    }

    /// `>`
    pub fn gt(&self, value: impl IntoField<T>) -> Domain {
        self.leaf(">", json_of(value))
    }

    /// `>=`
    pub fn ge(&self, value: impl IntoField<T>) -> Domain {
        self.leaf(">=", json_of(value))
    }

    /// `in`: equal to one of `values`.
    pub fn is_in<V: IntoField<T>>(&self, values: impl IntoIterator<Item = V>) -> Domain {
        let values = values.into_iter().map(json_of).collect();
        self.leaf("in", Value::Array(values))
    }

    /// `not in`: equal to none of `values`.
    pub fn not_in<V: IntoField<T>>(&self, values: impl IntoIterator<Item = V>) -> Domain {
        let values = values.into_iter().map(json_of).collect();
        self.leaf("not in", Value::Array(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaf(name: &str) -> Domain {
        Domain::leaf(name, "=", json!(1))
    }

    #[test]
    fn implicit_and_becomes_explicit_under_or_and_not() {
        let two = Domain::all()
            .and("a", "=", json!(1))
            .and("b", "=", json!(1));
        assert_eq!(two.to_json(), r#"[["a","=",1],["b","=",1]]"#);
        assert_eq!(
            (two.clone() | leaf("c")).to_json(),
            r#"["|","&",["a","=",1],["b","=",1],["c","=",1]]"#
        );
        assert_eq!((!two).to_json(), r#"["!","&",["a","=",1],["b","=",1]]"#);
    }

    #[test]
    fn operators_nest_in_prefix_notation() {
        let d = (leaf("a") | leaf("b")) & !leaf("c");
        assert_eq!(
            d.to_json(),
            r#"["&","|",["a","=",1],["b","=",1],"!",["c","=",1]]"#
        );
        let d = leaf("a") | leaf("b") | leaf("c");
        assert_eq!(
            d.to_json(),
            r#"["|","|",["a","=",1],["b","=",1],["c","=",1]]"#
        );
    }

    #[test]
    fn all_is_the_identity_of_and_and_absorbs_or() {
        assert_eq!(Domain::all() & leaf("a"), leaf("a"));
        assert_eq!(leaf("a") & Domain::all(), leaf("a"));
        assert_eq!(leaf("a") | Domain::all(), Domain::all());
        assert_eq!((!Domain::all()).to_json(), r#"[["id","in",[]]]"#);
        assert_eq!(!Domain::all(), Domain::none());
    }

    #[test]
    fn typed_leaves_encode_their_values() {
        let name: Field<String> = Field::new("name");
        assert_eq!(name.eq("x").to_json(), r#"[["name","=","x"]]"#);
        assert_eq!(
            name.is_in(["a", "b"]).to_json(),
            r#"[["name","in",["a","b"]]]"#
        );
        let qty: Field<f64> = Field::new("qty");
        assert_eq!(qty.ge(1.5).to_json(), r#"[["qty",">=",1.5]]"#);
        let date: Field<Option<String>> = Field::new("date");
        assert_eq!(date.is_not_set().to_json(), r#"[["date","=",false]]"#);
        let count: Field<i64> = Field::new("count");
        assert_eq!(count.gt(3).to_json(), r#"[["count",">",3]]"#);
    }
}
