//! Odoo's `dispatch_rpc`: the `common`, `object` and `db` services, as
//! `/xmlrpc/2/<service>` and `/jsonrpc` expose them.

use std::net::IpAddr;

use pulse_core::Host;
use pulse_core::auth::Door;
use serde_json::{Map, Value, json};

use crate::body::{MAX_ANONYMOUS_BODY, MAX_BODY};
use crate::faults::{Exception, RpcError};
use crate::identity::{check_db, check_uid_password, log_in};
use crate::params::{arg, dict_arg, list_arg, text_arg};
use pulse_core::Kind;

/// The Odoo series and version this host answers as.
pub const SERVER_VERSION: &str = "19.0";

/// Odoo's `release.version_info` of the series this host answers as.
pub(crate) fn release_version_info() -> Value {
    json!([19, 0, 0, "final", 0, ""])
}

/// Odoo's `version()` answer.
pub(crate) fn version() -> Value {
    json!({
        "server_version": SERVER_VERSION,
        "server_version_info": release_version_info(),
        "server_serie": SERVER_VERSION,
        "protocol_version": 1,
    })
}

/// The body limit of an RPC service: `object` calls carry credentials
/// and arguments, the others are anonymous.
pub(crate) fn service_body_limit(service: Option<&str>) -> usize {
    match service {
        Some("object") => MAX_BODY,
        _ => MAX_ANONYMOUS_BODY,
    }
}

/// Answers `service.method(*args)` for a client at `address`.
pub(crate) async fn service(
    host: &Host,
    address: IpAddr,
    service: &str,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, RpcError> {
    match (service, method) {
        ("common", "version") => Ok(version()),
        ("common", "about") => {
            let info =
                format!("See https://example.invalid/pulse — Odoo {SERVER_VERSION} compatible");
            // `about(True)`: the text and the version, as Odoo's `exp_about`.
            let extended = args.first().is_some_and(|v| {
                !matches!(v, Value::Null | Value::Bool(false))
                    && v.as_i64() != Some(0)
                    && v.as_str() != Some("")
            });
            Ok(if extended {
                json!([info, SERVER_VERSION])
            } else {
                json!(info)
            })
        }
        ("common", "set_loglevel") => Ok(json!(true)),
        ("common", "login" | "authenticate") => {
            let db = text_arg(&args, 0, "db")?;
            let login = text_arg(&args, 1, "login")?;
            let password = text_arg(&args, 2, "password")?;
            match log_in(host, address, db, login, password, Door::Rpc, None).await {
                Ok((user, _)) => Ok(json!(user.uid)),
                // Odoo answers False for bad credentials.
                Err(e) if e.exception == Exception::Core(Kind::AccessDenied) => Ok(json!(false)),
                Err(e) => Err(e),
            }
        }
        ("object", "execute_kw" | "execute") => {
            let keyword = method == "execute_kw";
            check_db(host, text_arg(&args, 0, "db")?)?;
            let uid = arg(&args, 1, "uid")?
                .as_i64()
                .or_else(|| arg(&args, 1, "uid").ok()?.as_str()?.parse().ok())
                .ok_or_else(RpcError::access_denied)?;
            let password = arg(&args, 2, "password")?.as_str().unwrap_or_default();
            check_uid_password(host, address, uid, password).await?;
            let model = text_arg(&args, 3, "model")?.to_string();
            let method = text_arg(&args, 4, "method")?.to_string();
            let (call_args, mut kwargs) = if keyword {
                (
                    list_arg(args.get(5), "args")?,
                    dict_arg(args.get(6), "kwargs")?,
                )
            } else {
                (args.get(5..).unwrap_or_default().to_vec(), Map::new())
            };
            let context = pulse_core::take_context(&mut kwargs)?;
            Ok(host
                .execute_kw(uid, &model, &method, call_args, kwargs, context)
                .await?)
        }
        ("db", "list") => Ok(json!([host.db.name])),
        ("db", "server_version") => Ok(json!(SERVER_VERSION)),
        ("db", "list_lang") => Ok(json!([["en_US", "English (US)"]])),
        ("db", "db_exist") => Ok(json!(text_arg(&args, 0, "db_name")? == host.db.name)),
        // Odoo's `exp_drop` answers False for a database it does not
        // have; nothing is dropped here either way.
        ("db", "drop") if text_arg(&args, 1, "db_name")? != host.db.name => Ok(json!(false)),
        ("db", _) => {
            // Creating, dropping, duplicating, dumping and restoring
            // databases is the operator's job here (pulse CLI, pg tools),
            // so no master password opens it over RPC.
            tracing::warn!(method, "database management over RPC refused");
            Err(RpcError::access_denied())
        }
        _ => Err(RpcError::new(
            Exception::NameError,
            format!("Method not found: {method}"),
        )),
    }
}
