//! Odoo's JSON-RPC as a web client speaks it: a session cookie and
//! `call_kw`; and JSON-2 as a script with an API key does.

use serde_json::{Value, json};

use crate::http::Transport;
use crate::instance::Server;

/// The id a `create` (or a one-record search) answered.
pub fn id(value: Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("expected an id: {value}"))
}

/// A JSON-RPC client of `server` logged in as `login`.
pub fn logged_in(server: &Server, db: &str, login: &str, password: &str) -> Rpc {
    let mut rpc = Rpc::new(server);
    rpc.login_as(db, login, password);
    rpc
}

/// `call_kw` that must succeed; its result.
pub fn ok(rpc: &mut Rpc, model: &str, method: &str, args: Value) -> Value {
    rpc.call(model, method, args, json!({}))
        .unwrap_or_else(|e| panic!("{model}.{method} failed: {e}"))
}

/// The ids of the groups named `name` (a `res.groups` search).
pub fn groups_named(admin: &mut Rpc, name: &str) -> Value {
    ok(
        admin,
        "res.groups",
        "search",
        json!([[["name", "=", name]]]),
    )
}

/// Creates the user `login` named `name` in `groups` (ids), with
/// `password` when one is given; its id.
pub fn create_user(
    admin: &mut Rpc,
    login: &str,
    name: &str,
    password: Option<&str>,
    groups: &Value,
) -> i64 {
    let mut values = json!({"login": login, "name": name, "group_ids": [[6, 0, groups]]});
    if let Some(password) = password {
        values["password"] = json!(password);
    }
    id(ok(admin, "res.users", "create", json!([values])))
}

/// `call_kw` that must fail; the error's kind (`data.name`) and message.
pub fn refused(rpc: &mut Rpc, model: &str, method: &str, args: Value) -> (String, String) {
    let error = rpc
        .call(model, method, args, json!({}))
        .expect_err("the call must be refused");
    kind_and_message(&error)
}

/// A JSON-RPC error object's kind (`data.name`) and message.
fn kind_and_message(error: &Value) -> (String, String) {
    let text = |key: &str| error["data"][key].as_str().unwrap_or_default().to_string();
    (text("name"), text("message"))
}

/// The answer to a web login that must fail: its error's kind and message.
pub fn login_refusal(answer: &Value) -> (String, String) {
    assert!(
        answer.get("result").is_none(),
        "the login must fail: {answer}"
    );
    kind_and_message(&answer["error"])
}

/// A JSON-2 call (`POST /json/2/<model>/<method>`) with the bearer API
/// key `key`: the status and the body (as text when it is no JSON).
pub fn json2(server: &Server, key: &str, model: &str, method: &str, body: Value) -> (u16, Value) {
    let bearer = format!("bearer {key}");
    let response = server
        .request(
            "POST",
            &format!("/json/2/{model}/{method}"),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &bearer),
            ],
            &body.to_string(),
        )
        .expect("request sent");
    (
        response.status,
        serde_json::from_str(&response.body).unwrap_or(Value::String(response.body)),
    )
}

/// An Odoo JSON-RPC client holding a session cookie. It may be sent to
/// other threads.
pub struct Rpc {
    transport: Transport,
    cookie: Option<String>,
}

impl Rpc {
    /// A client of `server` (served or in process), not logged in.
    pub fn new(server: &Server) -> Rpc {
        Rpc {
            transport: server.transport.clone(),
            cookie: None,
        }
    }

    /// A client of the served `pulse` at `url`.
    pub fn at(url: &str) -> Rpc {
        Rpc {
            transport: Transport::Tcp(url.to_string()),
            cookie: None,
        }
    }

    /// POSTs a JSON-RPC call to `path`; returns the whole response object.
    pub fn post(&mut self, path: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).to_string();
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(cookie) = &self.cookie {
            headers.push(("Cookie", cookie.as_str()));
        }
        let response = self
            .transport
            .request("POST", path, &headers, body.as_bytes())
            .expect("request sent");
        assert_eq!(
            response.status, 200,
            "JSON-RPC answers 200 even for errors: {}",
            response.body
        );
        if let Some((_, set)) = response.headers.iter().find(|(k, _)| k == "set-cookie") {
            assert!(
                set.contains("HttpOnly"),
                "session cookie must be HttpOnly: {set}"
            );
            assert!(
                set.contains("SameSite"),
                "session cookie must set SameSite: {set}"
            );
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        serde_json::from_str(&response.body).expect("JSON body")
    }

    /// The session cookie (`session_id=…`) once logged in.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Logs in as admin/admin.
    pub fn login(&mut self, db: &str) -> Value {
        self.login_as(db, "admin", "admin")
    }

    /// Logs in through `/web/session/authenticate`, which must succeed.
    pub fn login_as(&mut self, db: &str, login: &str, password: &str) -> Value {
        let r = self.post(
            "/web/session/authenticate",
            json!({"db": db, "login": login, "password": password}),
        );
        assert!(r.get("result").is_some(), "{login} cannot log in: {r}");
        r
    }

    /// `call_kw`; returns the result or the error object.
    pub fn call(
        &mut self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Value, Value> {
        let r = self.post(
            "/web/dataset/call_kw",
            json!({"model": model, "method": method, "args": args, "kwargs": kwargs}),
        );
        match (r.get("result"), r.get("error")) {
            (Some(result), None) => Ok(result.clone()),
            (None, Some(error)) => Err(error.clone()),
            _ => panic!("malformed JSON-RPC response: {r}"),
        }
    }
}
