//! The addon's view of the host: the ORM and the log.

use std::marker::PhantomData;

use crate::__rt::bindings::pulse::addon::{http, log, orm};
use crate::{Error, Model, Result};
use serde_json::{Map, Value};

/// The environment of a call into the addon: the calling user's ORM and the
/// log. Every ORM call runs in the host's transaction for this call, with the
/// caller's access rights.
#[derive(Debug, Default)]
pub struct Env {
    _private: (),
}

impl Env {
    /// The environment of the running call. Addon code receives one; a
    /// unit test of a route or method that makes no ORM call can make one
    /// (outside the host, ORM calls have no one to answer them).
    pub fn new() -> Env {
        Env { _private: () }
    }

    /// Typed access to the records of model `M`.
    pub fn model<M: Model>(&self) -> Records<'_, M> {
        Records {
            env: self,
            _model: PhantomData,
        }
    }

    /// Untyped access to any model visible to this addon, by name.
    pub fn model_named<'a>(&'a self, name: &'a str) -> DynModel<'a> {
        DynModel { _env: self, name }
    }

    /// Calls `model.method(ids, *args, **kwargs)` through the registry, as an
    /// RPC client would; `args` is a JSON array, `kwargs` a JSON object.
    pub fn call<T: serde::de::DeserializeOwned>(
        &self,
        model: &str,
        method: &str,
        ids: &[i64],
        args: Value,
        kwargs: Value,
    ) -> Result<T> {
        let text = orm::call(model, method, ids, &args.to_string(), &kwargs.to_string())?;
        parse_result(&text)
    }

    /// From inside a method: runs the implementation this method overrides
    /// (Odoo's `super()`), with these ids and arguments; the result decodes
    /// into any `T` (ask for [`Value`] to keep it as JSON).
    pub fn call_super<T: serde::de::DeserializeOwned>(
        &self,
        ids: &[i64],
        args: Value,
        kwargs: Value,
    ) -> Result<T> {
        let text = orm::call_super(ids, &args.to_string(), &kwargs.to_string())?;
        parse_result(&text)
    }

    /// Runs `f` in superuser mode: its ORM calls bypass access rights and
    /// record rules. Only for an addon whose manifest says `sudo = true`
    /// under `[permissions]` and that the admin granted it (`pulse grant
    /// ADDON sudo`); otherwise an [`Error::Access`].
    pub fn sudo<T>(&self, f: impl FnOnce(&Env) -> Result<T>) -> Result<T> {
        orm::sudo(true)?;
        let outcome = f(self);
        orm::sudo(false)?;
        outcome
    }

    /// Sends an HTTP request to a host the manifest lists under
    /// `[permissions] outbound_hosts` and the admin granted (`pulse grant
    /// ADDON http:HOST`); anything else is an [`Error::Access`] and no
    /// connection is made.
    pub fn http(&self, request: &HttpRequest) -> Result<HttpResponse> {
        let text = serde_json::to_string(request)
            .map_err(|e| Error::Internal(format!("cannot encode the request: {e}")))?;
        let answer = http::fetch(&text)?;
        serde_json::from_str(&answer)
            .map_err(|e| Error::Internal(format!("unexpected answer from the host: {e}")))
    }

    /// Writes an informational line to the host's log, under the addon's name.
    pub fn info(&self, message: &str) {
        log::log(log::Level::Info, message);
    }

    /// Writes a warning to the host's log, under the addon's name.
    pub fn warn(&self, message: &str) {
        log::log(log::Level::Warn, message);
    }
}

/// An outbound HTTP request (see [`Env::http`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL, `http://` or `https://`.
    pub url: String,
    /// Header names to values.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body, if any.
    pub body: Option<String>,
}

impl HttpRequest {
    /// A `GET` of `url`.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            ..HttpRequest::default()
        }
    }

    /// A `POST` of `body` as JSON to `url`.
    pub fn post_json(url: &str, body: &Value) -> HttpRequest {
        let mut headers = std::collections::BTreeMap::new();
        headers.insert("content-type".into(), "application/json".into());
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers,
            body: Some(body.to_string()),
        }
    }
}

/// The answer to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names to values.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body, as text.
    #[serde(default)]
    pub body: String,
}

fn parse_result<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("unexpected result from the host: {e}")))
}

/// A search domain in Odoo's syntax. Leaves are AND-ed; build it with
/// [`domain!`](crate::domain) or [`Domain::and`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    terms: Vec<Value>,
}

impl Domain {
    /// The domain that matches every record.
    pub fn all() -> Domain {
        Domain::default()
    }

    /// Adds the leaf `(field, operator, value)`, AND-ed with the rest.
    pub fn and(mut self, field: &str, operator: &str, value: Value) -> Domain {
        self.terms.push(Value::Array(vec![
            Value::String(field.to_string()),
            Value::String(operator.to_string()),
            value,
        ]));
        self
    }

    /// The domain as Odoo JSON.
    pub fn to_json(&self) -> String {
        Value::Array(self.terms.clone()).to_string()
    }
}

/// Typed access to one model's records.
pub struct Records<'env, M> {
    env: &'env Env,
    _model: PhantomData<M>,
}

impl<M: Model> Records<'_, M> {
    fn untyped(&self) -> DynModel<'_> {
        self.env.model_named(M::NAME)
    }

    /// Ids of the records matching `domain`, in the model's default order.
    pub fn search(&self, domain: &Domain) -> Result<Vec<i64>> {
        self.untyped().search(domain, 0, None, None)
    }

    /// Number of records matching `domain`.
    pub fn search_count(&self, domain: &Domain) -> Result<u64> {
        self.untyped().search_count(domain)
    }

    /// Reads the records `ids` into structs.
    pub fn read(&self, ids: &[i64]) -> Result<Vec<M>> {
        let fields = M::field_names();
        self.untyped()
            .read(ids, &fields)?
            .iter()
            .map(M::from_record)
            .collect()
    }

    /// Creates one record per struct; returns their ids.
    pub fn create(&self, rows: &[M]) -> Result<Vec<i64>> {
        let rows: Vec<Map<String, Value>> = rows.iter().map(M::to_values).collect();
        self.untyped().create(&rows)
    }

    /// Writes `values` (a JSON object) on the records `ids`.
    pub fn write(&self, ids: &[i64], values: Value) -> Result<()> {
        self.untyped().write(ids, values)
    }

    /// Deletes the records `ids`.
    pub fn unlink(&self, ids: &[i64]) -> Result<()> {
        self.untyped().unlink(ids)
    }
}

/// Untyped access to a model, by name; values are Odoo JSON.
pub struct DynModel<'env> {
    _env: &'env Env,
    name: &'env str,
}

impl DynModel<'_> {
    /// Ids of the records matching `domain`, with Odoo's offset, limit and order.
    pub fn search(
        &self,
        domain: &Domain,
        offset: u32,
        limit: Option<u32>,
        order: Option<&str>,
    ) -> Result<Vec<i64>> {
        Ok(orm::search(
            self.name,
            &domain.to_json(),
            offset,
            limit,
            order,
        )?)
    }

    /// Number of records matching `domain`.
    pub fn search_count(&self, domain: &Domain) -> Result<u64> {
        Ok(orm::search_count(self.name, &domain.to_json())?)
    }

    /// Reads `fields` (all when empty) of the records `ids`.
    pub fn read(&self, ids: &[i64], fields: &[&str]) -> Result<Vec<Map<String, Value>>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let text = orm::read(self.name, ids, &fields)?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Internal(format!("the host returned bad JSON for {}: {e}", self.name))
        })
    }

    /// Creates one record per JSON object; returns their ids.
    pub fn create(&self, rows: &[Map<String, Value>]) -> Result<Vec<i64>> {
        let text = serde_json::to_string(rows).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(orm::create(self.name, &text)?)
    }

    /// Writes `values` (a JSON object) on the records `ids`.
    pub fn write(&self, ids: &[i64], values: Value) -> Result<()> {
        if !values.is_object() {
            return Err(Error::User(format!(
                "write on {} expects an object of field values, got {values}",
                self.name
            )));
        }
        Ok(orm::write(self.name, ids, &values.to_string())?)
    }

    /// Deletes the records `ids`.
    pub fn unlink(&self, ids: &[i64]) -> Result<()> {
        Ok(orm::unlink(self.name, ids)?)
    }
}
