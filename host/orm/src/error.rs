//! ORM errors, by Odoo's exception kinds.

/// An ORM failure. The variants map one-to-one onto Odoo's exceptions so the
/// HTTP layer can report each as Odoo would.
#[derive(Debug, thiserror::Error)]
pub enum OrmError {
    /// `odoo.exceptions.AccessError`.
    #[error("{0}")]
    Access(String),
    /// `odoo.exceptions.ValidationError`: a required field is missing, a
    /// value has the wrong type, a constraint failed.
    #[error("{0}")]
    Validation(String),
    /// `odoo.exceptions.MissingError`: a record does not exist.
    #[error("{0}")]
    Missing(String),
    /// `odoo.exceptions.UserError`: a bad request, e.g. an unknown field.
    #[error("{0}")]
    User(String),
    /// `ValueError` in Odoo: an invalid domain, field or order.
    #[error("{0}")]
    Value(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl OrmError {
    /// `Invalid field 'x' on model 'y'`, as Odoo words it.
    pub fn invalid_field(model: &str, field: &str) -> OrmError {
        OrmError::Value(format!("Invalid field '{field}' on model '{model}'"))
    }

    /// The error for a model that is not in the registry.
    pub fn unknown_model(model: &str) -> OrmError {
        OrmError::Value(format!("Object {model} doesn't exist"))
    }
}
