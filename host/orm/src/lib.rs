//! The Pulse ORM: models and fields from addon descriptions, Odoo domains
//! compiled to parameterized SQL, and Odoo's record methods (create, read,
//! search, write, unlink) on SQLite and PostgreSQL.
//!
//! Identifiers (tables, columns) only ever come from the [`Registry`], which
//! validates them when an addon describes its models; everything that comes
//! from a caller — values, domain operands, limits — is bound as a
//! parameter.
//!
//! Modules depend one way only, none on one that depends back on it:
//! `error`, `dialect`, `pending` (work left for the host), `events` (record
//! events and who listens), `sql` (shared SQL helpers) and `domain` (the
//! parsed tree) know no model; `registry`,
//! `values` and `schema` (DDL, relation tables) build on them; `compile`
//! turns domains into SQL; `records` defines [`Orm`] and its record methods,
//! and `derived`, `x2many` and `group` add more methods to it on top;
//! [`ledger`] keeps who owns which model, field and record.

mod compile;
mod derived;
mod dialect;
mod domain;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzzing;
mod group;
/// Not an API: helpers the unit tests in `host/orm/tests/` (compiled into
/// the end-to-end test binary, not into this crate) reach.
#[doc(hidden)]
pub mod internals {
    pub use crate::compile::order_by;
    pub use crate::group::{Granularity, date_group, iso_week};
    pub use crate::values::{SqlValue, is_date, is_datetime, round_to};
}
pub mod ledger;
mod pending;
mod records;
mod registry;
mod schema;
mod sql;
mod values;
mod x2many;

pub use dialect::Dialect;
pub use domain::{
    Comodel, Comodels, Domain, Leaf, MAX_COMPILE_DEPTH, MAX_NESTING, MAX_PATH_LENGTH, MAX_TERMS,
    Term,
};
pub use error::OrmError;
pub use events::{RecordEvent, Subscription};
pub use group::Grouping;
pub use pending::Pending;
pub use records::{Orm, SearchOptions};
pub use registry::{
    CheckDef, FieldDef, ModelDef, Registry, Trigger, table_name, valid_field_name, valid_model_name,
};
pub use schema::{
    RelationTable, add_column, count_values, create_relation_table, create_table, drop_column,
    drop_table, relation_table, table_exists,
};
pub use sql::{Connection, pairs};
pub use values::{Record, bool_at};
pub use x2many::{X2manyCommand, X2manyStep, split_x2many, x2many_commands};
