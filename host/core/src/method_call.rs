//! How the parts of the call engine below the dispatcher (recomputation,
//! x2many commands) call a model method: through a function the caller
//! hands them ([`crate::dispatch::method_call`]), so that they do not
//! import the dispatcher that imports them.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::TxOrm;
use crate::failure::CallFailure;

/// A model method call in progress; it hands the session back.
pub type CallFuture = Pin<Box<dyn Future<Output = (Result<Value, CallFailure>, TxOrm)> + Send>>;

/// Calls `model.method` on `ids` with positional `args`, at the top of its
/// override chain, in the session's transaction.
pub type MethodCall =
    fn(orm: TxOrm, model: String, method: String, ids: Vec<i64>, args: Vec<Value>) -> CallFuture;
