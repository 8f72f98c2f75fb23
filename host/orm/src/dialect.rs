//! The SQL differences between SQLite and PostgreSQL, in one place.

use pulse_schema::FieldType;

/// The database engine behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.35+ (the embedded default).
    Sqlite,
    /// PostgreSQL 13+.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// Column definition of the `id` primary key.
    pub fn primary_key(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        }
    }

    /// Column type of a field type.
    pub fn column_type(self, ttype: FieldType) -> &'static str {
        match (self, ttype) {
            (_, FieldType::Integer | FieldType::Many2one) => "BIGINT",
            (Dialect::Sqlite, FieldType::Float | FieldType::Monetary) => "REAL",
            (Dialect::Postgres, FieldType::Float | FieldType::Monetary) => "DOUBLE PRECISION",
            (_, FieldType::Boolean) => self.boolean_type(),
            (Dialect::Sqlite, FieldType::Char | FieldType::Selection) => "TEXT",
            (Dialect::Postgres, FieldType::Char | FieldType::Selection) => "VARCHAR",
            (_, FieldType::Text | FieldType::Html | FieldType::Json | FieldType::Binary) => "TEXT",
            // Dates are ISO-8601 text on both engines, so comparisons and
            // results are identical everywhere.
            (_, FieldType::Date | FieldType::Datetime) => "TEXT",
            // x2many fields have no column (see `FieldType::is_stored`).
            (_, FieldType::One2many | FieldType::Many2many) => "",
        }
    }

    /// Column type of a boolean. SQLite has no boolean type (and sqlx's Any
    /// driver cannot read a column declared BOOLEAN there), so 0/1 integers.
    pub fn boolean_type(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER",
            Dialect::Postgres => "BOOLEAN",
        }
    }

    /// The `n`-th (1-based) bind parameter. SQLite accepts PostgreSQL's `$n`.
    pub fn param(self, n: usize) -> String {
        format!("${n}")
    }
}
