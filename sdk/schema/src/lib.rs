//! The JSON documents that cross the Pulse WIT boundary.
//!
//! An addon answers `describe()` with a [`Description`]: its models, their
//! fields, and the methods it implements. The SDK produces it from the
//! author's Rust types; the host reads it to create tables and route calls.
//! Every call carries a [`Context`] (Odoo's `env.context`). Both sides use
//! this one crate so the two ends can never disagree on the shape.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod context;
mod context_wire;
mod exception;

pub use context::{Context, ContextError, MAX_CONTEXT_BYTES, MAX_CONTEXT_DEPTH, is_truthy};
pub use context_wire::WireContext;
pub use exception::Exception;

/// Everything an addon declares about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Models the addon defines.
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    /// Model methods the addon implements.
    #[serde(default)]
    pub methods: Vec<MethodSpec>,
    /// HTTP routes the addon serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Record events the addon subscribes to (`pulse:addon@0.2.0` and later).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSpec>,
    /// Whether the addon has an authentication policy the host asks on
    /// every login (`pulse:addon@0.2.0` and later).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auth_policy: bool,
    /// Scheduled jobs the addon exports (`#[cron]` functions): the host
    /// keeps one `ir.cron` record per job, owned by the addon.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crons: Vec<CronSpec>,
}

/// An operation on records that an addon can subscribe to (Odoo's
/// automated actions' `on_create`, `on_write`, `on_unlink`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Records were created.
    Create,
    /// Records were written.
    Write,
    /// Records were deleted.
    Unlink,
}

impl EventKind {
    /// The name used in descriptions and the `#[event]` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Create => "create",
            EventKind::Write => "write",
            EventKind::Unlink => "unlink",
        }
    }

    /// Parses `create`, `write` or `unlink`.
    pub fn parse(text: &str) -> Option<EventKind> {
        [EventKind::Create, EventKind::Write, EventKind::Unlink]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A subscription to record events: the host calls the addon's handler
/// `name` after each operation of `on` on records of `model` (those
/// matching `domain`), in the operation's transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSpec {
    /// The handler's name, passed back to the addon.
    pub name: String,
    /// The model, which must be in the addon's dependency graph.
    pub model: String,
    /// The operations.
    pub on: Vec<EventKind>,
    /// Only records matching this Odoo domain (after a create or write,
    /// before an unlink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Value>,
    /// For writes: only when one of these fields is written (Odoo's
    /// trigger fields); any write when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
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
    /// Conditions every record must satisfy (Odoo's `_sql_constraints` of
    /// the `CHECK` kind, written as domains so they work on every engine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckSpec>,
}

/// A condition every record of a model must satisfy, checked after each
/// create and write. A record for which the domain does not hold is
/// refused with a ValidationError carrying `message`; as with SQL's
/// `CHECK`, a condition on an empty value does not refuse the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSpec {
    /// Name of the constraint, unique within the model.
    pub name: String,
    /// The condition, as an Odoo domain, e.g. `[["qty", ">=", 0]]`.
    pub domain: Value,
    /// What the user is told when a record breaks the condition.
    pub message: String,
}

/// What happens to records pointing at a record that is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnDelete {
    /// The many2one is emptied (the default for optional fields).
    #[serde(rename = "set null")]
    SetNull,
    /// The deletion is refused while records point at it (the default
    /// for required fields).
    #[serde(rename = "restrict")]
    Restrict,
    /// The records pointing at it are deleted too.
    #[serde(rename = "cascade")]
    Cascade,
}

impl OnDelete {
    /// Odoo's name for the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::SetNull => "set null",
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
        }
    }

    /// Parses Odoo's name for a policy.
    pub fn parse(name: &str) -> Option<OnDelete> {
        [OnDelete::SetNull, OnDelete::Restrict, OnDelete::Cascade]
            .into_iter()
            .find(|o| o.as_str() == name)
    }
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
    /// Set by the model's own methods only: RPC clients may not set it
    /// (on create, write or copy, in x2many commands too), addon code may.
    /// Stricter than Odoo, where readonly binds only the web client.
    /// Computed and related fields are never writable at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
    /// Whether Odoo's `copy()` takes the value along to the copy; `None`
    /// means Odoo's default: every field but one2many ones (computed and
    /// related fields follow from the rest). Sequence numbers and states
    /// say `false`, so a copy starts as a fresh draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<bool>,
    /// What deleting the target of a many2one does to this record; `None`
    /// means `set null`, or `restrict` when the field is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ondelete: Option<OnDelete>,
    /// `(precision, scale)` of a float: values are rounded to `scale`
    /// decimals when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<(u32, u32)>,
    /// A path such as `partner_id.name`: the field shows the value at the
    /// end of the path (through many2one fields), is searchable, not
    /// stored, and not writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
    /// The model method that computes the field. The field is stored, not
    /// writable, and recomputed whenever one of `depends` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// What a computed field depends on: fields of the model, or
    /// `relation.field` one step through a relational field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<String>,
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
            readonly: false,
            copy: None,
            ondelete: None,
            digits: None,
            related: None,
            compute: None,
            depends: Vec::new(),
        }
    }

    /// Whether the field is a column of its model's table: neither an
    /// x2many field nor a related one.
    pub fn has_column(&self) -> bool {
        self.ttype.is_stored() && self.related.is_none()
    }

    /// Whether `copy()` takes the field's value along (see [`FieldSpec::copy`]).
    pub fn copied(&self) -> bool {
        !self.is_derived() && self.copy.unwrap_or(self.ttype != FieldType::One2many)
    }

    /// Whether only the host may set the field's value (computed and related fields).
    pub fn is_derived(&self) -> bool {
        self.compute.is_some() || self.related.is_some()
    }

    /// The deletion policy in force for a many2one.
    pub fn ondelete_policy(&self) -> OnDelete {
        self.ondelete.unwrap_or(if self.required {
            OnDelete::Restrict
        } else {
            OnDelete::SetNull
        })
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MethodSpec {
    /// The model the method belongs to.
    pub model: String,
    /// The method's name, as RPC clients call it.
    pub name: String,
    /// Fields whose change makes the host run this method as a validation
    /// (Odoo's `@api.constrains`): it receives the changed records and
    /// refuses them by returning a ValidationError.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constrains: Vec<String>,
}

/// A login whose credentials are right, as an authentication policy is
/// asked about it (`pulse:addon@0.2.0`'s `auth-policy` export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The login given.
    pub login: String,
    /// The user it belongs to.
    pub uid: i64,
    /// The external ids of the user's groups, with those they imply.
    pub groups: Vec<String>,
    /// The client's address, e.g. `127.0.0.1`.
    pub address: String,
    /// `web`, `rpc` or `api-key`.
    pub door: String,
    /// A second factor the client sent along (`totp` at the web door).
    pub second_factor: Option<String>,
}

impl LoginAttempt {
    /// Whether the user is in the group with external id `group`.
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// What an authentication policy says about a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginDecision {
    /// The login goes on.
    Allow,
    /// The login fails like a wrong password; the reason is logged only.
    Refuse(String),
    /// No session until a second factor is given (the text names it).
    SecondFactor(String),
}

/// A scheduled job an addon exports: the host calls the addon's `cron.run`
/// export with `job` every `interval_number` `interval_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronSpec {
    /// The job's key, passed back to the addon's `cron.run` (the
    /// function's name).
    pub job: String,
    /// The job's name, as `ir.cron` shows it and `pulse cron run` takes it.
    pub name: String,
    /// Every how many units it runs.
    pub interval_number: i64,
    /// The unit: `seconds`, `minutes`, `hours`, `days`, `weeks` or `months`.
    pub interval_type: String,
}

/// The units of a job's interval, as Odoo's `ir.cron.interval_type` names them.
pub const INTERVAL_TYPES: [&str; 6] = ["seconds", "minutes", "hours", "days", "weeks", "months"];

/// Reads an interval such as `1 days`, `15 minutes` or `1 week` into
/// Odoo's `(interval_number, interval_type)`.
pub fn parse_interval(text: &str) -> Result<(i64, String), String> {
    let bad = || {
        format!(
            "invalid interval {text:?}: expected a positive number and a unit ({}), e.g. \"1 days\"",
            INTERVAL_TYPES.join(", ")
        )
    };
    let mut words = text.split_whitespace();
    let (Some(number), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit = INTERVAL_TYPES
        .into_iter()
        .find(|u| *u == unit || u.strip_suffix('s') == Some(unit))
        .ok_or_else(bad)?;
    if number < 1 {
        return Err(bad());
    }
    Ok((number, unit.to_string()))
}

/// An HTTP route an addon serves, like an Odoo controller's `@http.route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    /// The handler's name, passed back to the addon's `handle`.
    pub name: String,
    /// The HTTP method: `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path pattern: literal segments and `{name}` parameters, e.g.
    /// `/finance_ssc/consolidation/report/{id}`.
    pub path: String,
    /// Who may call it.
    pub auth: RouteAuth,
    /// The largest request body accepted, in bytes (the host's default
    /// when absent); a larger one is refused with 413.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<usize>,
}

/// How a route authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAuth {
    /// Anyone; the handler runs without a user, so the ORM refuses
    /// everything unless the addon was granted `sudo` and uses it.
    Public,
    /// A logged-in user: a session cookie or an API key as a bearer token.
    User,
    /// An API key (`Authorization: Bearer …`) only, for machine clients.
    ApiKey,
}

impl RouteAuth {
    /// The name used in descriptions and the route attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteAuth::Public => "public",
            RouteAuth::User => "user",
            RouteAuth::ApiKey => "api_key",
        }
    }

    /// Parses `public`, `user` or `api_key`.
    pub fn parse(text: &str) -> Option<RouteAuth> {
        match text {
            "public" => Some(RouteAuth::Public),
            "user" => Some(RouteAuth::User),
            "api_key" => Some(RouteAuth::ApiKey),
            _ => None,
        }
    }
}

/// The HTTP methods a route may answer.
pub const ROUTE_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A segment of a route's path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSegment {
    /// Text the path must hold there.
    Literal(String),
    /// `{name}`: any non-empty segment, passed to the route as `name`.
    Param(String),
}

/// The segments of a route's path pattern (`/x/{id}`), or why it is not
/// one. Checked where an author writes the route (the `#[route]` macro)
/// and where the host installs it.
pub fn route_segments(path: &str) -> Result<Vec<RouteSegment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("the path '{path}' must start with '/'"));
    };
    rest.split('/')
        .map(|segment| {
            if let Some(inner) = segment.strip_prefix('{') {
                let name = inner.strip_suffix('}').ok_or_else(|| {
                    format!("the segment '{segment}' of '{path}' is not a {{name}} parameter")
                })?;
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!(
                        "the parameter '{segment}' of '{path}' must be a name of letters, digits and '_'"
                    ));
                }
                Ok(RouteSegment::Param(name.to_string()))
            } else if segment.contains(['{', '}', '?', '#', '*', '%']) {
                Err(format!(
                    "the segment '{segment}' of '{path}' holds a reserved character"
                ))
            } else {
                Ok(RouteSegment::Literal(segment.to_string()))
            }
        })
        .collect()
}

/// Levenshtein distance, for did-you-mean hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The known key closest to `unknown`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    if unknown.len() >= 3
        && let Some(k) = known
            .iter()
            .find(|k| k.starts_with(unknown) || unknown.starts_with(**k))
    {
        return Some(k);
    }
    known
        .iter()
        .map(|k| (distance(unknown, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_paths_are_checked() {
        assert_eq!(
            route_segments("/finance_ssc/report/{id}").unwrap(),
            [
                RouteSegment::Literal("finance_ssc".into()),
                RouteSegment::Literal("report".into()),
                RouteSegment::Param("id".into()),
            ]
        );
        for bad in ["no/slash", "/x/{id", "/x/{a-b}", "/x/*rest", "/x/%41"] {
            assert!(route_segments(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_type_names_round_trip() {
        for t in ALL_FIELD_TYPES {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(FieldType::parse("reference"), None);
    }

    #[test]
    fn intervals_read_as_odoo_stores_them() {
        assert_eq!(parse_interval("1 days"), Ok((1, "days".to_string())));
        assert_eq!(
            parse_interval(" 15  minutes "),
            Ok((15, "minutes".to_string()))
        );
        assert_eq!(parse_interval("1 week"), Ok((1, "weeks".to_string())));
        for bad in [
            "",
            "days",
            "0 days",
            "-1 days",
            "1 fortnight",
            "1 days later",
            "x days",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }
}
