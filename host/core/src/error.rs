//! Server errors.

use pulse_manifest::PlanError;
use pulse_orm::OrmError;
use pulse_runtime::{CallError, LoadError};

/// Anything the server can fail with. The HTTP layer turns each into the
/// protocol's fault; the CLI prints it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration (database URL, paths).
    #[error("{0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The ORM refused or failed.
    #[error(transparent)]
    Orm(#[from] OrmError),
    /// A lifecycle plan could not be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A component could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A call into an addon failed during a lifecycle step.
    #[error("addon '{addon}' failed in {step}: {source}")]
    Addon {
        /// The addon.
        addon: String,
        /// What the host was doing (describe, post-init hook, …).
        step: String,
        /// What went wrong.
        source: CallError,
    },
    /// A call into an addon failed while serving a request.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A lifecycle operation cannot go ahead.
    #[error("{0}")]
    Lifecycle(String),
}

/// A database failure as a client or an addon sees it: a generic message
/// with a reference, logged here beside the real error. The database's own
/// words (table names, SQL, values) stay in the log.
pub(crate) fn database_failure(e: &dyn std::fmt::Display) -> String {
    let reference = format!("{:016x}", rand::random::<u64>());
    tracing::error!(reference = %reference, error = %e, "database error");
    format!("A database error occurred (reference {reference})")
}
