//! The Pulse ORM: models and fields from addon descriptions, Odoo domains
//! compiled to parameterized SQL, and Odoo's record methods (create, read,
//! search, write, unlink) on SQLite and PostgreSQL.
//!
//! Identifiers (tables, columns) only ever come from the [`Registry`], which
//! validates them when an addon describes its models; everything that comes
//! from a caller — values, domain operands, limits — is bound as a
//! parameter.

mod derived;
mod dialect;
mod domain;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod group;
mod records;
mod registry;
mod schema;
mod values;
mod x2many;

pub use derived::Pending;
pub use dialect::Dialect;
pub use domain::{
    Comodel, Comodels, Domain, Leaf, MAX_COMPILE_DEPTH, MAX_NESTING, MAX_PATH_LENGTH, MAX_TERMS,
    Term,
};
pub use error::OrmError;
pub use records::{Orm, SearchOptions};
pub use registry::{
    CheckDef, FieldDef, ModelDef, Registry, Trigger, table_name, valid_field_name, valid_model_name,
};
pub use schema::{add_column, count_values, create_table, drop_column, drop_table, table_exists};
pub use values::{Record, bool_at};
pub use x2many::{
    RelationTable, X2manyCommand, X2manyStep, create_relation_table, relation_table, split_x2many,
    x2many_commands,
};

/// The connection type every ORM call runs on (a transaction derefs to it).
pub type Connection = sqlx::AnyConnection;
