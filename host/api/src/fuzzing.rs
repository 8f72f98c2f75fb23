//! Doors for the fuzz targets in `fuzz/`, not an API: the decoding a
//! request goes through before any database is involved, reachable
//! without making the internals public (an addon's data files are
//! `pulse_core::fuzzing`'s).

use axum::body::Bytes;
use serde_json::{Map, Value};

pub use crate::xmlrpc::{fault, parse_call, response};

/// What `/web/dataset/call_kw` takes from its body before it needs a
/// session: the model, the method, the record ids, the other positional
/// arguments and the keyword arguments (without `context`).
pub type CallKw = (String, String, Vec<i64>, Vec<Value>, Map<String, Value>);

/// The arguments of a `/web/dataset/call_kw` body, as `call_kw` and
/// `execute_kw` extract them; the error as text.
pub fn call_kw_arguments(body: &[u8]) -> Result<CallKw, String> {
    let (_, params) = crate::params::parse_request(&Bytes::copy_from_slice(body))
        .map_err(|(_, e)| format!("{e:?}"))?;
    let model = crate::params::text_param(&params, "model").map_err(|e| format!("{e:?}"))?;
    let method = crate::params::text_param(&params, "method").map_err(|e| format!("{e:?}"))?;
    let args = crate::params::list_arg(params.get("args"), "args").map_err(|e| format!("{e:?}"))?;
    let mut kwargs =
        crate::params::dict_arg(params.get("kwargs"), "kwargs").map_err(|e| format!("{e:?}"))?;
    pulse_core::take_context(&mut kwargs).map_err(|e| e.to_string())?;
    let (ids, rest) = pulse_core::split_args(method, args).map_err(|e| e.to_string())?;
    Ok((model.to_string(), method.to_string(), ids, rest, kwargs))
}

/// The service, method and arguments of a `/jsonrpc` body.
pub fn jsonrpc_arguments(body: &[u8]) -> Result<(String, String, Vec<Value>), String> {
    let (_, params) = crate::params::parse_request(&Bytes::copy_from_slice(body))
        .map_err(|(_, e)| format!("{e:?}"))?;
    let service = crate::params::text_param(&params, "service").map_err(|e| format!("{e:?}"))?;
    let method = crate::params::text_param(&params, "method").map_err(|e| format!("{e:?}"))?;
    let args = crate::params::list_arg(params.get("args"), "args").map_err(|e| format!("{e:?}"))?;
    Ok((service.to_string(), method.to_string(), args))
}
