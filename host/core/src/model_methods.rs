//! What particular models add to the generic call machinery, in one table
//! the dispatcher and the host's call entry consult: `res.users`' password
//! (a value of `create` and `write` that is no field), what a
//! deactivation does to its credentials and its `context_get`, the
//! partners users and companies share (`crate::people`), the computed
//! fields of `base` models the host computes itself, the API
//! keys' `remove`, and the Apps buttons of `ir.module.module` and its
//! upgrade wizard. The dispatcher never names a model; a special model
//! adds a row here.

use std::future::Future;
use std::pin::Pin;

use pulse_orm::{Connection, Orm, OrmError, Record};
use serde_json::Value;

use crate::Host;
use crate::failure::{CallFailure, Failure};

/// A boxed future borrowing its arguments.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Values taken out of `create`/`write` rows, one per row (`None` where a
/// row had none).
pub type Taken = Vec<Option<String>>;

/// Values of a model's `create` and `write` that are no stored fields:
/// taken out before the values are written (or reach addon code) and set
/// once the records exist, in the same transaction.
#[derive(Debug, Clone, Copy)]
pub struct PseudoFields {
    /// Takes the values out of the rows.
    pub take: TakeValues,
    /// Sets what was taken on the records `ids` (in the rows' order).
    pub set: SetValues,
}

/// Takes pseudo-field values out of rows: the rows without them, and what was taken.
pub type TakeValues = fn(Vec<Record>) -> Result<(Vec<Record>, Taken), CallFailure>;

/// Sets taken pseudo-field values on the records `ids`.
pub type SetValues =
    for<'a> fn(&'a mut Connection, &'a [i64], Taken) -> BoxFuture<'a, Result<(), CallFailure>>;

/// What a write of some values to some records does beyond the write, in
/// the same transaction; every ORM write path runs it (RPC, addon code,
/// data files).
pub type AfterWrite = for<'a> fn(
    &'a mut Connection,
    &'a Orm,
    &'a [i64],
    &'a Record,
) -> BoxFuture<'a, Result<(), OrmError>>;

/// What creating some records from some rows (one per record) does beyond
/// the create, in the same transaction; every ORM create path runs it.
pub type AfterCreate = for<'a> fn(
    &'a mut Connection,
    &'a Orm,
    &'a [i64],
    &'a [Record],
) -> BoxFuture<'a, Result<(), OrmError>>;

/// Checks the values of a `create` (one row per record) or a `write`
/// (one row) before anything is written.
pub type CheckValues = fn(&[Record]) -> Result<(), OrmError>;

/// A method the host answers itself, outside any call's transaction (the
/// lifecycle runs its own).
pub type HostMethod = for<'a> fn(&'a Host, HostCall<'a>) -> BoxFuture<'a, Result<Value, Failure>>;

/// A call of a [`HostMethod`]: who calls which method on which records.
#[derive(Debug, Clone, Copy)]
pub struct HostCall<'a> {
    /// The caller.
    pub uid: i64,
    /// The model.
    pub model: &'a str,
    /// The method.
    pub method: &'a str,
    /// The records.
    pub ids: &'a [i64],
    /// The positional arguments after the records (all of them for a
    /// method of the model, see [`takes_no_records`]).
    pub args: &'a [Value],
    /// The keyword arguments.
    pub kwargs: &'a serde_json::Map<String, Value>,
}

/// What one model adds.
#[derive(Debug, Clone, Copy)]
pub struct ModelMethods {
    /// The model.
    pub model: &'static str,
    /// RPC method names that stand for an ORM method.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Its pseudo-fields, if any.
    pub pseudo_fields: Option<PseudoFields>,
    /// What its writes do beyond the write, if anything.
    pub after_write: Option<AfterWrite>,
    /// What its creates do beyond the create, if anything.
    pub after_create: Option<AfterCreate>,
    /// What its `create` and `write` values must satisfy, from RPC clients
    /// and addon code alike, if anything.
    pub check: Option<CheckValues>,
    /// The methods the host answers itself (`Some(&[])`: every method),
    /// and how.
    pub host_methods: Option<(&'static [&'static str], HostMethod)>,
}

/// The special models.
const MODELS: [ModelMethods; 8] = [
    ModelMethods {
        model: crate::auth::USERS_MODEL,
        aliases: &[],
        pseudo_fields: Some(PseudoFields {
            take: crate::auth::take_passwords,
            set: set_passwords,
        }),
        after_write: Some(after_user_write),
        after_create: Some(after_user_create),
        check: None,
        host_methods: Some((&["context_get"], user_context)),
    },
    // Odoo's `res.users.apikeys.remove()` is a revocation, i.e. an unlink
    // under the caller's rights and record rules.
    ModelMethods {
        model: crate::auth::API_KEY_MODEL,
        aliases: &[("remove", "unlink")],
        pseudo_fields: None,
        after_write: None,
        after_create: None,
        check: None,
        host_methods: None,
    },
    ModelMethods {
        model: crate::base::MODULE_MODEL,
        aliases: &[],
        pseudo_fields: None,
        after_write: None,
        after_create: None,
        check: None,
        host_methods: Some((&crate::modules::MODULE_METHODS, lifecycle_method)),
    },
    ModelMethods {
        model: crate::modules::UPGRADE_WIZARD,
        aliases: &[],
        pseudo_fields: None,
        after_write: None,
        after_create: None,
        check: None,
        host_methods: Some((&[], lifecycle_method)),
    },
    // Odoo's outbox: addresses and subjects are checked before they are
    // stored, so none carries a header of its own.
    ModelMethods {
        model: crate::base::MAIL_MODEL,
        aliases: &[],
        pseudo_fields: None,
        after_write: None,
        after_create: None,
        check: Some(crate::mail::check_values),
        host_methods: None,
    },
    // Odoo's partners: their commercial entity and complete name, and
    // their users' and companies' copies of what they share.
    ModelMethods {
        model: crate::people::PARTNER_MODEL,
        aliases: &[],
        pseudo_fields: None,
        after_write: Some(after_partner_write),
        after_create: None,
        check: None,
        host_methods: None,
    },
    // A company's partner, made with it and kept in step.
    ModelMethods {
        model: crate::people::COMPANY_MODEL,
        aliases: &[],
        pseudo_fields: None,
        after_write: Some(after_company_write),
        after_create: Some(after_company_create),
        check: None,
        host_methods: None,
    },
    // Odoo's external-id lookups for RPC clients.
    ModelMethods {
        model: "ir.model.data",
        aliases: &[],
        pseudo_fields: None,
        after_write: None,
        after_create: None,
        check: None,
        host_methods: Some((&["check_object_reference"], external_id_method)),
    },
];

/// Host methods of a model rather than of records (Odoo's `@api.model`):
/// their first positional argument is no list of ids.
const TAKES_NO_RECORDS: [(&str, &str); 1] = [("ir.model.data", "check_object_reference")];

/// Whether the host method `model.method` takes no record ids.
pub fn takes_no_records(model: &str, method: &str) -> bool {
    TAKES_NO_RECORDS.contains(&(model, method))
}

/// A compute method the host answers itself for a model of `base`, as an
/// addon's would: the records' ids in, `[[id, value], …]` out.
pub type HostCompute = for<'a> fn(
    &'a mut Connection,
    &'a Orm,
    &'a str,
    &'a [i64],
) -> BoxFuture<'a, Result<Value, OrmError>>;

/// The compute methods of `base`'s stored computed fields.
const HOST_COMPUTES: [(&str, &str, HostCompute); 5] = [
    ("res.currency", "_compute_current_rate", currency_compute),
    ("res.currency", "_compute_decimal_places", currency_compute),
    ("res.partner", "_compute_commercial_partner", people_compute),
    ("res.partner", "_compute_complete_name", people_compute),
    ("res.users", "_compute_share", people_compute),
];

/// How the host computes what `model.method` computes, when it does.
pub fn host_compute(model: &str, method: &str) -> Option<HostCompute> {
    HOST_COMPUTES
        .iter()
        .find(|(m, name, _)| *m == model && *name == method)
        .map(|(_, _, compute)| *compute)
}

fn currency_compute<'a>(
    conn: &'a mut Connection,
    _orm: &'a Orm,
    method: &'a str,
    ids: &'a [i64],
) -> BoxFuture<'a, Result<Value, OrmError>> {
    Box::pin(crate::reference::compute_currency_fields(conn, method, ids))
}

fn external_id_method<'a>(
    host: &'a Host,
    call: HostCall<'a>,
) -> BoxFuture<'a, Result<Value, Failure>> {
    Box::pin(crate::external_ids::check_object_reference(
        host,
        call.uid,
        call.args,
        call.kwargs,
    ))
}

fn set_passwords<'a>(
    conn: &'a mut Connection,
    ids: &'a [i64],
    passwords: Taken,
) -> BoxFuture<'a, Result<(), CallFailure>> {
    Box::pin(crate::auth::set_passwords(conn, ids, passwords))
}

fn after_user_write<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    ids: &'a [i64],
    values: &'a Record,
) -> BoxFuture<'a, Result<(), OrmError>> {
    Box::pin(async move {
        crate::auth::after_write(conn, ids, values).await?;
        crate::people::after_delegating_write(conn, orm, crate::people::USERS_MODEL, ids, values)
            .await
    })
}

fn after_user_create<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    ids: &'a [i64],
    rows: &'a [Record],
) -> BoxFuture<'a, Result<(), OrmError>> {
    crate::people::after_create(conn, orm, crate::people::USERS_MODEL, ids, rows)
}

fn after_company_write<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    ids: &'a [i64],
    values: &'a Record,
) -> BoxFuture<'a, Result<(), OrmError>> {
    crate::people::after_delegating_write(conn, orm, crate::people::COMPANY_MODEL, ids, values)
}

fn after_company_create<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    ids: &'a [i64],
    rows: &'a [Record],
) -> BoxFuture<'a, Result<(), OrmError>> {
    crate::people::after_create(conn, orm, crate::people::COMPANY_MODEL, ids, rows)
}

fn after_partner_write<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    ids: &'a [i64],
    values: &'a Record,
) -> BoxFuture<'a, Result<(), OrmError>> {
    crate::people::after_partner_write(conn, orm, ids, values)
}

fn people_compute<'a>(
    conn: &'a mut Connection,
    orm: &'a Orm,
    method: &'a str,
    ids: &'a [i64],
) -> BoxFuture<'a, Result<Value, OrmError>> {
    crate::people::compute(conn, orm, method, ids)
}

fn user_context<'a>(host: &'a Host, call: HostCall<'a>) -> BoxFuture<'a, Result<Value, Failure>> {
    Box::pin(crate::auth::context_get(host, call.uid))
}

fn lifecycle_method<'a>(
    host: &'a Host,
    call: HostCall<'a>,
) -> BoxFuture<'a, Result<Value, Failure>> {
    let HostCall { uid, ids, .. } = call;
    Box::pin(crate::modules::run(host, uid, call.model, call.method, ids))
}

fn of(model: &str) -> Option<&'static ModelMethods> {
    MODELS.iter().find(|m| m.model == model)
}

/// The ORM method `method` of `model` stands for, when it is an alias.
pub fn alias(model: &str, method: &str) -> Option<&'static str> {
    of(model)?
        .aliases
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, builtin)| *builtin)
}

/// Takes the pseudo-fields of `model` out of `rows`; nothing for a model
/// that has none.
pub fn take_pseudo_fields(
    model: &str,
    rows: Vec<Record>,
) -> Result<(Vec<Record>, Taken), CallFailure> {
    match of(model).and_then(|m| m.pseudo_fields) {
        Some(fields) => (fields.take)(rows),
        None => Ok((rows, Vec::new())),
    }
}

/// Sets the pseudo-fields [`take_pseudo_fields`] took, on the records `ids`.
#[crate::boxed]
pub async fn set_pseudo_fields(
    conn: &mut Connection,
    model: &str,
    ids: &[i64],
    taken: Taken,
) -> Result<(), CallFailure> {
    match of(model).and_then(|m| m.pseudo_fields) {
        Some(fields) if taken.iter().any(Option::is_some) => (fields.set)(conn, ids, taken).await,
        _ => Ok(()),
    }
}

/// What writing `values` to the records `ids` of `model` does beyond the write.
#[crate::boxed]
pub async fn after_write(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    ids: &[i64],
    values: &Record,
) -> Result<(), OrmError> {
    match of(model).and_then(|m| m.after_write) {
        Some(after) => after(conn, orm, ids, values).await,
        None => Ok(()),
    }
}

/// What creating the records `ids` of `model` from `rows` does beyond the create.
#[crate::boxed]
pub async fn after_create(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    ids: &[i64],
    rows: &[Record],
) -> Result<(), OrmError> {
    match of(model).and_then(|m| m.after_create) {
        Some(after) => after(conn, orm, ids, rows).await,
        None => Ok(()),
    }
}

/// Checks the values of a `create` or `write` on `model` (see
/// [`ModelMethods::check`]); every model without a check accepts them.
pub fn check_values(model: &str, rows: &[Record]) -> Result<(), OrmError> {
    match of(model).and_then(|m| m.check) {
        Some(check) => check(rows),
        None => Ok(()),
    }
}

/// How the host answers `model.method` itself, when it does.
pub fn host_method(model: &str, method: &str) -> Option<HostMethod> {
    let (methods, run) = of(model)?.host_methods?;
    (methods.is_empty() || methods.contains(&method)).then_some(run)
}
