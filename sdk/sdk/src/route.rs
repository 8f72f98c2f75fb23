//! HTTP routes: the request an addon's route receives and the response it
//! gives, with typed JSON helpers.
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Finalize { closing_id: i64 }
//!
//! /// `POST /shop/close` with `{"closing_id": 7}`.
//! #[route(method = "POST", path = "/shop/close", auth = "user")]
//! pub fn close(env: &Env, request: &Request) -> Result<Response> {
//!     let input: Finalize = request.json()?;
//!     Ok(Response::json(&json!({"closed": input.closing_id, "by": request.uid()})))
//! }
//!
//! /// `GET /shop/report/{id}`: a path parameter, typed.
//! #[route(method = "GET", path = "/shop/report/{id}", auth = "api_key")]
//! pub fn report(_env: &Env, request: &Request) -> Result<Response> {
//!     let id: i64 = request.param_as("id")?;
//!     Ok(Response::json(&json!({"id": id})).with_header("cache-control", "no-store"))
//! }
//!
//! pulse_sdk::addon! {
//!     models: [],
//!     routes: [close, report],
//! }
//!
//! # fn main() {
//! use pulse_sdk::Route;
//! assert_eq!(<report as Route>::PATH, "/shop/report/{id}");
//! assert_eq!(<report as Route>::AUTH, pulse_sdk::RouteAuth::ApiKey);
//! let request = Request::new("GET", "/shop/report/7").with_param("id", "7");
//! let response = <report as Route>::handle(&Env::new(), &request).unwrap();
//! assert_eq!(response.status, 200);
//! assert_eq!(response.body, br#"{"id":7}"#);
//! let bad = Request::new("GET", "/shop/report/x").with_param("id", "x");
//! assert!(<report as Route>::handle(&Env::new(), &bad).is_err());
//! # }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Env, Error, Result};

/// A route, implemented by `#[route(method = "…", path = "…", auth = "…")]`.
pub trait Route {
    /// The handler's name (the function's).
    const NAME: &'static str;
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    const METHOD: &'static str;
    /// The path pattern, with `{name}` parameters.
    const PATH: &'static str;
    /// Who may call it.
    const AUTH: pulse_schema::RouteAuth;
    /// The largest body accepted (the host's default when `None`).
    const MAX_BODY: Option<usize> = None;
    /// Runs the route.
    fn handle(env: &Env, request: &Request) -> Result<Response>;
}

/// An HTTP request routed to the addon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request path.
    pub path: String,
    /// The path pattern's parameters, in order.
    pub params: Vec<(String, String)>,
    /// The query string, without `?`, percent-encoded.
    pub query: String,
    /// Headers, names in lower case (no cookies or credentials).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The authenticated user; `None` on a public route.
    pub uid: Option<i64>,
}

impl Request {
    /// A request with no parameters, headers or body (for tests).
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            ..Request::default()
        }
    }

    /// Adds a path parameter (for tests).
    pub fn with_param(mut self, name: &str, value: &str) -> Request {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Sets the body (for tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// The authenticated user's id; `None` on a public route.
    pub fn uid(&self) -> Option<i64> {
        self.uid
    }

    /// The path parameter `name`, as text.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path parameter `name`, parsed; a UserError naming it when it
    /// is missing or does not parse.
    pub fn param_as<T: std::str::FromStr>(&self, name: &str) -> Result<T> {
        let text = self
            .param(name)
            .ok_or_else(|| Error::User(format!("the path has no parameter '{name}'")))?;
        text.parse().map_err(|_| {
            Error::User(format!(
                "path parameter '{name}': '{text}' is not a valid {}",
                short_type_name::<T>()
            ))
        })
    }

    /// The first value of the query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key) == name).then(|| percent_decode(value))
            })
            .next()
    }

    /// The header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|e| Error::User(format!("the request body is not UTF-8 text: {e}")))
    }

    /// The body decoded from JSON into `T`; a UserError saying what is
    /// wrong and where when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body)
            .map_err(|e| Error::User(format!("the request body does not fit: {e}")))
    }
}

/// The last segment of a type's path: `i64`, `Date`.
fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

/// Decodes `%XX` escapes and `+` (as a space), as forms encode them.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// What a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `200` with `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::bytes("application/json", body),
            Err(e) => Response::status(500).with_text(format!("cannot encode the answer: {e}")),
        }
    }

    /// `200` with a text body.
    pub fn text(text: impl Into<String>) -> Response {
        Response::status(200).with_text(text)
    }

    /// `200` with `body` of `content_type` (a PDF, a CSV, …).
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }

    /// The same response with another status.
    pub fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// The same response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn with_text(mut self, text: impl Into<String>) -> Response {
        self.headers.retain(|(n, _)| n != "content-type");
        self.headers
            .push(("content-type".into(), "text/plain; charset=utf-8".into()));
        self.body = text.into().into_bytes();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let mut request = Request::new("GET", "/x");
        request.query = "name=caf%C3%A9+au+lait&empty&n=2&bad=%zz".into();
        assert_eq!(request.query_param("name").as_deref(), Some("café au lait"));
        assert_eq!(request.query_param("empty").as_deref(), Some(""));
        assert_eq!(request.query_param("n").as_deref(), Some("2"));
        assert_eq!(request.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn a_body_that_does_not_fit_says_why() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Input {
            id: i64,
        }
        let request = Request::new("POST", "/x").with_body(r#"{"id": "seven"}"#);
        let error = request.json::<Input>().unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
        let empty = Request::new("POST", "/x");
        assert!(
            empty
                .json::<Input>()
                .unwrap_err()
                .to_string()
                .contains("missing field `id`")
        );
    }
}
