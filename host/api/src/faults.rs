//! The one table from an exception kind to each protocol's fault: the
//! Python class Odoo names in a JSON-RPC error object (`data.name`), the
//! XML-RPC `faultCode`, and the JSON-2 status. The core reports a
//! [`Kind`]; the HTTP layer adds its own (werkzeug's) kinds. Every
//! exception name Pulse answers with is written here, once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pulse_core::{Failure, Kind};
use serde_json::{Value, json};

/// What a caller is told went wrong: a kind of the core's, or one of the
/// HTTP layer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// A failure of the host's (access, validation, an addon trap, …).
    Core(Kind),
    /// No such RPC service method.
    NameError,
    /// No session, or one that ended.
    SessionExpired,
    /// A body that cannot be read as the protocol wants.
    BadRequest,
    /// Credentials missing or wrong (JSON-2, addon routes, `/metrics`).
    Unauthorized,
    /// Nothing is served there.
    NotFound,
    /// The path is served, not with that method.
    MethodNotAllowed,
    /// A body over the endpoint's limit.
    RequestEntityTooLarge,
    /// A body of another media type than the endpoint takes.
    UnsupportedMediaType,
    /// A well-formed request that cannot be carried out as asked.
    UnprocessableEntity,
    /// The host cannot answer now (addons not loaded, a request too slow).
    ServiceUnavailable,
    /// An XML-RPC body that is no XML-RPC call.
    ExpatError,
}

/// The table, one row per kind: the Python class Odoo names, XML-RPC's
/// fault code (Odoo's 3 for AccessDenied, 4 for AccessError, 2 for its
/// warnings, UserError and its subclasses, 1 for anything else) and
/// JSON-2's status (addon routes answer the same way). A `match`, so that
/// a kind without a row does not compile.
fn fault(exception: Exception) -> (&'static str, i64, StatusCode) {
    use Exception::*;
    use Kind::*;
    match exception {
        Core(AccessDenied) => ("odoo.exceptions.AccessDenied", 3, StatusCode::FORBIDDEN),
        Core(AccessError) => ("odoo.exceptions.AccessError", 4, StatusCode::FORBIDDEN),
        Core(UserError) => (
            "odoo.exceptions.UserError",
            2,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Core(ValidationError) => (
            "odoo.exceptions.ValidationError",
            2,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Core(MissingError) => ("odoo.exceptions.MissingError", 2, StatusCode::NOT_FOUND),
        Core(ValueError) => ("builtins.ValueError", 1, StatusCode::UNPROCESSABLE_ENTITY),
        Core(TypeError) => ("builtins.TypeError", 1, StatusCode::UNPROCESSABLE_ENTITY),
        Core(KeyError) => ("builtins.KeyError", 1, StatusCode::NOT_FOUND),
        Core(AttributeError) => ("builtins.AttributeError", 1, StatusCode::NOT_FOUND),
        Core(DatabaseError) => ("psycopg2.Error", 1, StatusCode::INTERNAL_SERVER_ERROR),
        Core(AddonError) => (
            "pulse.exceptions.AddonError",
            1,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        Core(AddonTrap) => (
            "pulse.exceptions.AddonTrap",
            1,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        Core(AddonTimeout) => (
            "pulse.exceptions.AddonTimeout",
            1,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        Core(AddonOutOfMemory) => (
            "pulse.exceptions.AddonOutOfMemory",
            1,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        // Not 3: XML-RPC says nothing but "Access Denied" under AccessDenied's code.
        Core(SecondFactorRequired) => (
            "pulse.exceptions.SecondFactorRequired",
            1,
            StatusCode::UNAUTHORIZED,
        ),
        NameError => ("builtins.NameError", 1, StatusCode::INTERNAL_SERVER_ERROR),
        SessionExpired => (
            "odoo.http.SessionExpiredException",
            1,
            StatusCode::UNAUTHORIZED,
        ),
        BadRequest => ("werkzeug.exceptions.BadRequest", 1, StatusCode::BAD_REQUEST),
        Unauthorized => (
            "werkzeug.exceptions.Unauthorized",
            1,
            StatusCode::UNAUTHORIZED,
        ),
        NotFound => ("werkzeug.exceptions.NotFound", 1, StatusCode::NOT_FOUND),
        MethodNotAllowed => (
            "werkzeug.exceptions.MethodNotAllowed",
            1,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        RequestEntityTooLarge => (
            "werkzeug.exceptions.RequestEntityTooLarge",
            1,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        UnsupportedMediaType => (
            "werkzeug.exceptions.UnsupportedMediaType",
            1,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        UnprocessableEntity => (
            "werkzeug.exceptions.UnprocessableEntity",
            1,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ServiceUnavailable => (
            "werkzeug.exceptions.ServiceUnavailable",
            1,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        ExpatError => ("xml.parsers.expat.ExpatError", 1, StatusCode::BAD_REQUEST),
    }
}

impl Exception {
    /// The Python class Odoo names.
    pub fn name(self) -> &'static str {
        fault(self).0
    }

    /// The class name without its module (`AccessError`).
    pub fn short_name(self) -> &'static str {
        let name = self.name();
        name.rsplit('.').next().unwrap_or(name)
    }

    /// XML-RPC's fault code.
    pub fn fault_code(self) -> i64 {
        fault(self).1
    }

    /// JSON-2's status.
    pub fn status(self) -> StatusCode {
        fault(self).2
    }
}

/// An error as the protocols report it: its kind and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// What kind of error.
    pub exception: Exception,
    /// What to tell the caller.
    pub text: String,
}

impl RpcError {
    /// An error of `exception` saying `text`.
    pub fn new(exception: Exception, text: impl Into<String>) -> RpcError {
        RpcError {
            exception,
            text: text.into(),
        }
    }

    /// A failure of the core's `kind`.
    pub fn core(kind: Kind, text: impl Into<String>) -> RpcError {
        RpcError::new(Exception::Core(kind), text)
    }

    /// Odoo's "Session expired".
    pub fn session_expired() -> RpcError {
        RpcError::new(Exception::SessionExpired, "Session expired")
    }

    /// Odoo's AccessDenied.
    pub fn access_denied() -> RpcError {
        Failure::access_denied().into()
    }

    /// The Python class Odoo names.
    pub fn name(&self) -> &'static str {
        self.exception.name()
    }

    /// Odoo's JSON-RPC error object.
    pub fn to_json(&self) -> Value {
        // Odoo 19's codes: 0 ("we don't care", 200 before 19) but for
        // werkzeug's NotFound and an expired session.
        let (code, message) = match self.exception {
            Exception::SessionExpired => (100, "Odoo Session Expired"),
            Exception::NotFound => (404, "404: Not Found"),
            _ => (0, "Odoo Server Error"),
        };
        json!({
            "code": code,
            "message": message,
            "data": {
                "name": self.name(),
                "debug": "",
                "message": self.text,
                "arguments": [self.text],
                "context": {},
            }
        })
    }
}

impl From<Failure> for RpcError {
    fn from(f: Failure) -> RpcError {
        RpcError::core(f.kind, f.message)
    }
}

impl From<pulse_core::Error> for RpcError {
    fn from(e: pulse_core::Error) -> RpcError {
        Failure::from(e).into()
    }
}

impl From<sqlx::Error> for RpcError {
    fn from(e: sqlx::Error) -> RpcError {
        Failure::from(e).into()
    }
}

/// An error as JSON-2 answers it (addon routes answer the same way).
pub fn json_error(status: StatusCode, e: &RpcError) -> Response {
    let body = json!({
        "name": e.name(),
        "message": e.text,
        "arguments": [e.text],
        "context": {},
        "debug": "",
    });
    (status, axum::Json(body)).into_response()
}

/// A JSON-RPC response with the request's id.
pub fn reply(id: &Value, outcome: Result<Value, RpcError>) -> Response {
    let body = match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}),
    };
    axum::Json(body).into_response()
}
