//! Errors an addon returns, mirroring Odoo's exception kinds.

use crate::__rt::WitError;

/// An error raised by addon code or by the host on its behalf. Each kind
/// reaches RPC clients as the matching `odoo.exceptions.*` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The user may not do this (`AccessError`).
    Access(String),
    /// Data failed a constraint (`ValidationError`).
    Validation(String),
    /// A record does not exist (`MissingError`).
    Missing(String),
    /// A business rule refused the operation (`UserError`).
    User(String),
    /// Anything else.
    Internal(String),
}

/// `Result` with the SDK's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Access(m) => write!(f, "access error: {m}"),
            Error::Validation(m) => write!(f, "validation error: {m}"),
            Error::Missing(m) => write!(f, "missing record: {m}"),
            Error::User(m) => write!(f, "{m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for WitError {
    fn from(e: Error) -> WitError {
        match e {
            Error::Access(m) => WitError::AccessError(m),
            Error::Validation(m) => WitError::Validation(m),
            Error::Missing(m) => WitError::MissingRecord(m),
            Error::User(m) => WitError::UserError(m),
            Error::Internal(m) => WitError::Internal(m),
        }
    }
}

impl From<WitError> for Error {
    fn from(e: WitError) -> Error {
        match e {
            WitError::AccessError(m) => Error::Access(m),
            WitError::Validation(m) => Error::Validation(m),
            WitError::MissingRecord(m) => Error::Missing(m),
            WitError::UserError(m) => Error::User(m),
            WitError::Internal(m) => Error::Internal(m),
        }
    }
}
