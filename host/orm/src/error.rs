//! ORM errors, by Odoo's exception kinds.

use pulse_schema::Exception;

/// An ORM failure: one of Odoo's exceptions (the kinds addons raise too,
/// so the HTTP layer reports each as Odoo would), or the database failing.
#[derive(Debug, thiserror::Error)]
pub enum OrmError {
    /// `odoo.exceptions.*` or `ValueError`; never [`Exception::Internal`].
    #[error(transparent)]
    Raised(#[from] Exception),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl OrmError {
    /// `odoo.exceptions.AccessError`.
    pub fn access(message: impl Into<String>) -> OrmError {
        Exception::Access(message.into()).into()
    }

    /// `odoo.exceptions.ValidationError`: a required field is missing, a
    /// value has the wrong type, a constraint failed.
    pub fn validation(message: impl Into<String>) -> OrmError {
        Exception::Validation(message.into()).into()
    }

    /// `odoo.exceptions.MissingError`: a record does not exist.
    pub fn missing(message: impl Into<String>) -> OrmError {
        Exception::Missing(message.into()).into()
    }

    /// `odoo.exceptions.UserError`: a bad request, e.g. an unknown field.
    pub fn user(message: impl Into<String>) -> OrmError {
        Exception::User(message.into()).into()
    }

    /// `ValueError` in Odoo: an invalid domain, field or order.
    pub fn value(message: impl Into<String>) -> OrmError {
        Exception::Value(message.into()).into()
    }

    /// `Invalid field 'x' on model 'y'`, as Odoo words it.
    pub fn invalid_field(model: &str, field: &str) -> OrmError {
        OrmError::value(format!("Invalid field '{field}' on model '{model}'"))
    }

    /// The error for a model that is not in the registry.
    pub fn unknown_model(model: &str) -> OrmError {
        OrmError::value(format!("Object {model} doesn't exist"))
    }
}
