//! Calling a model method: the top of its override chain (the last addon in
//! load order that implements it), or — at the bottom of the chain — the
//! ORM's own method. RPC requests, addons calling models, and `super()` all
//! go through [`call`].

use std::sync::Arc;

use pulse_orm::{OrmError, Record};
use pulse_runtime::{CallError, MethodCall};
use pulse_schema::Context;
use serde_json::{Map, Value, json};

use crate::access::Mode;
use crate::arguments::{argument, domain_of, fields_of, ids_of, record_of, search_options};
use crate::failure::CallFailure;
use crate::method_call::CallFuture;
use crate::model_methods;
use crate::{Snapshot, TxOrm};

/// How deep addon calls may nest (method calls method calls super…).
const MAX_DEPTH: u32 = 32;

/// The ORM's own methods that take no record ids (Odoo's `@api.model`).
const MODEL_METHODS: [&str; 9] = [
    "name_search",
    "default_get",
    "read_group",
    "formatted_read_group",
    "create",
    "search",
    "search_read",
    "search_count",
    "fields_get",
];

/// The ORM's own methods.
const BUILTIN_METHODS: [&str; 16] = [
    "action_archive",
    "formatted_read_group",
    "action_unarchive",
    "name_search",
    "default_get",
    "exists",
    "copy",
    "read_group",
    "create",
    "read",
    "search",
    "search_read",
    "search_count",
    "write",
    "unlink",
    "fields_get",
];

/// Whether `method` is one of the ORM's model methods (no record ids).
pub fn is_model_method(method: &str) -> bool {
    MODEL_METHODS.contains(&method) || crate::web_methods::MODEL_METHODS.contains(&method)
}

/// Splits RPC positional arguments into record ids and the rest: record
/// methods take the ids first, model methods take none.
pub fn split_args(
    method: &str,
    mut args: Vec<Value>,
) -> Result<(Vec<i64>, Vec<Value>), CallFailure> {
    if is_model_method(method) || args.is_empty() {
        return Ok((Vec::new(), args));
    }
    let ids = ids_of(Some(&args[0]))?;
    args.remove(0);
    Ok((ids, args))
}

/// Calls `model.method` on `ids` at `level` of its override chain (the top
/// when `None`), in `orm`'s transaction, which is handed back.
///
/// A `context` keyword argument (an addon's nested call, or `super()`
/// passing its own on) is the context the call runs under, as Odoo's
/// `with_context`; without one, the caller's goes on.
#[crate::boxed]
pub async fn call(
    mut orm: TxOrm,
    model: &str,
    method: &str,
    level: Option<usize>,
    ids: Vec<i64>,
    args: Vec<Value>,
    mut kwargs: Map<String, Value>,
) -> (Result<Value, CallFailure>, TxOrm) {
    let Some(given) = kwargs.remove("context") else {
        return call_in_context(orm, model, method, level, ids, args, kwargs).await;
    };
    let context = match Context::from_value(&given) {
        Ok(context) => Arc::new(context),
        Err(e) => return (Err(e.into()), orm),
    };
    let callers = std::mem::replace(&mut orm.context, context);
    let (outcome, mut orm) = call_in_context(orm, model, method, level, ids, args, kwargs).await;
    orm.context = callers;
    (outcome, orm)
}

/// [`call`] under the session's context.
async fn call_in_context(
    orm: TxOrm,
    model: &str,
    method: &str,
    level: Option<usize>,
    ids: Vec<i64>,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> (Result<Value, CallFailure>, TxOrm) {
    let Some(snapshot) = orm.snapshot.clone() else {
        let message = format!(
            "{model}.{method} cannot be called here (only during requests, not lifecycle hooks)"
        );
        return (Err(CallFailure::Unavailable(message)), orm);
    };
    if snapshot.registry.get(model).is_none() {
        return (Err(CallFailure::NoModel(model.to_string())), orm);
    }
    let chain = snapshot
        .methods
        .get(&(model.to_string(), method.to_string()));
    let top = level.is_none();
    let level = match (level, chain) {
        (None, Some(chain)) => Some(chain.len() - 1),
        (Some(level), Some(_)) => Some(level),
        (_, None) => None,
    };
    if let (Some(level), Some(chain)) = (level, chain)
        && level < chain.len()
    {
        // Pseudo-fields (passwords) never reach addon code: they leave the
        // values before the top override runs and are set once the chain
        // has returned.
        let (mut args, mut kwargs) = (args, kwargs);
        let taken = if top && matches!(method, "create" | "write") {
            match take_pseudo_values(model, method, &mut args, &mut kwargs) {
                Ok(taken) => taken,
                Err(e) => return (Err(e), orm),
            }
        } else {
            Vec::new()
        };
        let record_ids = if taken.iter().any(Option::is_some) {
            ids.clone()
        } else {
            Vec::new()
        };
        let (outcome, mut orm) = call_addon(
            orm,
            &snapshot,
            &chain[level],
            level,
            model,
            method,
            ids,
            args,
            kwargs,
        )
        .await;
        let outcome = match outcome {
            Ok(value) if taken.iter().any(Option::is_some) => {
                set_pseudo_values(&mut orm, model, method, &value, record_ids, taken)
                    .await
                    .map(|()| value)
            }
            other => other,
        };
        return (outcome, orm);
    }
    // The compute methods of `base`'s computed fields are the host's.
    if let Some(compute) = model_methods::host_compute(model, method) {
        let mut orm = orm;
        let outcome = match orm.parts() {
            Ok((conn, o)) => compute(conn, o, method, &ids)
                .await
                .map_err(CallFailure::Orm),
            Err(e) => Err(CallFailure::Unavailable(e)),
        };
        return (outcome, orm);
    }
    // Special models may name an ORM method otherwise (Odoo's API keys' `remove`).
    let builtin_name = model_methods::alias(model, method).unwrap_or(method);
    if crate::web_methods::answers(builtin_name) {
        return crate::web_methods::call(orm, method_call, model, builtin_name, ids, args, kwargs)
            .await;
    }
    if !BUILTIN_METHODS.contains(&builtin_name) {
        let missing = CallFailure::NoMethod {
            model: model.to_string(),
            method: method.to_string(),
        };
        return (Err(missing), orm);
    }
    let mut orm = orm;
    let outcome = builtin(
        &mut orm,
        &snapshot,
        model,
        builtin_name,
        ids,
        &args,
        &kwargs,
    )
    .await;
    match outcome {
        // Recompute and validate what the method changed.
        Ok(value) if orm.orm.has_pending() => {
            let (flushed, orm) = Box::pin(crate::recompute::flush(orm, method_call)).await;
            (flushed.map(|()| value), orm)
        }
        Ok(value) => (Ok(value), orm),
        Err(e) => {
            orm.orm.take_pending();
            (Err(e), orm)
        }
    }
}

/// [`call`] at the top of the override chain with owned arguments and no
/// keyword arguments: how recomputation and x2many commands call a model
/// method (see [`crate::method_call`]).
pub fn method_call(
    orm: TxOrm,
    model: String,
    method: String,
    ids: Vec<i64>,
    args: Vec<Value>,
) -> CallFuture {
    Box::pin(async move { call(orm, &model, &method, None, ids, args, Map::new()).await })
}

/// Takes the pseudo-fields (passwords) out of the values of a `create`
/// (each row of `vals_list`) or `write` (`vals`) call, positional or
/// keyword; the models with none give none.
fn take_pseudo_values(
    model: &str,
    method: &str,
    args: &mut [Value],
    kwargs: &mut Map<String, Value>,
) -> Result<Vec<Option<String>>, CallFailure> {
    let name = if method == "create" {
        "vals_list"
    } else {
        "vals"
    };
    let values = match args.first_mut() {
        Some(value) if !value.is_null() => Some(value),
        _ => kwargs.get_mut(name),
    };
    let rows: Vec<&mut Map<String, Value>> = match values {
        Some(Value::Object(row)) => vec![row],
        Some(Value::Array(rows)) if method == "create" => {
            rows.iter_mut().filter_map(Value::as_object_mut).collect()
        }
        _ => return Ok(Vec::new()),
    };
    let mut taken = Vec::with_capacity(rows.len());
    for row in rows {
        let (mut stripped_rows, found) =
            model_methods::take_pseudo_fields(model, vec![row.clone()])?;
        if let Some(stripped) = stripped_rows.pop() {
            *row = stripped;
        }
        taken.push(found.into_iter().next().flatten());
    }
    Ok(taken)
}

/// Sets the values [`take_pseudo_values`] took, on the records the
/// call created (its answer) or wrote (`ids`, which the caller must be
/// allowed to write).
async fn set_pseudo_values(
    orm: &mut TxOrm,
    model: &str,
    method: &str,
    answer: &Value,
    ids: Vec<i64>,
    taken: Vec<Option<String>>,
) -> Result<(), CallFailure> {
    let access = orm.access.clone();
    let (conn, orm) = orm.parts().map_err(CallFailure::Unavailable)?;
    let (ids, taken) = if method == "create" {
        (ids_of(Some(answer))?, taken)
    } else {
        access
            .guard(conn, orm, model, Mode::Write, &ids)
            .await
            .map_err(CallFailure::Orm)?;
        let taken_one = taken.into_iter().next().flatten();
        let all = vec![taken_one; ids.len()];
        (ids, all)
    };
    model_methods::set_pseudo_fields(conn, model, &ids, taken).await
}

#[allow(clippy::too_many_arguments)]
async fn call_addon(
    orm: TxOrm,
    snapshot: &Arc<Snapshot>,
    addon_name: &str,
    level: usize,
    model: &str,
    method: &str,
    ids: Vec<i64>,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> (Result<Value, CallFailure>, TxOrm) {
    let Some(addon) = snapshot.addons.get(addon_name) else {
        let message = format!(
            "The method '{method}' of model '{model}' belongs to addon '{addon_name}', whose component is not available"
        );
        return (Err(CallFailure::Unavailable(message)), orm);
    };
    if orm.depth() >= MAX_DEPTH {
        let message = format!("{model}.{method}: calls nest more than {MAX_DEPTH} deep");
        return (Err(CallFailure::Unavailable(message)), orm);
    }
    // The method finds the context in its keyword arguments too, as
    // Odoo's `call_kw` receives it: the only way 0.1's boundary has.
    let mut kwargs = kwargs;
    kwargs.insert("context".into(), orm.context.to_value());
    let args = Value::Array(args).to_string();
    let kwargs = Value::Object(kwargs).to_string();
    // The method runs with the context of the call that reached it
    // (0.2 passes it typed).
    let context = orm.context.clone();
    let inner = orm.enter(
        model,
        method,
        level,
        snapshot.scopes.get(addon_name).cloned(),
    );
    let span = tracing::info_span!("addon_call", addon = %addon_name, model, method);
    let (answer, inner) = tracing::Instrument::instrument(
        Box::pin(addon.call_method(
            inner,
            &MethodCall {
                model,
                method,
                ids: &ids,
                args: &args,
                kwargs: &kwargs,
                context: &context,
            },
        )),
        span,
    )
    .await;
    crate::metrics::metrics().addon_call(addon_name, crate::metrics::outcome(&answer));
    let orm = inner.leave();
    let outcome = answer.map_err(CallFailure::Addon).and_then(|text| {
        serde_json::from_str(&text).map_err(|e| {
            CallFailure::Addon(CallError::BadAnswer {
                addon: addon_name.to_string(),
                message: format!("{model}.{method} returned invalid JSON: {e}"),
            })
        })
    });
    (outcome, orm)
}

/// Read records as `load` asks: Odoo's default `_classic_read` gives a
/// many2one as `[id, display_name]`; any other value (`None`,
/// `_classic_write`, as OdooRPC sends) gives the bare id.
fn loaded(
    registry: &pulse_orm::Registry,
    model: &str,
    load: Option<&Value>,
    mut records: Value,
) -> Value {
    let classic_read = match load {
        None => true,
        Some(Value::String(mode)) => mode == "_classic_read",
        Some(_) => false,
    };
    let Some(def) = registry.get(model).filter(|_| !classic_read) else {
        return records;
    };
    for record in records.as_array_mut().into_iter().flatten() {
        for field in def.fields() {
            if field.ttype() != pulse_schema::FieldType::Many2one {
                continue;
            }
            if let Some(value) = record.get_mut(field.name())
                && let Some(id) = value.as_array().and_then(|pair| pair.first()).cloned()
            {
                *value = id;
            }
        }
    }
    records
}

/// The ORM's own methods, with Odoo's signatures and return values.
async fn builtin(
    session: &mut TxOrm,
    snapshot: &Snapshot,
    model: &str,
    method: &str,
    ids: Vec<i64>,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let access = session.access.clone();
    // Searches leave archived records out unless the context says
    // `active_test: false`; records named by id are found whatever their state.
    let context = session.context.clone();
    let (conn, orm) = session.parts().map_err(CallFailure::Unavailable)?;
    // Access rights and record rules: a search (the domain argument
    // `domain`) is narrowed to what the user may see; records named by id
    // are checked.
    let searched = async |conn: &mut pulse_orm::Connection, domain: Option<&Value>| {
        let domain = domain_of(domain)?.searched_under(&context);
        access
            .restrict(conn, orm, model, Mode::Read, domain)
            .await
            .map_err(CallFailure::Orm)
    };
    let guard = async |conn: &mut pulse_orm::Connection, mode: Mode, ids: &[i64]| {
        access
            .guard(conn, orm, model, mode, ids)
            .await
            .map_err(CallFailure::Orm)
    };
    // What the user may not see through relations stays hidden in what
    // is read.
    let seen = async |conn: &mut pulse_orm::Connection, mut records: Vec<Record>| {
        access
            .hide_unseen(conn, orm, model, &mut records)
            .await
            .map_err(CallFailure::Orm)?;
        Ok::<_, CallFailure>(json!(records))
    };
    Ok(match method {
        "create" => {
            access
                .check_model(orm.registry(), model, Mode::Create)
                .map_err(CallFailure::Orm)?;
            let (rows, single) = match argument(a, k, 0, "vals_list") {
                Some(Value::Array(rows)) => (
                    rows.iter()
                        .map(|r| record_of(Some(r)))
                        .collect::<Result<Vec<_>, _>>()?,
                    false,
                ),
                single => (vec![record_of(single)?], true),
            };
            let (rows, taken) = model_methods::take_pseudo_fields(model, rows)?;
            model_methods::check_values(model, &rows).map_err(CallFailure::Orm)?;
            let model_def = orm.registry().require(model).map_err(CallFailure::Orm)?;
            // x2many commands run through their target models' methods
            // once the records exist.
            let (rows, commands): (Vec<_>, Vec<_>) = rows
                .iter()
                .map(|row| pulse_orm::split_x2many(model_def, row))
                .unzip();
            let ids = orm
                .create(conn, model, &rows)
                .await
                .map_err(CallFailure::Orm)?;
            model_methods::after_create(conn, orm, model, &ids, &rows)
                .await
                .map_err(CallFailure::Orm)?;
            guard(conn, Mode::Create, &ids).await?;
            model_methods::set_pseudo_fields(conn, model, &ids, taken).await?;
            for (id, commands) in ids.iter().zip(&commands) {
                x2many(session, model, *id, commands).await?;
            }
            if single { json!(ids[0]) } else { json!(ids) }
        }
        "read" => {
            let fields = fields_of(argument(a, k, 0, "fields"))?;
            guard(conn, Mode::Read, &ids).await?;
            let records = orm
                .read(conn, model, &ids, &fields)
                .await
                .map_err(CallFailure::Orm)?;
            loaded(
                orm.registry(),
                model,
                argument(a, k, 1, "load"),
                seen(conn, records).await?,
            )
        }
        "search_read" => {
            let domain = searched(conn, argument(a, k, 0, "domain")).await?;
            let fields = fields_of(argument(a, k, 1, "fields"))?;
            let options = search_options(a, k, 2)?;
            let records = orm
                .search_read(conn, model, &domain, &fields, &options)
                .await
                .map_err(CallFailure::Orm)?;
            loaded(
                orm.registry(),
                model,
                k.get("load"),
                seen(conn, records).await?,
            )
        }
        "search" => {
            let domain = searched(conn, argument(a, k, 0, "domain")).await?;
            let options = search_options(a, k, 1)?;
            json!(
                orm.search(conn, model, &domain, &options)
                    .await
                    .map_err(CallFailure::Orm)?
            )
        }
        "search_count" => {
            let domain = searched(conn, argument(a, k, 0, "domain")).await?;
            json!(
                orm.search_count(conn, model, &domain)
                    .await
                    .map_err(CallFailure::Orm)?
            )
        }
        "write" => {
            let values = record_of(argument(a, k, 0, "vals"))?;
            guard(conn, Mode::Write, &ids).await?;
            let (mut rows, taken) = model_methods::take_pseudo_fields(model, vec![values])?;
            model_methods::check_values(model, &rows).map_err(CallFailure::Orm)?;
            let values = rows.pop().unwrap_or_default();
            let taken_one = taken.into_iter().next().flatten();
            let model_def = orm.registry().require(model).map_err(CallFailure::Orm)?;
            let (own, commands) = pulse_orm::split_x2many(model_def, &values);
            if !values.is_empty() || taken_one.is_none() {
                orm.write(conn, model, &ids, &own)
                    .await
                    .map_err(CallFailure::Orm)?;
                let names: Vec<String> = commands.iter().map(|(name, _)| name.clone()).collect();
                orm.mark_written(model, &ids, &names)
                    .map_err(CallFailure::Orm)?;
                model_methods::after_write(conn, orm, model, &ids, &values)
                    .await
                    .map_err(CallFailure::Orm)?;
            }
            if let Some(taken_one) = taken_one {
                let all = vec![Some(taken_one); ids.len()];
                model_methods::set_pseudo_fields(conn, model, &ids, all).await?;
            }
            for id in &ids {
                x2many(session, model, *id, &commands).await?;
            }
            json!(true)
        }
        "action_archive" | "action_unarchive" => {
            // Odoo 19's archive buttons: a write of `active` on the records
            // whose state changes, through the model's `write` and its
            // overrides (a user archived loses its API keys).
            let archive = method == "action_archive";
            let model_def = orm.registry().require(model).map_err(CallFailure::Orm)?;
            if model_def.active_field().is_none() {
                return Err(CallFailure::Orm(OrmError::value(format!(
                    "Model '{model}' has no 'active' field: its records cannot be archived"
                ))));
            }
            guard(conn, Mode::Read, &ids).await?;
            let states = orm
                .read(conn, model, &ids, &["active".to_string()])
                .await
                .map_err(CallFailure::Orm)?;
            let changing: Vec<i64> = states
                .iter()
                .filter(|r| r.get("active").is_some_and(pulse_schema::is_truthy) == archive)
                .filter_map(|r| r.get("id").and_then(Value::as_i64))
                .collect();
            if !changing.is_empty() {
                let values = vec![json!({ "active": !archive })];
                let (outcome, back) = method_call(
                    session.take(),
                    model.into(),
                    "write".into(),
                    changing,
                    values,
                )
                .await;
                *session = back;
                outcome?;
            }
            json!(true)
        }
        "unlink" => {
            guard(conn, Mode::Unlink, &ids).await?;
            orm.unlink(conn, model, &ids)
                .await
                .map_err(CallFailure::Orm)?;
            json!(true)
        }
        "fields_get" => {
            let only = fields_of(argument(a, k, 0, "allfields"))?;
            let attributes = fields_of(argument(a, k, 1, "attributes"))?;
            let mut all = fields_get(&snapshot.registry, model);
            if let Value::Object(map) = &mut all {
                if !only.is_empty() {
                    map.retain(|name, _| only.contains(name));
                }
                if !attributes.is_empty() {
                    for attrs in map.values_mut() {
                        if let Value::Object(attrs) = attrs {
                            attrs.retain(|name, _| attributes.contains(name));
                        }
                    }
                }
            }
            all
        }
        "name_search" => {
            let name = argument(a, k, 0, "name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let domain = argument(a, k, 1, "domain").or_else(|| argument(a, k, 1, "args"));
            let domain = searched(conn, domain).await?;
            let operator = argument(a, k, 2, "operator")
                .and_then(Value::as_str)
                .unwrap_or("ilike");
            let limit = match argument(a, k, 3, "limit") {
                None | Some(Value::Bool(false)) => Some(100),
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|l| u32::try_from(l).ok())
                        .ok_or_else(|| CallFailure::BadArgument(format!("invalid limit {v}")))?,
                )
                .filter(|l| *l > 0),
            };
            let found = orm
                .name_search(conn, model, name, &domain, operator, limit)
                .await
                .map_err(CallFailure::Orm)?;
            json!(
                found
                    .into_iter()
                    .map(|(id, name)| json!([id, name]))
                    .collect::<Vec<_>>()
            )
        }
        "default_get" => {
            let fields = fields_of(
                argument(a, k, 0, "fields_list").or_else(|| argument(a, k, 0, "fields")),
            )?;
            json!(orm.default_get(model, &fields).map_err(CallFailure::Orm)?)
        }
        "exists" => {
            access
                .check_model(orm.registry(), model, Mode::Read)
                .map_err(CallFailure::Orm)?;
            json!(
                orm.exists(conn, model, &ids)
                    .await
                    .map_err(CallFailure::Orm)?
            )
        }
        "copy" => {
            let [id] = ids.as_slice() else {
                return Err(CallFailure::BadArgument(format!(
                    "copy takes one record, got {}",
                    ids.len()
                )));
            };
            let default = match argument(a, k, 0, "default") {
                None | Some(Value::Bool(false)) => Record::new(),
                other => record_of(other)?,
            };
            guard(conn, Mode::Read, &[*id]).await?;
            access
                .check_model(orm.registry(), model, Mode::Create)
                .map_err(CallFailure::Orm)?;
            let new = orm
                .copy(conn, model, *id, &default)
                .await
                .map_err(CallFailure::Orm)?;
            guard(conn, Mode::Create, &[new]).await?;
            json!(new)
        }
        "read_group" => {
            let shown = argument(a, k, 0, "domain").cloned().unwrap_or(json!([]));
            let domain = searched(conn, argument(a, k, 0, "domain")).await?;
            let fields = fields_of(argument(a, k, 1, "fields"))?;
            let groupby = groupby_of(argument(a, k, 2, "groupby"))?;
            let options = search_options(a, k, 3)?;
            let order = match argument(a, k, 5, "orderby") {
                None | Some(Value::Bool(false)) => options.order.clone(),
                Some(Value::String(order)) => Some(order.clone()),
                Some(other) => {
                    return Err(CallFailure::BadArgument(format!("invalid orderby {other}")));
                }
            };
            let lazy = argument(a, k, 6, "lazy").is_none_or(pulse_schema::is_truthy);
            let grouping = pulse_orm::Grouping {
                groupby: &groupby,
                aggregates: &fields,
                offset: options.offset as usize,
                limit: options.limit.map(|l| l as usize),
                order: order.as_deref(),
                ..pulse_orm::Grouping::default()
            };
            let groups = orm
                .read_group_shown(conn, model, &domain, &shown, &grouping, lazy)
                .await
                .map_err(CallFailure::Orm)?;
            seen(conn, groups).await?
        }
        "formatted_read_group" => {
            let domain = searched(conn, argument(a, k, 0, "domain")).await?;
            let groupby = groupby_of(argument(a, k, 1, "groupby"))?;
            let aggregates = groupby_of(argument(a, k, 2, "aggregates"))?;
            let having = match argument(a, k, 3, "having") {
                None | Some(Value::Bool(false)) => Vec::new(),
                Some(Value::Array(terms)) => terms.clone(),
                Some(other) => {
                    return Err(CallFailure::BadArgument(format!(
                        "having must be a domain on aggregates, got {other}"
                    )));
                }
            };
            let options = search_options(a, k, 4)?;
            let grouping = pulse_orm::Grouping {
                groupby: &groupby,
                aggregates: &aggregates,
                having: &having,
                offset: options.offset as usize,
                limit: options.limit.map(|l| l as usize),
                order: options.order.as_deref(),
            };
            let groups = orm
                .formatted_read_group(conn, model, &domain, &grouping)
                .await
                .map_err(CallFailure::Orm)?;
            seen(conn, groups).await?
        }
        other => {
            return Err(CallFailure::NoMethod {
                model: model.to_string(),
                method: other.to_string(),
            });
        }
    })
}

/// A `groupby` or `aggregates` argument: a list of texts, or one text.
fn groupby_of(value: Option<&Value>) -> Result<Vec<String>, CallFailure> {
    match value {
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        other => fields_of(other),
    }
}

/// Runs the x2many `commands` of record `id` through the target models'
/// methods, in `session`'s transaction.
async fn x2many(
    session: &mut TxOrm,
    model: &str,
    id: i64,
    commands: &[(String, Value)],
) -> Result<(), CallFailure> {
    if commands.is_empty() {
        return Ok(());
    }
    let (outcome, back) =
        crate::commands::apply_x2many(session.take(), method_call, model, id, commands).await;
    *session = back;
    outcome
}

fn fields_get(registry: &pulse_orm::Registry, model: &str) -> Value {
    let Some(model) = registry.get(model) else {
        return json!({});
    };
    let mut out = Map::new();
    out.insert(
        "id".into(),
        json!({
            "name": "id",
            "type": "integer",
            "string": "ID",
            "help": "",
            "readonly": true,
            "required": false,
            "store": true,
            "sortable": true,
            "groupable": true,
            "searchable": true,
        }),
    );
    // Every Odoo model has `display_name` (read, searched, never stored);
    // clients such as OdooRPC read it as a field only when it is listed.
    if model.field("display_name").is_none() {
        out.insert(
            "display_name".into(),
            json!({
                "name": "display_name",
                "type": "char",
                "string": "Display Name",
                "help": "",
                "readonly": true,
                "required": false,
                "store": false,
                "sortable": false,
                "groupable": false,
                "searchable": true,
            }),
        );
    }
    for field in model.fields() {
        let spec = &field.spec;
        let mut attrs = json!({
            "name": field.name(),
            "type": field.ttype().as_str(),
            "string": spec.string,
            "required": spec.required,
            "readonly": spec.readonly || spec.is_derived(),
            "help": spec.help.clone().unwrap_or_default(),
            "store": spec.related.is_none(),
            "sortable": field.has_column(),
            "groupable": field.has_column(),
            "searchable": true,
            "depends": spec.depends,
        });
        if let Some(path) = &spec.related {
            attrs["related"] = json!(path);
            attrs["depends"] = json!([path]);
        }
        if let Some((precision, scale)) = spec.digits {
            attrs["digits"] = json!([precision, scale]);
        }
        if let Some(relation) = &field.spec.relation {
            attrs["relation"] = json!(relation);
        }
        if let Some(inverse) = &field.spec.inverse {
            attrs["relation_field"] = json!(inverse);
        }
        if let Some(currency) = &field.spec.currency_field {
            attrs["currency_field"] = json!(currency);
        }
        if !field.spec.selection.is_empty() {
            attrs["selection"] = json!(field.spec.selection);
        }
        out.insert(field.name().to_string(), attrs);
    }
    Value::Object(out)
}
