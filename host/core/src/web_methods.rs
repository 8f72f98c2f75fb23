//! Odoo 19's ORM methods a client calls that are made of other methods:
//! the web client's `web_search_read`, `web_read` and `web_save` with
//! field specifications, `name_create`, `search_fetch`, `get_views`, and
//! import and export (`load`, `export_data`).
//!
//! Each runs the model's own methods (`search`, `read`, `create`, `write`,
//! `name_search`) through the function the dispatcher hands it, at the top
//! of their override chains, so access rights, record rules, addon
//! overrides and the context apply as to a client calling them one by one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use pulse_orm::{FieldDef, ModelDef, OrmError};
use pulse_schema::{Context, FieldType};
use serde_json::{Map, Value, json};

use crate::TxOrm;
use crate::arguments::{argument, fields_of, ids_of, search_options};
use crate::failure::CallFailure;
use crate::method_call::MethodCall;

/// The methods this module answers that take no record ids (`@api.model`).
pub const MODEL_METHODS: [&str; 5] = [
    "web_search_read",
    "name_create",
    "search_fetch",
    "load",
    "get_views",
];

/// The methods this module answers that take record ids first.
const RECORD_METHODS: [&str; 3] = ["web_read", "web_save", "export_data"];

/// How deep a field specification may nest (`partner_id` → `fields` →
/// `country_id` → …); deeper ones are refused before anything is read.
pub const MAX_SPECIFICATION_DEPTH: usize = 16;

/// How many segments an export path may have (`partner_id/country_id/name`).
const MAX_EXPORT_PATH: usize = 8;

/// How many rows one `load` may import.
pub const MAX_LOAD_ROWS: usize = 100_000;

/// Whether this module answers `method`.
pub fn answers(method: &str) -> bool {
    MODEL_METHODS.contains(&method) || RECORD_METHODS.contains(&method)
}

/// Runs `model.method` (one [`answers`] accepts) in `orm`'s session,
/// calling other methods through `call`; the session comes back.
#[crate::boxed]
pub async fn call(
    orm: TxOrm,
    call: MethodCall,
    model: &str,
    method: &str,
    ids: Vec<i64>,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> (Result<Value, CallFailure>, TxOrm) {
    let mut calls = Calls { orm, call };
    let (a, k) = (args.as_slice(), &kwargs);
    let outcome = match method {
        "web_read" => match specification(argument(a, k, 0, "specification")) {
            Ok(spec) => web_read(&mut calls, model, ids, spec, 0).await,
            Err(e) => Err(e),
        },
        "web_search_read" => web_search_read(&mut calls, model, a, k).await,
        "web_save" => web_save(&mut calls, model, ids, a, k).await,
        "name_create" => name_create(&mut calls, model, a, k).await,
        "search_fetch" => search_fetch(&mut calls, model, a, k).await,
        "export_data" => export_data(&mut calls, model, ids, a, k).await,
        "load" => load(&mut calls, model, a, k).await,
        "get_views" => get_views(&mut calls, model, a, k).await,
        other => Err(CallFailure::NoMethod {
            model: model.to_string(),
            method: other.to_string(),
        }),
    };
    (outcome, calls.orm)
}

/// The session, and how to call a model method in it.
struct Calls {
    orm: TxOrm,
    call: MethodCall,
}

impl Calls {
    /// `model.method(ids, *args)` at the top of its override chain.
    async fn run(
        &mut self,
        model: &str,
        method: &str,
        ids: Vec<i64>,
        args: Vec<Value>,
    ) -> Result<Value, CallFailure> {
        let (outcome, back) = (self.call)(
            self.orm.take(),
            model.to_string(),
            method.to_string(),
            ids,
            args,
        )
        .await;
        self.orm = back;
        outcome
    }

    /// [`Calls::run`] under the context with `extra` keys set (Odoo's
    /// `with_context(**extra)`).
    async fn run_with(
        &mut self,
        extra: &Map<String, Value>,
        model: &str,
        method: &str,
        ids: Vec<i64>,
        args: Vec<Value>,
    ) -> Result<Value, CallFailure> {
        let callers = swap_context(self, extra)?;
        let outcome = self.run(model, method, ids, args).await;
        self.orm.context = callers;
        outcome
    }

    fn model(&self, model: &str) -> Result<Arc<ModelDef>, CallFailure> {
        self.orm
            .orm
            .registry()
            .require(model)
            .cloned()
            .map_err(CallFailure::Orm)
    }
}

fn value_error(message: impl Into<String>) -> CallFailure {
    CallFailure::Orm(OrmError::value(message))
}

/// A field specification: `{field: {fields: {...}, limit, order, context}}`.
fn specification(value: Option<&Value>) -> Result<Map<String, Value>, CallFailure> {
    match value {
        None | Some(Value::Bool(false)) => Ok(Map::new()),
        Some(Value::Object(spec)) => Ok(spec.clone()),
        Some(other) => Err(CallFailure::BadArgument(format!(
            "the specification must be a dictionary of fields, got {other}"
        ))),
    }
}

/// Refuses a specification nested deeper than [`MAX_SPECIFICATION_DEPTH`]
/// or of the wrong shape, before anything is read.
fn check_specification(spec: &Map<String, Value>, depth: usize) -> Result<(), CallFailure> {
    if depth > MAX_SPECIFICATION_DEPTH {
        return Err(value_error(format!(
            "The field specification nests more than {MAX_SPECIFICATION_DEPTH} deep"
        )));
    }
    for (name, sub) in spec {
        let sub = match sub {
            Value::Object(sub) => sub,
            Value::Null | Value::Bool(false) => continue,
            other => {
                return Err(CallFailure::BadArgument(format!(
                    "the specification of '{name}' must be a dictionary, got {other}"
                )));
            }
        };
        if let Some(fields) = sub.get("fields") {
            match fields {
                Value::Object(fields) => check_specification(fields, depth + 1)?,
                Value::Null | Value::Bool(false) => {}
                other => {
                    return Err(CallFailure::BadArgument(format!(
                        "'fields' of '{name}' must be a dictionary, got {other}"
                    )));
                }
            }
        }
        if let Some(context) = sub.get("context")
            && !context.is_object()
        {
            return Err(CallFailure::BadArgument(format!(
                "'context' of '{name}' must be a dictionary, got {context}"
            )));
        }
    }
    Ok(())
}

/// Odoo's `web_read(specification)` on `ids` of `model`.
async fn web_read(
    calls: &mut Calls,
    model: &str,
    ids: Vec<i64>,
    spec: Map<String, Value>,
    depth: usize,
) -> Result<Value, CallFailure> {
    check_specification(&spec, depth)?;
    let model_def = calls.model(model)?;
    let mut names: Vec<String> = spec.keys().cloned().collect();
    if names.is_empty() {
        names.push("id".into());
    }
    let read = calls.run(model, "read", ids, vec![json!(names)]).await?;
    let Value::Array(mut records) = read else {
        return Ok(read);
    };
    for (name, sub) in &spec {
        let Some(field) = model_def.field(name) else {
            continue;
        };
        let sub = sub.as_object().cloned().unwrap_or_default();
        let comodel = field.spec.relation.clone().unwrap_or_default();
        let context = sub
            .get("context")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        match field.ttype() {
            FieldType::Many2one => {
                read_many2one(calls, &mut records, name, &comodel, &sub, &context, depth).await?;
            }
            FieldType::One2many | FieldType::Many2many if !sub.is_empty() => {
                read_x2many(calls, &mut records, name, &comodel, &sub, &context, depth).await?;
            }
            _ => {}
        }
    }
    Ok(Value::Array(records))
}

/// A many2one of `web_read`: its id, or `{id, display_name, …}` with
/// `fields`; `false` when empty.
async fn read_many2one(
    calls: &mut Calls,
    records: &mut [Value],
    name: &str,
    comodel: &str,
    sub: &Map<String, Value>,
    context: &Map<String, Value>,
    depth: usize,
) -> Result<(), CallFailure> {
    let pair = |value: &Value| -> Option<(i64, Value)> {
        match value {
            Value::Array(pair) => Some((pair.first()?.as_i64()?, pair.get(1)?.clone())),
            Value::Number(n) => Some((n.as_i64()?, Value::Bool(false))),
            _ => None,
        }
    };
    let Some(fields) = sub.get("fields").and_then(Value::as_object) else {
        for record in records.iter_mut() {
            let id = pair(&record[name]).map_or(Value::Bool(false), |(id, _)| json!(id));
            record[name] = id;
        }
        return Ok(());
    };
    let mut extra = fields.clone();
    let wants_name = extra.remove("display_name").is_some();
    let ids: Vec<i64> = records
        .iter()
        .filter_map(|r| pair(&r[name]).map(|(id, _)| id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let by_id = if extra.is_empty() {
        HashMap::new()
    } else {
        read_by_id(calls, comodel, ids, extra, context, depth).await?
    };
    for record in records.iter_mut() {
        let Some((id, display_name)) = pair(&record[name]) else {
            record[name] = Value::Bool(false);
            continue;
        };
        let mut value = by_id.get(&id).cloned().unwrap_or_else(|| json!({"id": id}));
        if wants_name {
            value["display_name"] = display_name;
        }
        record[name] = value;
    }
    Ok(())
}

/// `web_read` of `ids` of `comodel` one level down, under the context
/// with `context` set, by id.
async fn read_by_id(
    calls: &mut Calls,
    comodel: &str,
    ids: Vec<i64>,
    spec: Map<String, Value>,
    context: &Map<String, Value>,
    depth: usize,
) -> Result<HashMap<i64, Value>, CallFailure> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let saved = swap_context(calls, context)?;
    let read = Box::pin(web_read(calls, comodel, ids, spec, depth + 1)).await;
    calls.orm.context = saved;
    Ok(read?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| Some((row["id"].as_i64()?, row.clone())))
        .collect())
}

/// Sets `extra` on the session's context; the context it replaced.
fn swap_context(
    calls: &mut Calls,
    extra: &Map<String, Value>,
) -> Result<Arc<Context>, CallFailure> {
    let mut merged = calls.orm.context.to_value();
    if let Value::Object(map) = &mut merged {
        map.extend(extra.clone());
    }
    let context = Arc::new(Context::from_value(&merged)?);
    Ok(std::mem::replace(&mut calls.orm.context, context))
}

/// An x2many of `web_read`: its ids, ordered by `order`, and with
/// `fields` the first `limit` of them read (the rest as `{id}`).
async fn read_x2many(
    calls: &mut Calls,
    records: &mut [Value],
    name: &str,
    comodel: &str,
    sub: &Map<String, Value>,
    context: &Map<String, Value>,
    depth: usize,
) -> Result<(), CallFailure> {
    let lists: Vec<Vec<i64>> = records
        .iter()
        .map(|r| {
            r[name]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default()
        })
        .collect();
    let all: Vec<i64> = lists
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut lists = lists;
    if let Some(order) = sub.get("order").and_then(Value::as_str)
        && !all.is_empty()
    {
        let extra = Map::from_iter([("active_test".to_string(), json!(false))]);
        let ordered = calls
            .run_with(
                &extra,
                comodel,
                "search",
                Vec::new(),
                vec![
                    json!([["id", "in", all]]),
                    json!(0),
                    json!(false),
                    json!(order),
                ],
            )
            .await?;
        let rank: HashMap<i64, usize> = ordered
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        for list in &mut lists {
            list.retain(|id| rank.contains_key(id));
            list.sort_by_key(|id| rank[id]);
        }
    }
    let Some(fields) = sub.get("fields").and_then(Value::as_object) else {
        for (record, list) in records.iter_mut().zip(lists) {
            record[name] = json!(list);
        }
        return Ok(());
    };
    let limit = match sub.get("limit") {
        None | Some(Value::Null | Value::Bool(false)) => usize::MAX,
        Some(v) => v
            .as_u64()
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX))
            .ok_or_else(|| CallFailure::BadArgument(format!("invalid limit {v} for '{name}'")))?,
    };
    let mut wanted: Vec<i64> = Vec::new();
    let mut seen = BTreeSet::new();
    for list in &lists {
        for id in list.iter().take(limit) {
            if seen.insert(*id) {
                wanted.push(*id);
            }
        }
    }
    let by_id = read_by_id(calls, comodel, wanted, fields.clone(), context, depth).await?;
    for (record, list) in records.iter_mut().zip(lists) {
        record[name] = Value::Array(
            list.into_iter()
                .map(|id| by_id.get(&id).cloned().unwrap_or_else(|| json!({"id": id})))
                .collect(),
        );
    }
    Ok(())
}

/// Odoo's `web_search_read(domain, specification, offset, limit, order,
/// count_limit)`: `{length, records}`.
async fn web_search_read(
    calls: &mut Calls,
    model: &str,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let domain = argument(a, k, 0, "domain").cloned().unwrap_or(json!([]));
    let spec = specification(argument(a, k, 1, "specification"))?;
    check_specification(&spec, 0)?;
    let options = search_options(a, k, 2)?;
    let count_limit = match argument(a, k, 5, "count_limit") {
        None | Some(Value::Bool(false)) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| CallFailure::BadArgument(format!("invalid count_limit {v}")))?,
        ),
    };
    let ids = calls
        .run(
            model,
            "search",
            Vec::new(),
            vec![
                domain.clone(),
                json!(options.offset),
                options.limit.map_or(json!(false), |l| json!(l)),
                options.order.clone().map_or(json!(false), Value::String),
            ],
        )
        .await?;
    let ids = ids_of(Some(&ids))?;
    if ids.is_empty() {
        // Unknown fields are refused even when nothing matches.
        web_read(calls, model, Vec::new(), spec, 0).await?;
        return Ok(json!({"length": 0, "records": []}));
    }
    let found = ids.len() as u64;
    let records = web_read(calls, model, ids, spec, 0).await?;
    let current = found + u64::from(options.offset);
    let forced = calls
        .orm
        .context
        .extra
        .get("force_search_count")
        .is_some_and(pulse_schema::is_truthy);
    let limit_reached = options.limit.is_some_and(|l| u64::from(l) == found);
    let count_limit_reached = count_limit.is_some_and(|c| c <= current);
    let length = if options.limit.is_some() && ((limit_reached && !count_limit_reached) || forced) {
        let count = calls
            .run(model, "search_count", Vec::new(), vec![domain])
            .await?
            .as_u64()
            .unwrap_or_default();
        count_limit.map_or(count, |c| count.min(c))
    } else {
        current
    };
    Ok(json!({"length": length, "records": records}))
}

/// Odoo's `web_save(vals, specification, next_id)`: writes the records
/// (creates one when there are none), then `web_read`s them.
async fn web_save(
    calls: &mut Calls,
    model: &str,
    ids: Vec<i64>,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let vals = match argument(a, k, 0, "vals") {
        Some(Value::Object(vals)) => Value::Object(vals.clone()),
        other => {
            return Err(CallFailure::BadArgument(format!(
                "expected a dictionary of field values, got {}",
                other.unwrap_or(&Value::Null)
            )));
        }
    };
    let spec = specification(argument(a, k, 1, "specification"))?;
    check_specification(&spec, 0)?;
    let method = if ids.is_empty() { "create" } else { "write" };
    let snapshot = calls.orm.snapshot.clone();
    if let Some(snapshot) = &snapshot {
        crate::commands::refuse_readonly(
            &snapshot.registry,
            model,
            method,
            std::slice::from_ref(&vals),
            &Map::new(),
        )?;
    }
    let mut ids = if ids.is_empty() {
        let created = calls.run(model, "create", Vec::new(), vec![vals]).await?;
        ids_of(Some(&created))?
    } else {
        calls.run(model, "write", ids.clone(), vec![vals]).await?;
        ids
    };
    if let Some(next) = argument(a, k, 2, "next_id") {
        ids = ids_of(Some(next))?;
    }
    web_read(calls, model, ids, spec, 0).await
}

/// Odoo's `name_create(name)`: a record named `name`, as `[id, display_name]`.
async fn name_create(
    calls: &mut Calls,
    model: &str,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let name = match argument(a, k, 0, "name") {
        Some(Value::String(name)) => name.clone(),
        other => {
            return Err(CallFailure::BadArgument(format!(
                "name_create takes a name, got {}",
                other.unwrap_or(&Value::Null)
            )));
        }
    };
    let model_def = calls.model(model)?;
    let Some(rec_name) = model_def.rec_name() else {
        // Odoo logs a warning and answers False for a model without `_rec_name`.
        return Ok(Value::Bool(false));
    };
    let values = json!({ rec_name.name(): name });
    if let Some(snapshot) = calls.orm.snapshot.clone() {
        crate::commands::refuse_readonly(
            &snapshot.registry,
            model,
            "create",
            std::slice::from_ref(&values),
            &Map::new(),
        )?;
    }
    let created = calls.run(model, "create", Vec::new(), vec![values]).await?;
    let id = ids_of(Some(&created))?
        .first()
        .copied()
        .ok_or_else(|| value_error("name_create created no record"))?;
    let read = calls
        .run(model, "read", vec![id], vec![json!(["display_name"])])
        .await?;
    Ok(json!([id, read[0]["display_name"].clone()]))
}

/// Odoo's `search_fetch(domain, field_names, offset, limit, order)`: a
/// recordset, which an RPC answer gives as its ids (as Odoo's `call_kw`
/// does). The field names are checked as Odoo's fetch checks them.
async fn search_fetch(
    calls: &mut Calls,
    model: &str,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let domain = argument(a, k, 0, "domain").cloned().unwrap_or(json!([]));
    let names = fields_of(argument(a, k, 1, "field_names"))?;
    let model_def = calls.model(model)?;
    for name in &names {
        if name != "id" && name != "display_name" {
            model_def.require_field(name).map_err(CallFailure::Orm)?;
        }
    }
    let options = search_options(a, k, 2)?;
    calls
        .run(
            model,
            "search",
            Vec::new(),
            vec![
                domain,
                json!(options.offset),
                options.limit.map_or(json!(false), |l| json!(l)),
                options.order.map_or(json!(false), Value::String),
            ],
        )
        .await
}

/// Odoo's `export_data(fields_to_export)`: `{"datas": rows}`, a row per
/// record and more where an x2many path has several records.
async fn export_data(
    calls: &mut Calls,
    model: &str,
    ids: Vec<i64>,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let fields = fields_of(argument(a, k, 0, "fields_to_export"))?;
    let paths: Vec<Vec<String>> = fields
        .iter()
        .map(|f| f.split('/').map(str::to_string).collect())
        .collect();
    if let Some(path) = paths.iter().find(|p| p.len() > MAX_EXPORT_PATH) {
        return Err(value_error(format!(
            "The export path '{}' has more than {MAX_EXPORT_PATH} parts",
            path.join("/")
        )));
    }
    let rows = Box::pin(export_rows(calls, model, ids, &paths)).await?;
    Ok(json!({ "datas": rows }))
}

/// Odoo's `_export_rows`: the rows of `ids` for `paths` (each a field
/// path; an empty one is a column this level leaves blank).
async fn export_rows(
    calls: &mut Calls,
    model: &str,
    ids: Vec<i64>,
    paths: &[Vec<String>],
) -> Result<Vec<Vec<Value>>, CallFailure> {
    let model_def = calls.model(model)?;
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        let Some(first) = path.first() else { continue };
        if first == "id" || first == ".id" {
            continue;
        }
        if first != "display_name" {
            model_def.require_field(first).map_err(CallFailure::Orm)?;
        }
        if !names.contains(first) {
            names.push(first.clone());
        }
    }
    let read = if names.is_empty() {
        calls
            .run(model, "read", ids.clone(), vec![json!(["id"])])
            .await?
    } else {
        calls.run(model, "read", ids, vec![json!(names)]).await?
    };
    let records = read.as_array().cloned().unwrap_or_default();
    let external = if paths.iter().any(|p| p.first().is_some_and(|f| f == "id")) {
        let ids: Vec<i64> = records.iter().filter_map(|r| r["id"].as_i64()).collect();
        external_ids(calls, &model_def, &ids, true).await?
    } else {
        HashMap::new()
    };
    let mut lines: Vec<Vec<Value>> = Vec::new();
    for record in &records {
        let id = record["id"].as_i64().unwrap_or_default();
        let mut current = vec![json!(""); paths.len()];
        let mut extra_lines = Vec::new();
        let mut done: Vec<&str> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let Some(name) = path.first() else { continue };
            if name == ".id" {
                current[i] = json!(id.to_string());
                continue;
            }
            if name == "id" {
                current[i] = json!(external.get(&id).cloned().unwrap_or_default());
                continue;
            }
            if done.contains(&name.as_str()) {
                continue;
            }
            let value = &record[name];
            let field = model_def.field(name);
            let relational = field.and_then(|f| f.spec.relation.clone());
            match (path.len(), relational) {
                (1, _) | (_, None) => current[i] = export_value(field, value),
                (_, Some(comodel)) => {
                    done.push(name);
                    let sub_ids: Vec<i64> = match value {
                        Value::Array(items)
                            if field.is_some_and(|f| f.ttype() == FieldType::Many2one) =>
                        {
                            items.first().and_then(Value::as_i64).into_iter().collect()
                        }
                        Value::Array(items) => items.iter().filter_map(Value::as_i64).collect(),
                        Value::Number(n) => n.as_i64().into_iter().collect(),
                        _ => Vec::new(),
                    };
                    let sub_paths: Vec<Vec<String>> = paths
                        .iter()
                        .map(|p| match p.split_first() {
                            Some((first, rest)) if first == name && rest.is_empty() => {
                                vec!["display_name".to_string()]
                            }
                            Some((first, rest)) if first == name => rest.to_vec(),
                            _ => Vec::new(),
                        })
                        .collect();
                    let sub_lines = if sub_ids.is_empty() {
                        Vec::new()
                    } else {
                        Box::pin(export_rows(calls, &comodel, sub_ids, &sub_paths)).await?
                    };
                    let mut sub_lines = sub_lines.into_iter();
                    if let Some(first) = sub_lines.next() {
                        for (j, value) in first.into_iter().enumerate() {
                            if value != json!("") {
                                current[j] = value;
                            }
                        }
                        extra_lines.extend(sub_lines);
                    }
                }
            }
        }
        lines.push(current);
        lines.extend(extra_lines);
    }
    Ok(lines)
}

/// A field's value as Odoo exports it: a many2one's display name, an
/// x2many's names joined by commas, a selection's label, `""` for nothing.
fn export_value(field: Option<&FieldDef>, value: &Value) -> Value {
    let Some(field) = field else {
        return if value.is_null() || value == &Value::Bool(false) {
            json!("")
        } else {
            value.clone()
        };
    };
    match (field.ttype(), value) {
        (FieldType::Boolean, v) => json!(pulse_schema::is_truthy(v)),
        (FieldType::Integer | FieldType::Float | FieldType::Monetary, Value::Number(_)) => {
            value.clone()
        }
        (FieldType::Many2one, Value::Array(pair)) => pair.get(1).cloned().unwrap_or(json!("")),
        (FieldType::Selection, Value::String(key)) => field
            .spec
            .selection
            .iter()
            .find(|(k, _)| k == key)
            .map_or(json!(""), |(_, label)| json!(label)),
        (_, Value::Bool(false) | Value::Null) => json!(""),
        _ => value.clone(),
    }
}

/// The external ids (`module.name`) of `ids` of `model`; with `create`,
/// those without one get `__export__.<table>_<id>_<suffix>`, as Odoo's export gives them.
async fn external_ids(
    calls: &mut Calls,
    model: &ModelDef,
    ids: &[i64],
    create: bool,
) -> Result<HashMap<i64, String>, CallFailure> {
    let (conn, _) = calls.orm.parts().map_err(CallFailure::Unavailable)?;
    let mut found: HashMap<i64, String> = HashMap::new();
    let known = pulse_orm::ledger::named_external_ids_of_model(conn, &model.name)
        .await
        .map_err(CallFailure::Orm)?;
    let wanted: BTreeSet<i64> = ids.iter().copied().collect();
    for (name, res_id) in known {
        if wanted.contains(&res_id) {
            // Odoo prefers a module's own id over an `__export__` one.
            let better = found.get(&res_id).is_none_or(|current| {
                current.starts_with("__export__.") && !name.starts_with("__export__.")
            });
            if better {
                found.insert(res_id, name);
            }
        }
    }
    if create {
        for id in wanted {
            if found.contains_key(&id) {
                continue;
            }
            let suffix = format!("{:08x}", rand_suffix(id));
            let name = format!("{}_{id}_{suffix}", model.table);
            pulse_orm::ledger::add_external_id(conn, "__export__", &name, &model.name, id, false)
                .await
                .map_err(CallFailure::Orm)?;
            found.insert(id, format!("__export__.{name}"));
        }
    }
    Ok(found)
}

/// A suffix that keeps two exports' new external ids apart.
fn rand_suffix(id: i64) -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ (id as u32).wrapping_mul(2_654_435_761)
}

/// One column of a `load`: a field, and how its cells name values.
enum Column {
    /// `id`: the record's external id.
    ExternalId,
    /// `.id`: the record's database id.
    DatabaseId,
    /// `field`, `field/id` or `field/.id`.
    Field { name: String, by: By },
}

/// How a relational cell names its records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Name,
    ExternalId,
    DatabaseId,
}

/// Odoo's `load(fields, data)`: imports rows, creating records or
/// updating those an `id` (external id) or `.id` column names. Problems
/// come back as messages, with no ids; nothing is written then.
async fn load(
    calls: &mut Calls,
    model: &str,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let fields = fields_of(argument(a, k, 0, "fields"))?;
    let rows = match argument(a, k, 1, "data") {
        None => Vec::new(),
        Some(Value::Array(rows)) => rows.clone(),
        Some(other) => {
            return Err(CallFailure::BadArgument(format!(
                "data must be a list of rows, got {other}"
            )));
        }
    };
    if rows.len() > MAX_LOAD_ROWS {
        return Err(value_error(format!(
            "load takes at most {MAX_LOAD_ROWS} rows at once, got {}",
            rows.len()
        )));
    }
    let model_def = calls.model(model)?;
    let mut columns = Vec::with_capacity(fields.len());
    for field in &fields {
        let column = match field.as_str() {
            "id" => Column::ExternalId,
            ".id" => Column::DatabaseId,
            path => {
                let (name, by) = match path.split_once('/') {
                    None => (path, By::Name),
                    Some((name, "id")) => (name, By::ExternalId),
                    Some((name, ".id")) => (name, By::DatabaseId),
                    Some(_) => {
                        return Ok(load_refused(vec![message(
                            format!(
                                "Cannot import the column '{path}': only 'field', 'field/id' and 'field/.id' are understood"
                            ),
                            None,
                            Some(path),
                        )]));
                    }
                };
                let Some(def) = model_def.field(name) else {
                    return Ok(load_refused(vec![message(
                        format!("Invalid field '{name}' on model '{model}'"),
                        None,
                        Some(path),
                    )]));
                };
                if by != By::Name && def.spec.relation.is_none() {
                    return Ok(load_refused(vec![message(
                        format!(
                            "Field '{name}' is not relational: it cannot be imported as '{path}'"
                        ),
                        None,
                        Some(path),
                    )]));
                }
                Column::Field {
                    name: name.to_string(),
                    by,
                }
            }
        };
        columns.push(column);
    }
    // Every row's values first: conversion errors of every row are reported.
    let mut messages = Vec::new();
    let mut prepared = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let cells = match row {
            Value::Array(cells) if cells.len() == columns.len() => cells,
            Value::Array(cells) => {
                messages.push(message(
                    format!(
                        "Row {} has {} values for {} columns",
                        index + 1,
                        cells.len(),
                        columns.len()
                    ),
                    Some(index),
                    None,
                ));
                continue;
            }
            other => {
                messages.push(message(
                    format!("Row {} is not a list of values: {other}", index + 1),
                    Some(index),
                    None,
                ));
                continue;
            }
        };
        match convert_row(calls, &model_def, &columns, &fields, cells).await {
            Ok(converted) => prepared.push(converted),
            Err((field, text)) => messages.push(message(text, Some(index), field.as_deref())),
        }
    }
    if !messages.is_empty() {
        return Ok(load_refused(messages));
    }
    // Then the writes, all or none.
    savepoint(calls, "SAVEPOINT pulse_load").await?;
    let mut ids = Vec::with_capacity(prepared.len());
    for (index, (target, xmlid, values)) in prepared.into_iter().enumerate() {
        let outcome = match target {
            Some(id) => calls
                .run(model, "write", vec![id], vec![Value::Object(values)])
                .await
                .map(|_| id),
            None => match calls
                .run(model, "create", Vec::new(), vec![Value::Object(values)])
                .await
            {
                Ok(created) => match ids_of(Some(&created)).map(|ids| ids.first().copied()) {
                    Ok(Some(id)) => register_xmlid(calls, model, xmlid.as_deref(), id)
                        .await
                        .map(|()| id),
                    Ok(None) => Err(value_error("create returned no id")),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(id) => ids.push(id),
            Err(e) => {
                savepoint(calls, "ROLLBACK TO SAVEPOINT pulse_load").await?;
                calls.orm.orm.take_pending();
                return Ok(load_refused(vec![message(
                    e.to_string(),
                    Some(index),
                    None,
                )]));
            }
        }
    }
    savepoint(calls, "RELEASE SAVEPOINT pulse_load").await?;
    Ok(json!({"ids": ids, "messages": [], "nextrow": 0}))
}

async fn savepoint(calls: &mut Calls, statement: &str) -> Result<(), CallFailure> {
    let (conn, _) = calls.orm.parts().map_err(CallFailure::Unavailable)?;
    sqlx::query(statement)
        .execute(&mut *conn)
        .await
        .map_err(|e| CallFailure::Orm(e.into()))?;
    Ok(())
}

/// Records the external id a `load` row gave a record it created
/// (`__import__.<name>` when it names no module).
async fn register_xmlid(
    calls: &mut Calls,
    model: &str,
    xmlid: Option<&str>,
    id: i64,
) -> Result<(), CallFailure> {
    let Some(xmlid) = xmlid else {
        return Ok(());
    };
    let (module, name) = xmlid.split_once('.').unwrap_or(("__import__", xmlid));
    let (conn, _) = calls.orm.parts().map_err(CallFailure::Unavailable)?;
    pulse_orm::ledger::add_external_id(conn, module, name, model, id, false)
        .await
        .map_err(CallFailure::Orm)
}

/// A message of `load`, as Odoo words it: `{type, message, record, field, rows}`.
fn message(text: String, row: Option<usize>, field: Option<&str>) -> Value {
    let mut out = json!({"type": "error", "message": text});
    if let Some(row) = row {
        out["record"] = json!(row);
        out["rows"] = json!({"from": row, "to": row});
    }
    if let Some(field) = field {
        out["field"] = json!(field);
    }
    out
}

fn load_refused(messages: Vec<Value>) -> Value {
    json!({"ids": false, "messages": messages, "nextrow": 0})
}

/// A row's target (the record it updates, if any), the external id it
/// gives a new record, and its values; or the column and text of what is wrong.
type Prepared = (Option<i64>, Option<String>, Map<String, Value>);

async fn convert_row(
    calls: &mut Calls,
    model: &ModelDef,
    columns: &[Column],
    fields: &[String],
    cells: &[Value],
) -> Result<Prepared, (Option<String>, String)> {
    let mut target = None;
    let mut xmlid = None;
    let mut values = Map::new();
    for ((column, path), cell) in columns.iter().zip(fields).zip(cells) {
        let text = cell_text(cell);
        let fail = |message: String| (Some(path.clone()), message);
        match column {
            Column::ExternalId => {
                if text.is_empty() {
                    continue;
                }
                match resolve_xmlid(calls, &text)
                    .await
                    .map_err(|e| fail(e.to_string()))?
                {
                    Some((found_model, id)) if found_model == model.name => target = Some(id),
                    Some((found_model, _)) => {
                        return Err(fail(format!(
                            "The external id '{text}' names a record of '{found_model}', not of '{}'",
                            model.name
                        )));
                    }
                    None => xmlid = Some(text),
                }
            }
            Column::DatabaseId => {
                if text.is_empty() {
                    continue;
                }
                let id: i64 = text.parse().map_err(|_| {
                    fail(format!("Invalid database id '{text}' for the field '.id'"))
                })?;
                let exists = calls
                    .run(&model.name, "exists", vec![id], Vec::new())
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if ids_of(Some(&exists)).unwrap_or_default().is_empty() {
                    return Err(fail(format!(
                        "No matching record found for database id '{id}' in field '.id'"
                    )));
                }
                target = Some(id);
            }
            Column::Field { name, by } => {
                let Some(field) = model.field(name) else {
                    return Err(fail(format!(
                        "Invalid field '{name}' on model '{}'",
                        model.name
                    )));
                };
                let value = convert_cell(calls, field, *by, &text).await.map_err(fail)?;
                values.insert(name.clone(), value);
            }
        }
    }
    Ok((target, xmlid, values))
}

/// A cell as text (CSV cells are text; JSON numbers and booleans are taken as written).
fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.trim().to_string(),
        Value::Null | Value::Bool(false) => String::new(),
        other => other.to_string(),
    }
}

async fn resolve_xmlid(
    calls: &mut Calls,
    xmlid: &str,
) -> Result<Option<(String, i64)>, CallFailure> {
    let (module, name) = xmlid.split_once('.').unwrap_or(("__import__", xmlid));
    let (conn, _) = calls.orm.parts().map_err(CallFailure::Unavailable)?;
    let found = pulse_orm::ledger::external_id(conn, module, name)
        .await
        .map_err(CallFailure::Orm)?;
    Ok(found.map(|f| (f.model, f.res_id)))
}

/// One cell's value for `field`, as Odoo's import converters read it.
async fn convert_cell(
    calls: &mut Calls,
    field: &FieldDef,
    by: By,
    text: &str,
) -> Result<Value, String> {
    let name = field.name();
    if text.is_empty() {
        return Ok(match field.ttype() {
            FieldType::Many2many | FieldType::One2many => json!([[6, 0, []]]),
            FieldType::Boolean => json!(false),
            _ => Value::Bool(false),
        });
    }
    Ok(match field.ttype() {
        FieldType::Integer => {
            json!(text.parse::<i64>().map_err(|_| format!(
                "'{text}' does not seem to be an integer for field '{name}'"
            ))?)
        }
        FieldType::Float | FieldType::Monetary => json!(
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!(
                    "'{text}' does not seem to be a number for field '{name}'"
                ))?
        ),
        FieldType::Boolean => match text.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => json!(true),
            "0" | "false" | "no" => json!(false),
            _ => return Err(format!("Unknown value '{text}' for boolean field '{name}'")),
        },
        FieldType::Selection => {
            let found = field
                .spec
                .selection
                .iter()
                .find(|(key, label)| key == text || label.eq_ignore_ascii_case(text));
            match found {
                Some((key, _)) => json!(key),
                None => {
                    return Err(format!(
                        "Value '{text}' not found in selection field '{name}'"
                    ));
                }
            }
        }
        FieldType::Many2one => {
            let comodel = field.spec.relation.clone().unwrap_or_default();
            json!(find_record(calls, &comodel, name, by, text).await?)
        }
        FieldType::Many2many | FieldType::One2many => {
            let comodel = field.spec.relation.clone().unwrap_or_default();
            let mut ids = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                ids.push(find_record(calls, &comodel, name, by, part).await?);
            }
            json!([[6, 0, ids]])
        }
        _ => json!(text),
    })
}

/// The record of `comodel` a cell names (by name, external id or database id).
async fn find_record(
    calls: &mut Calls,
    comodel: &str,
    field: &str,
    by: By,
    text: &str,
) -> Result<i64, String> {
    match by {
        By::Name => {
            let found = calls
                .run(
                    comodel,
                    "name_search",
                    Vec::new(),
                    vec![json!(text), json!([]), json!("="), json!(2)],
                )
                .await
                .map_err(|e| e.to_string())?;
            found
                .as_array()
                .and_then(|pairs| pairs.first())
                .and_then(|pair| pair[0].as_i64())
                .ok_or_else(|| {
                    format!("No matching record found for name '{text}' in field '{field}'")
                })
        }
        By::ExternalId => match resolve_xmlid(calls, text)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((model, id)) if model == comodel => Ok(id),
            _ => Err(format!(
                "No matching record found for external id '{text}' in field '{field}'"
            )),
        },
        By::DatabaseId => {
            let missing =
                || format!("No matching record found for database id '{text}' in field '{field}'");
            let id: i64 = text.parse().map_err(|_| missing())?;
            let exists = calls
                .run(comodel, "exists", vec![id], Vec::new())
                .await
                .map_err(|e| e.to_string())?;
            if ids_of(Some(&exists)).unwrap_or_default().is_empty() {
                return Err(missing());
            }
            Ok(id)
        }
    }
}

/// View types `get_views` knows, with the default arch of each.
const VIEW_TYPES: [&str; 6] = ["list", "form", "search", "kanban", "pivot", "graph"];

/// Odoo's `get_views(views, options)`: each `[view_id, view_type]`'s arch
/// (the model's `ir.ui.view` of that type with the lowest priority, or
/// the one named, or a default one when there is none, as Odoo generates
/// it) and the model's fields.
async fn get_views(
    calls: &mut Calls,
    model: &str,
    a: &[Value],
    k: &Map<String, Value>,
) -> Result<Value, CallFailure> {
    let requested = match argument(a, k, 0, "views") {
        Some(Value::Array(views)) => views.clone(),
        None => vec![json!([false, "list"]), json!([false, "form"])],
        Some(other) => {
            return Err(CallFailure::BadArgument(format!(
                "views must be a list of [view_id, view_type], got {other}"
            )));
        }
    };
    if requested.len() > VIEW_TYPES.len() * 4 {
        return Err(value_error("get_views takes at most one view of each type"));
    }
    let model_def = calls.model(model)?;
    // The views are the model's: the caller must be able to read it.
    calls
        .orm
        .access
        .check_model(calls.orm.orm.registry(), model, crate::access::Mode::Read)
        .map_err(CallFailure::Orm)?;
    let mut views = Map::new();
    for view in &requested {
        let (id, view_type) = match view.as_array().map(Vec::as_slice) {
            Some([id, Value::String(view_type)]) => (id.as_i64(), view_type.as_str()),
            _ => {
                return Err(CallFailure::BadArgument(format!(
                    "a view is [view_id, view_type], got {view}"
                )));
            }
        };
        let view_type = if view_type == "tree" {
            "list"
        } else {
            view_type
        };
        if !VIEW_TYPES.contains(&view_type) {
            return Err(value_error(format!("Invalid view type: '{view_type}'")));
        }
        let stored = stored_view(calls, model, id, view_type).await?;
        let (arch, id) = match stored {
            Some((id, arch)) => (arch, json!(id)),
            None => (default_arch(&model_def, view_type), json!(false)),
        };
        views.insert(
            view_type.to_string(),
            json!({"arch": arch, "id": id, "model": model}),
        );
    }
    let fields = calls
        .run(model, "fields_get", Vec::new(), Vec::new())
        .await?;
    Ok(json!({"views": views, "models": { model: { "fields": fields } }}))
}

/// The `ir.ui.view` of `model` named `id`, or its active one of
/// `view_type` with the lowest priority: its id and arch.
async fn stored_view(
    calls: &mut Calls,
    model: &str,
    id: Option<i64>,
    view_type: &str,
) -> Result<Option<(i64, String)>, CallFailure> {
    let orm = calls.orm.orm.clone();
    let (conn, _) = calls.orm.parts().map_err(CallFailure::Unavailable)?;
    let mut domain = vec![
        json!(["model", "=", model]),
        json!(["type", "=", view_type]),
    ];
    if let Some(id) = id {
        domain.push(json!(["id", "=", id]));
    }
    let domain = pulse_orm::Domain::parse(&Value::Array(domain))
        .map_err(CallFailure::Orm)?
        .active_test();
    let options = pulse_orm::SearchOptions {
        offset: 0,
        limit: Some(1),
        order: Some("priority, id".into()),
    };
    let found = orm
        .search_read(conn, "ir.ui.view", &domain, &["arch".to_string()], &options)
        .await
        .map_err(CallFailure::Orm)?;
    if found.is_empty() && id.is_some() {
        return Err(CallFailure::Orm(OrmError::missing(format!(
            "The view {} of type '{view_type}' does not exist for model '{model}'",
            id.unwrap_or_default()
        ))));
    }
    Ok(found.into_iter().next().and_then(|view| {
        Some((
            view.get("id")?.as_i64()?,
            view.get("arch")?.as_str()?.to_string(),
        ))
    }))
}

/// The view Odoo generates for a model that has none of a type.
fn default_arch(model: &ModelDef, view_type: &str) -> String {
    let rec_name = model.rec_name().map_or("id", |f| f.name());
    match view_type {
        "list" => format!("<list><field name=\"{rec_name}\"/></list>"),
        "search" => format!("<search><field name=\"{rec_name}\"/></search>"),
        "kanban" => format!(
            "<kanban><templates><t t-name=\"card\"><field name=\"{rec_name}\"/></t></templates></kanban>"
        ),
        "pivot" => "<pivot/>".to_string(),
        "graph" => "<graph/>".to_string(),
        _ => {
            let fields: String = model
                .fields()
                .iter()
                .filter(|f| {
                    !matches!(
                        f.ttype(),
                        FieldType::One2many | FieldType::Many2many | FieldType::Binary
                    )
                })
                .filter(|f| f.name() != "active")
                .map(|f| format!("<field name=\"{}\"/>", f.name()))
                .collect();
            format!("<form><sheet><group>{fields}</group></sheet></form>")
        }
    }
}
