//! Carrying out what the ORM marked after a change: recomputing stored
//! computed fields through their addons' compute methods, then checking
//! the model's check constraints and running its validation methods, then
//! handing the record events to their subscribers (`crate::events`).
//!
//! A compute method receives the record ids and answers `[[id, value], …]`
//! (or `[[id, {field: value, …}], …]` when it computes several fields).

use std::collections::{BTreeMap, BTreeSet};

use pulse_orm::{ModelDef, OrmError, Pending, Record};
use serde_json::Value;

use crate::TxOrm;
use crate::failure::CallFailure;
use crate::method_call::MethodCall;

/// How many records one call of a compute method receives.
pub const COMPUTE_BATCH: usize = 1000;

/// Rounds of recomputation before a cycle is assumed.
const MAX_ROUNDS: usize = 64;

/// Runs every compute and validation the ORM marked in `orm`'s
/// transaction, until nothing is left, calling the compute and validation
/// methods through `call`. A failure leaves the transaction to be rolled
/// back by the caller.
#[crate::boxed]
pub async fn flush(mut orm: TxOrm, call: MethodCall) -> (Result<(), CallFailure>, TxOrm) {
    let mut validate: BTreeMap<String, (BTreeSet<i64>, BTreeSet<String>)> = BTreeMap::new();
    let mut events = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut pending: Pending = orm.orm.take_pending();
        events.append(&mut pending.events);
        if pending.is_empty() {
            if validate.is_empty() {
                if events.is_empty() {
                    return (Ok(()), orm);
                }
                // Record events go to their handlers once every computed
                // value is in place and validated; what the handlers
                // change is flushed inside their own operations.
                let outcome;
                (outcome, orm) = crate::events::fire(orm, std::mem::take(&mut events)).await;
                if outcome.is_err() {
                    return (outcome, orm);
                }
                continue;
            }
            // Validations run once every computed value is in place.
            let outcome;
            (outcome, orm) = run_validations(orm, call, std::mem::take(&mut validate)).await;
            if outcome.is_err() {
                return (outcome, orm);
            }
            continue;
        }
        for (model, (ids, fields)) in pending.validate {
            let entry = validate.entry(model).or_default();
            entry.0.extend(ids);
            entry.1.extend(fields);
        }
        for ((model, method), ids) in pending.compute {
            let ids: Vec<i64> = ids.into_iter().collect();
            let outcome;
            (outcome, orm) = compute(orm, call, &model, &method, &ids, None).await;
            if outcome.is_err() {
                return (outcome, orm);
            }
        }
    }
    let message = format!(
        "computed fields keep changing each other after {MAX_ROUNDS} rounds; check their depends for a cycle"
    );
    (Err(CallFailure::Orm(OrmError::validation(message))), orm)
}

/// Recomputes what `method` computes on the records `ids` of `model` that
/// still exist, in batches, through `call`; `progress` names the step to
/// log after each batch.
#[crate::boxed]
pub async fn compute(
    mut orm: TxOrm,
    call: MethodCall,
    model: &str,
    method: &str,
    ids: &[i64],
    progress: Option<&str>,
) -> (Result<(), CallFailure>, TxOrm) {
    let existing = orm
        .operate(async |conn, o| o.exists(conn, model, ids).await)
        .await;
    let existing = match existing {
        Ok(ids) => ids,
        Err(e) => return (Err(e), orm),
    };
    let total = existing.len();
    for (n, batch) in existing.chunks(COMPUTE_BATCH).enumerate() {
        let answer;
        (answer, orm) = call(
            orm,
            model.to_string(),
            method.to_string(),
            batch.to_vec(),
            Vec::new(),
        )
        .await;
        let values = answer.and_then(|answer| {
            let registry = orm.orm.registry().clone();
            let model_def = registry.require(model).map_err(CallFailure::Orm)?;
            computed_values(model_def, method, batch, answer)
        });
        let written = match values {
            Ok(values) => {
                orm.operate(async |conn, o| o.set_computed(conn, model, &values).await)
                    .await
            }
            Err(e) => Err(e),
        };
        if written.is_err() {
            return (written, orm);
        }
        if let Some(step) = progress {
            let done = (n * COMPUTE_BATCH + batch.len()).min(total);
            tracing::info!(step = %step, model = %model, method = %method, "computed {done}/{total} records");
        }
    }
    (Ok(()), orm)
}

/// The values a compute method answered, checked against the fields it computes.
fn computed_values(
    model: &ModelDef,
    method: &str,
    ids: &[i64],
    answer: Value,
) -> Result<Vec<(i64, Record)>, CallFailure> {
    let fields: Vec<&str> = model
        .fields()
        .iter()
        .filter(|f| f.spec.compute.as_deref() == Some(method))
        .map(|f| f.name())
        .collect();
    let bad = |why: String| {
        CallFailure::Orm(OrmError::validation(format!(
            "The compute method {}.{method} {why}",
            model.name
        )))
    };
    let Value::Array(pairs) = answer else {
        return Err(bad(format!(
            "answered {answer}; expected a list of [id, value] pairs"
        )));
    };
    let asked: BTreeSet<i64> = ids.iter().copied().collect();
    let mut values = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let (id, value) = match &pair {
            Value::Array(items) if items.len() == 2 => match items[0].as_i64() {
                Some(id) => (id, items[1].clone()),
                None => {
                    return Err(bad(format!(
                        "answered {pair}: the first item is no record id"
                    )));
                }
            },
            _ => {
                return Err(bad(format!(
                    "answered {pair}; expected an [id, value] pair"
                )));
            }
        };
        if !asked.contains(&id) {
            return Err(bad(format!(
                "answered for record {id}, which it was not asked for"
            )));
        }
        let record = match (fields.as_slice(), value) {
            ([field], value)
                if !value.is_object()
                    || model
                        .field(field)
                        .is_some_and(|f| f.ttype() == pulse_schema::FieldType::Json) =>
            {
                let mut record = Record::new();
                record.insert(field.to_string(), value);
                record
            }
            (_, Value::Object(record)) => {
                if let Some(other) = record.keys().find(|k| !fields.contains(&k.as_str())) {
                    return Err(bad(format!("set '{other}', which it does not compute")));
                }
                record
            }
            (_, value) => {
                return Err(bad(format!(
                    "computes {fields:?}, so it must answer [id, {{field: value}}] pairs, not {value}"
                )));
            }
        };
        values.push((id, record));
    }
    let answered: BTreeSet<i64> = values.iter().map(|(id, _)| *id).collect();
    if let Some(missing) = asked.difference(&answered).next() {
        return Err(bad(format!("gave no value for record {missing}")));
    }
    Ok(values)
}

/// Checks constraints and runs validation methods on the changed records.
async fn run_validations(
    mut orm: TxOrm,
    call: MethodCall,
    validate: BTreeMap<String, (BTreeSet<i64>, BTreeSet<String>)>,
) -> (Result<(), CallFailure>, TxOrm) {
    for (model, (ids, fields)) in validate {
        let ids: Vec<i64> = ids.into_iter().collect();
        let checked = orm
            .operate(async |conn, o| {
                let existing = o.exists(conn, &model, &ids).await?;
                o.check_constraints(conn, &model, &existing).await?;
                Ok(existing)
            })
            .await;
        let existing = match checked {
            Ok(existing) => existing,
            Err(e) => return (Err(e), orm),
        };
        if existing.is_empty() {
            continue;
        }
        let validators: Vec<String> = orm
            .snapshot
            .as_ref()
            .and_then(|s| s.validators.get(&model))
            .map(|list| {
                list.iter()
                    .filter(|(_, watched)| watched.iter().any(|f| fields.contains(f)))
                    .map(|(method, _)| method.clone())
                    .collect()
            })
            .unwrap_or_default();
        for method in validators {
            let answer;
            (answer, orm) = call(orm, model.clone(), method, existing.clone(), Vec::new()).await;
            if let Err(e) = answer {
                return (Err(e), orm);
            }
        }
    }
    (Ok(()), orm)
}
