//! Odoo's exceptions, as the ORM, the host and addons raise them to each
//! other: one set of kinds on every side of the WIT boundary.

/// An error by the kind of Odoo exception it is raised as. The ORM raises
/// every kind but [`Exception::Internal`]; an addon or the host on its
/// behalf raise any. Each reaches RPC clients as the matching
/// `odoo.exceptions.*` (or Python built-in) error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// `odoo.exceptions.AccessError`: access rights or record rules refuse.
    Access(String),
    /// `odoo.exceptions.ValidationError`: a required field is missing, a
    /// value has the wrong type, a constraint failed.
    Validation(String),
    /// `odoo.exceptions.MissingError`: a record does not exist.
    Missing(String),
    /// `odoo.exceptions.UserError`: a business rule refused the operation.
    User(String),
    /// `ValueError` in Odoo: an invalid domain, field or order.
    Value(String),
    /// Any other failure.
    Internal(String),
}

impl Exception {
    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Exception::Access(m)
            | Exception::Validation(m)
            | Exception::Missing(m)
            | Exception::User(m)
            | Exception::Value(m)
            | Exception::Internal(m) => m,
        }
    }
}

/// The message alone, as Odoo shows an exception's.
impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Exception {}
