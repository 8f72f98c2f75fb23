//! Odoo's `/jsonrpc`: the `common`, `object` and `db` services over
//! JSON-RPC 2.0, with Odoo's error objects.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use pulse_core::Host;
use serde_json::Value;

use crate::body::{JsonBody, MAX_ANONYMOUS_BODY, MAX_BODY, too_large};
use crate::faults::{RpcError, json_error, reply};
use crate::identity::{ProxyMode, check_db, check_uid_password, client_address};
use crate::params::{answer_request, invalid_json, list_arg, text_param};
use crate::services::service;

/// `POST /jsonrpc`.
pub(crate) async fn jsonrpc(
    State(host): State<Arc<Host>>,
    Extension(proxy): Extension<Arc<ProxyMode>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MAX_BODY>,
) -> Response {
    let address = client_address(&proxy, peer, &headers);
    // The service and the credentials are inside the body: a body larger
    // than an anonymous request is only parsed whole once a pass that
    // builds nothing has found an `object` call with valid credentials.
    if body.len() > MAX_ANONYMOUS_BODY
        && let Err(refusal) = check_large_jsonrpc(&host, address, &body).await
    {
        return refusal;
    }
    answer_request(&body, async |params| {
        let name = text_param(&params, "service")?;
        let method = text_param(&params, "method")?;
        let args = list_arg(params.get("args"), "args")?;
        service(&host, address, name, method, args).await
    })
    .await
}

/// Refuses a large `/jsonrpc` body before it is parsed whole: anything but
/// an `object` call gets 413, and an `object` call whose database, uid or
/// password do not check out gets Odoo's AccessDenied. The pass reads only
/// the service and the first three arguments and skips every other value
/// without building it, so a hostile body costs no more than its bytes.
async fn check_large_jsonrpc(
    host: &Host,
    address: std::net::IpAddr,
    body: &[u8],
) -> Result<(), Response> {
    let head: rpc_head::Head =
        serde_json::from_slice(body).map_err(|e| reply(&Value::Null, Err(invalid_json(e))))?;
    let id = head.id.into_value();
    let params = head.params.unwrap_or_default();
    if params.service.as_deref() != Some("object") {
        let (status, e) = too_large(MAX_ANONYMOUS_BODY);
        return Err(json_error(status, &e));
    }
    let [db, uid, password] = params.args.unwrap_or_default().0;
    let checked = async {
        check_db(host, db.as_text().ok_or_else(RpcError::access_denied)?)?;
        let uid = uid.as_id().ok_or_else(RpcError::access_denied)?;
        check_uid_password(host, address, uid, password.as_text().unwrap_or_default()).await
    }
    .await;
    checked.map_err(|e| reply(&id, Err(e)))
}

/// The part of a JSON-RPC request a large body must show before it is
/// parsed whole, read without building any other value.
mod rpc_head {
    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    #[derive(Debug, Default, serde::Deserialize)]
    pub(super) struct Head {
        #[serde(default)]
        pub id: Scalar,
        #[serde(default)]
        pub params: Option<Params>,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    pub(super) struct Params {
        #[serde(default)]
        pub service: Option<String>,
        #[serde(default)]
        pub args: Option<FirstArgs>,
    }

    /// The first three arguments (`db`, `uid`, `password` of an `object`
    /// call); the rest are skipped.
    #[derive(Debug, Default)]
    pub(super) struct FirstArgs(pub [Scalar; 3]);

    /// A string or an integer; any other value is skipped unbuilt.
    #[derive(Debug, Default)]
    pub(super) enum Scalar {
        Text(String),
        Integer(i64),
        #[default]
        Other,
    }

    impl Scalar {
        pub fn as_text(&self) -> Option<&str> {
            match self {
                Scalar::Text(text) => Some(text),
                _ => None,
            }
        }

        /// An id, given as a number or as its digits (as `service` takes it).
        pub fn as_id(&self) -> Option<i64> {
            match self {
                Scalar::Integer(n) => Some(*n),
                Scalar::Text(text) => text.parse().ok(),
                Scalar::Other => None,
            }
        }

        pub fn into_value(self) -> Value {
            match self {
                Scalar::Text(text) => Value::String(text),
                Scalar::Integer(n) => Value::from(n),
                Scalar::Other => Value::Null,
            }
        }
    }

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
            struct ScalarVisitor;
            impl<'de> Visitor<'de> for ScalarVisitor {
                type Value = Scalar;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar::Text(v.to_string()))
                }
                fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                    Ok(Scalar::Text(v))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar::Integer(v))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                    Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Integer))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_unit<E>(self) -> Result<Scalar, E> {
                    Ok(Scalar::Other)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Scalar::Other)
                }
            }
            deserializer.deserialize_any(ScalarVisitor)
        }
    }

    impl<'de> Deserialize<'de> for FirstArgs {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FirstArgs, D::Error> {
            struct ArgsVisitor;
            impl<'de> Visitor<'de> for ArgsVisitor {
                type Value = FirstArgs;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a list of arguments")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstArgs, A::Error> {
                    let mut first = FirstArgs::default();
                    for slot in &mut first.0 {
                        match seq.next_element::<Scalar>()? {
                            Some(value) => *slot = value,
                            None => return Ok(first),
                        }
                    }
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(first)
                }
                // Anything but a list is refused later, by the whole parse.
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstArgs, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(FirstArgs::default())
                }
                fn visit_str<E>(self, _: &str) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_i64<E>(self, _: i64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_u64<E>(self, _: u64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_f64<E>(self, _: f64) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_bool<E>(self, _: bool) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
                fn visit_unit<E>(self) -> Result<FirstArgs, E> {
                    Ok(FirstArgs::default())
                }
            }
            deserializer.deserialize_any(ArgsVisitor)
        }
    }
}
