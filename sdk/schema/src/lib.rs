//! The JSON documents that cross the Pulse WIT boundary.
//!
//! An addon answers `describe()` with a [`Description`]: its models, their
//! fields, and the methods it implements. The SDK produces it from the
//! author's Rust types; the host reads it to create tables and route calls.
//! Both sides use this one crate so the two ends can never disagree on the
//! shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything an addon declares about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Models the addon defines.
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    /// Model methods the addon implements.
    #[serde(default)]
    pub methods: Vec<MethodSpec>,
}

/// A model (a database table) defined by an addon, like an Odoo `_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Dotted technical name, e.g. `todo.task`.
    pub name: String,
    /// Human-readable name (Odoo's `_description`).
    #[serde(default)]
    pub description: String,
    /// Stored fields, in declaration order. `id` is implicit.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// The model is defined by a dependency and this addon adds `fields`
    /// to it (Odoo's `_inherit` without `_name`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extends: bool,
}

/// One field of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Technical name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// Field type (Odoo's `ttype`).
    #[serde(rename = "type")]
    pub ttype: FieldType,
    /// Label (Odoo's `string`).
    #[serde(default)]
    pub string: String,
    /// Tooltip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A value must be given on create and may not be cleared.
    #[serde(default)]
    pub required: bool,
    /// The column gets a database index.
    #[serde(default)]
    pub index: bool,
    /// No two records may hold the same value (a unique index).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// Target model of a many2one, one2many or many2many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// The many2one of the target model a one2many is the inverse of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverse: Option<String>,
    /// The many2one to `res.currency` (or any field) giving a monetary field's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_field: Option<String>,
    /// `(value, label)` pairs of a selection field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selection: Vec<(String, String)>,
    /// Value used on create when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

impl FieldSpec {
    /// A plain field: labelled with its name, optional, not indexed.
    pub fn new(name: &str, ttype: FieldType) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            ttype,
            string: name.to_string(),
            help: None,
            required: false,
            index: false,
            unique: false,
            relation: None,
            inverse: None,
            currency_field: None,
            selection: Vec::new(),
            default: None,
        }
    }
}

/// Field types, named as Odoo names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Short text.
    Char,
    /// Long text.
    Text,
    /// HTML text.
    Html,
    /// 64-bit integer.
    Integer,
    /// Double-precision number.
    Float,
    /// Amount in a currency.
    Monetary,
    /// True or false.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    Datetime,
    /// One of a fixed list of values.
    Selection,
    /// Reference to one record of another model.
    Many2one,
    /// Any JSON value.
    Json,
    /// The records of another model whose many2one `inverse` points here
    /// (no column of its own).
    One2many,
    /// Records of another model, linked through a relation table.
    Many2many,
    /// Bytes, exchanged as base64 text (as Odoo does).
    Binary,
}

impl FieldType {
    /// Odoo's name for the type, as `fields_get` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Char => "char",
            FieldType::Text => "text",
            FieldType::Html => "html",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Monetary => "monetary",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Selection => "selection",
            FieldType::Many2one => "many2one",
            FieldType::Json => "json",
            FieldType::One2many => "one2many",
            FieldType::Many2many => "many2many",
            FieldType::Binary => "binary",
        }
    }

    /// Whether the field is a column of its model's table (x2many fields are not).
    pub fn is_stored(self) -> bool {
        !matches!(self, FieldType::One2many | FieldType::Many2many)
    }

    /// Parses Odoo's name for a type.
    pub fn parse(name: &str) -> Option<FieldType> {
        ALL_FIELD_TYPES.iter().copied().find(|t| t.as_str() == name)
    }
}

/// Every field type, for parsing and documentation.
pub const ALL_FIELD_TYPES: [FieldType; 15] = [
    FieldType::Binary,
    FieldType::One2many,
    FieldType::Many2many,
    FieldType::Char,
    FieldType::Text,
    FieldType::Html,
    FieldType::Integer,
    FieldType::Float,
    FieldType::Monetary,
    FieldType::Boolean,
    FieldType::Date,
    FieldType::Datetime,
    FieldType::Selection,
    FieldType::Many2one,
    FieldType::Json,
];

/// A model method an addon implements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodSpec {
    /// The model the method belongs to.
    pub model: String,
    /// The method's name, as RPC clients call it.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_names_round_trip() {
        for t in ALL_FIELD_TYPES {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(FieldType::parse("reference"), None);
    }
}
