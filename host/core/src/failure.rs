//! Why a call failed, in the host's terms: [`CallFailure`] says what went
//! wrong inside the call engine, [`Failure`] says it as one of Odoo's
//! exception kinds with its message. The protocols (`pulse-api`) turn a
//! [`Kind`] into their own faults; nothing here knows about HTTP.
//!
//! A leaf of the call engine: the dispatcher, recomputation, x2many
//! commands and the special models' methods all report through it
//! without importing each other.

use pulse_orm::OrmError;
use pulse_runtime::{CallError, Exception};

use crate::error::{Error, database_failure};

/// Why a call failed, before it is reported in a protocol's terms.
#[derive(Debug)]
pub enum CallFailure {
    /// The ORM refused or failed.
    Orm(OrmError),
    /// The addon failed or trapped.
    Addon(CallError),
    /// No installed addon defines the model.
    NoModel(String),
    /// The model has no such method.
    NoMethod {
        /// The model.
        model: String,
        /// The method.
        method: String,
    },
    /// An argument has the wrong shape.
    BadArgument(String),
    /// The call cannot be made here (no component, too deep, …).
    Unavailable(String),
}

/// A context no call can run under: a `TypeError` where Odoo's
/// `dict(context)` would fail on its type, a `ValueError` past a limit.
impl From<pulse_schema::ContextError> for CallFailure {
    fn from(e: pulse_schema::ContextError) -> CallFailure {
        if e.is_type_error() {
            CallFailure::BadArgument(e.to_string())
        } else {
            CallFailure::Orm(OrmError::value(e.to_string()))
        }
    }
}

impl CallFailure {
    /// Whether the failure is a clash with a concurrent transaction.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CallFailure::Orm(e) if crate::db::is_orm_conflict(e))
    }
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Orm(e) => write!(f, "{e}"),
            CallFailure::Addon(e) => write!(f, "{e}"),
            CallFailure::NoModel(model) => write!(f, "Object {model} doesn't exist"),
            CallFailure::NoMethod { model, method } => write!(
                f,
                "The method '{method}' does not exist on the model '{model}'"
            ),
            CallFailure::BadArgument(m) | CallFailure::Unavailable(m) => write!(f, "{m}"),
        }
    }
}

/// The kinds of failure a caller is told about: Odoo's exceptions (and the
/// Python built-ins Odoo lets through), plus Pulse's own for addons that
/// trap, time out or run out of memory. `pulse-api` holds the one table
/// from a kind to each protocol's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Bad credentials, or a door that stays shut (Odoo's `AccessDenied`).
    AccessDenied,
    /// Access rights or record rules refuse the operation.
    AccessError,
    /// The user asked for something that cannot be done.
    UserError,
    /// Values break a constraint.
    ValidationError,
    /// A record named by id does not exist (any more).
    MissingError,
    /// A value is invalid (a field in a domain, an order).
    ValueError,
    /// An argument has the wrong type or shape.
    TypeError,
    /// No such model.
    KeyError,
    /// No such method on the model.
    AttributeError,
    /// The database failed; the message is generic, with a reference.
    DatabaseError,
    /// An addon failed or answered nonsense.
    AddonError,
    /// An addon trapped.
    AddonTrap,
    /// An addon ran past its deadline.
    AddonTimeout,
    /// An addon ran out of memory.
    AddonOutOfMemory,
    /// The password is right, but an authentication policy asks for a
    /// second factor before the login may go on (Pulse's own).
    SecondFactorRequired,
}

/// A failure as a caller sees it: its kind and the message to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure it is.
    pub kind: Kind,
    /// What to tell the caller.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// Odoo's `AccessDenied` with its one message.
    pub fn access_denied() -> Failure {
        Failure::new(Kind::AccessDenied, "Access Denied")
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<OrmError> for Failure {
    fn from(e: OrmError) -> Failure {
        match e {
            OrmError::Raised(e) => Failure::from(e),
            OrmError::Database(e) => Failure::new(Kind::DatabaseError, database_failure(&e)),
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        Failure::from(OrmError::Database(e))
    }
}

/// An exception raised by the ORM or an addon, under its kind (`Internal`:
/// an addon's error).
impl From<Exception> for Failure {
    fn from(e: Exception) -> Failure {
        let kind = match &e {
            Exception::Access(_) => Kind::AccessError,
            Exception::Validation(_) => Kind::ValidationError,
            Exception::Missing(_) => Kind::MissingError,
            Exception::User(_) => Kind::UserError,
            Exception::Value(_) => Kind::ValueError,
            Exception::Internal(_) => Kind::AddonError,
        };
        Failure::new(kind, e.to_string())
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Failure {
        match e {
            CallError::Addon(e) => Failure::from(e),
            e @ CallError::Trap { .. } => Failure::new(Kind::AddonTrap, e.to_string()),
            e @ CallError::Timeout { .. } => Failure::new(Kind::AddonTimeout, e.to_string()),
            e @ (CallError::OutOfMemory { .. } | CallError::CallTreeOutOfMemory { .. }) => {
                Failure::new(Kind::AddonOutOfMemory, e.to_string())
            }
            e @ CallError::BadAnswer { .. } => Failure::new(Kind::AddonError, e.to_string()),
        }
    }
}

impl From<CallFailure> for Failure {
    fn from(f: CallFailure) -> Failure {
        match f {
            CallFailure::Orm(e) => e.into(),
            CallFailure::Addon(e) => e.into(),
            CallFailure::NoModel(model) => Failure::new(Kind::KeyError, format!("'{model}'")),
            f @ CallFailure::NoMethod { .. } => Failure::new(Kind::AttributeError, f.to_string()),
            CallFailure::BadArgument(m) => Failure::new(Kind::TypeError, m),
            CallFailure::Unavailable(m) => Failure::new(Kind::UserError, m),
        }
    }
}

/// The ORM's and the addons' own failures keep their kind; the rest of
/// the host's errors (a plan that cannot be made, a lifecycle operation
/// refused, bad configuration) are the user's to fix.
impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match e {
            Error::Orm(e) => e.into(),
            Error::Call(e) => e.into(),
            Error::Database(e) => e.into(),
            other => Failure::new(Kind::UserError, other.to_string()),
        }
    }
}
