//! The addon's view of the host: the ORM, the caller, outbound HTTP and
//! the log.

use std::marker::PhantomData;

use crate::__rt::bindings::pulse::addon::{http, identity, log, orm, types};
use crate::{Context, CreateValues, Domain, Error, Model, Result, WriteValues};
use serde_json::{Map, Value};

/// The environment of a call into the addon: the calling user's ORM, Odoo's
/// context the call runs with, and the log. Every ORM call runs in the
/// host's transaction for this call, with the caller's access rights and
/// this environment's context.
#[derive(Debug, Default, Clone)]
pub struct Env {
    context: Context,
}

/// Who a call acts for (Odoo's `env.user`), from [`Env::user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id (`env.uid`).
    pub uid: i64,
    /// External ids of the user's groups, with the groups they imply
    /// (e.g. `base.group_user`).
    pub groups: Vec<String>,
    /// The company the call acts for (`env.company`).
    pub company_id: Option<i64>,
}

impl User {
    /// Whether the user is in the group with external id `xml_id`
    /// (Odoo's `user.has_group`).
    pub fn has_group(&self, xml_id: &str) -> bool {
        self.groups.iter().any(|g| g == xml_id)
    }
}

impl Env {
    /// The environment of the running call. Addon code receives one; a
    /// unit test of a route or method that makes no ORM call can make one
    /// (outside the host, ORM calls have no one to answer them).
    pub fn new() -> Env {
        Env::default()
    }

    /// Odoo's context the call runs with: what the caller passed (an RPC
    /// client's `context`, or the context of the addon calling).
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// This environment with another context (Odoo's `with_context`): the
    /// ORM calls made through the returned one carry `context`.
    ///
    /// ```
    /// # use pulse_sdk::{Context, Env};
    /// let env = Env::new();
    /// let archived_too = env.with_context(Context { active_test: Some(false), ..env.context().clone() });
    /// assert_eq!(archived_too.context().active_test, Some(false));
    /// ```
    pub fn with_context(&self, context: Context) -> Env {
        Env { context }
    }

    /// The context as it crosses to the host.
    fn ctx(&self) -> types::Context {
        let wire = self.context.to_wire();
        types::Context {
            lang: wire.lang,
            tz: wire.tz,
            active_test: wire.active_test,
            company_id: wire.company_id,
            extra: wire.extra,
        }
    }

    /// The user the call acts for: the RPC or route caller, or the addon
    /// itself in lifecycle hooks.
    pub fn user(&self) -> Result<User> {
        let user = identity::current_user()?;
        Ok(User {
            uid: user.uid,
            groups: user.groups,
            company_id: user.company_id,
        })
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
        DynModel { env: self, name }
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
        let text = orm::call(
            &self.ctx(),
            model,
            method,
            ids,
            &args.to_string(),
            &kwargs.to_string(),
        )?;
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
        let text = orm::call_super(&self.ctx(), ids, &args.to_string(), &kwargs.to_string())?;
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
        let answer = http::fetch(&http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            body: request
                .body
                .clone()
                .map(String::into_bytes)
                .unwrap_or_default(),
        })?;
        Ok(HttpResponse {
            status: answer.status,
            headers: answer.headers.into_iter().collect(),
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        })
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

/// Whether two model names are the same (a `const fn`, for the
/// compile-time check of [`Records::read_with`]).
const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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

    /// Reads the records `ids` into the model's struct together with an
    /// extension of the same model (`#[model(extends = "account.move")]`,
    /// the fields an addon adds to it), in one read:
    /// `env.model::<Move>().read_with::<MoveAgency>(ids)`. An extension of
    /// another model does not compile.
    pub fn read_with<E: Model>(&self, ids: &[i64]) -> Result<Vec<(M, E)>> {
        const {
            assert!(
                same_name(M::NAME, E::NAME),
                "read_with: the extension is not of this model"
            )
        };
        let mut fields = M::field_names();
        for field in E::field_names() {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        self.untyped()
            .read(ids, &fields)?
            .iter()
            .map(|record| Ok((M::from_record(record)?, E::from_record(record)?)))
            .collect()
    }

    /// Creates one record per builder (`Task::create().name("…")`);
    /// returns their ids. A builder that misses a required field is
    /// refused before anything reaches the host.
    pub fn create(&self, rows: impl IntoIterator<Item = M::Create>) -> Result<Vec<i64>> {
        let rows = rows
            .into_iter()
            .map(CreateValues::into_values)
            .collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.untyped().create(&rows)
    }

    /// Creates one record (`Task::create().name("…")`); returns its id.
    pub fn create_one(&self, row: M::Create) -> Result<i64> {
        let ids = self.create([row])?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::Internal(format!("the host created no {} record", M::NAME)))
    }

    /// Writes the values a builder holds (`Task::write().done(true)`) on
    /// the records `ids`.
    pub fn write(&self, ids: &[i64], values: M::Write) -> Result<()> {
        self.untyped()
            .write(ids, Value::Object(WriteValues::into_values(values)))
    }

    /// Deletes the records `ids`.
    pub fn unlink(&self, ids: &[i64]) -> Result<()> {
        self.untyped().unlink(ids)
    }

    /// Odoo's `search_read`: the records matching `domain` as structs, in
    /// one call to the host.
    pub fn search_read(&self, domain: &Domain) -> Result<Vec<M>> {
        let fields = M::field_names();
        self.untyped()
            .search_read(domain, &fields, 0, None, None)?
            .iter()
            .map(M::from_record)
            .collect()
    }

    /// Odoo's `name_search`: `(id, display name)` of the records whose name
    /// matches `name` (`ilike`), at most `limit` of them.
    pub fn name_search(&self, name: &str, limit: Option<u32>) -> Result<Vec<(i64, String)>> {
        self.untyped()
            .name_search(name, &Domain::all(), "ilike", limit)
    }
}

/// Untyped access to a model, by name; values are Odoo JSON.
pub struct DynModel<'env> {
    env: &'env Env,
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
            &self.env.ctx(),
            self.name,
            &domain.to_json(),
            offset,
            limit,
            order,
        )?)
    }

    /// Number of records matching `domain`.
    pub fn search_count(&self, domain: &Domain) -> Result<u64> {
        Ok(orm::search_count(
            &self.env.ctx(),
            self.name,
            &domain.to_json(),
        )?)
    }

    /// Odoo's `search_read(domain, fields, offset, limit, order)`: `fields`
    /// (all when empty) of the matching records.
    pub fn search_read(
        &self,
        domain: &Domain,
        fields: &[&str],
        offset: u32,
        limit: Option<u32>,
        order: Option<&str>,
    ) -> Result<Vec<Map<String, Value>>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let text = orm::search_read(
            &self.env.ctx(),
            self.name,
            &domain.to_json(),
            &fields,
            offset,
            limit,
            order,
        )?;
        self.records(&text)
    }

    /// Odoo's `read_group(domain, fields, groupby, offset, limit, orderby,
    /// lazy)`: one object per group, with the aggregated `fields` (`amount`,
    /// `amount:sum`, `total:sum(amount)`), the `groupby` values and the count.
    pub fn read_group(
        &self,
        domain: &Domain,
        fields: &[&str],
        groupby: &[&str],
        lazy: bool,
    ) -> Result<Vec<Map<String, Value>>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let groupby: Vec<String> = groupby.iter().map(|f| f.to_string()).collect();
        let text = orm::read_group(
            &self.env.ctx(),
            self.name,
            &domain.to_json(),
            &fields,
            &groupby,
            0,
            None,
            None,
            lazy,
        )?;
        self.records(&text)
    }

    /// Odoo's `name_search(name, domain, operator, limit)`: `(id, display
    /// name)` of the records matching `domain` whose name matches `name`.
    pub fn name_search(
        &self,
        name: &str,
        domain: &Domain,
        operator: &str,
        limit: Option<u32>,
    ) -> Result<Vec<(i64, String)>> {
        Ok(orm::name_search(
            &self.env.ctx(),
            self.name,
            name,
            &domain.to_json(),
            operator,
            limit,
        )?)
    }

    fn records(&self, text: &str) -> Result<Vec<Map<String, Value>>> {
        serde_json::from_str(text).map_err(|e| {
            Error::Internal(format!("the host returned bad JSON for {}: {e}", self.name))
        })
    }

    /// Reads `fields` (all when empty) of the records `ids`.
    pub fn read(&self, ids: &[i64], fields: &[&str]) -> Result<Vec<Map<String, Value>>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let text = orm::read(&self.env.ctx(), self.name, ids, &fields)?;
        self.records(&text)
    }

    /// Creates one record per JSON object; returns their ids.
    pub fn create(&self, rows: &[Map<String, Value>]) -> Result<Vec<i64>> {
        let text = serde_json::to_string(rows).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(orm::create(&self.env.ctx(), self.name, &text)?)
    }

    /// Writes `values` (a JSON object) on the records `ids`.
    pub fn write(&self, ids: &[i64], values: Value) -> Result<()> {
        if !values.is_object() {
            return Err(Error::User(format!(
                "write on {} expects an object of field values, got {values}",
                self.name
            )));
        }
        Ok(orm::write(
            &self.env.ctx(),
            self.name,
            ids,
            &values.to_string(),
        )?)
    }

    /// Deletes the records `ids`.
    pub fn unlink(&self, ids: &[i64]) -> Result<()> {
        Ok(orm::unlink(&self.env.ctx(), self.name, ids)?)
    }
}
