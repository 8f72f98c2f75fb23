//! What a request's values may do beyond the record's own columns: x2many
//! commands, carried out through the target model's methods (its addons'
//! overrides, access rights, record rules, recomputation and constraints,
//! as an RPC create, write or unlink of that model would be), and the
//! `readonly` fields clients may not set.

use pulse_orm::{ModelDef, OrmError, Record, Registry, X2manyCommand, X2manyStep};
use serde_json::{Map, Value};

use crate::TxOrm;
use crate::failure::CallFailure;
use crate::method_call::MethodCall;

/// How deep x2many commands may nest (lines of lines of …) in the values
/// a client sends; deeper values are refused before anything is written.
const MAX_COMMAND_NESTING: usize = 16;

/// Refuses values a client sends for a field declared `readonly`, on
/// `create`, `write` and `copy` (its `default`), in x2many commands too.
/// Addon code sets such fields (a posting method writes `state`); clients
/// do not, whatever protocol they use. Stricter than Odoo, where
/// `readonly` binds only the web client.
pub fn refuse_readonly(
    registry: &Registry,
    model: &str,
    method: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<(), CallFailure> {
    let (index, name) = match method {
        "create" => (0, "vals_list"),
        "write" => (0, "vals"),
        "copy" => (0, "default"),
        _ => return Ok(()),
    };
    let Some(model) = registry.get(model) else {
        return Ok(());
    };
    match args.get(index).or_else(|| kwargs.get(name)) {
        Some(Value::Array(rows)) => rows
            .iter()
            .filter_map(Value::as_object)
            .try_for_each(|row| check_values(registry, model, row, 0)),
        Some(Value::Object(row)) => check_values(registry, model, row, 0),
        _ => Ok(()),
    }
}

fn check_values(
    registry: &Registry,
    model: &ModelDef,
    values: &Record,
    depth: usize,
) -> Result<(), CallFailure> {
    if depth > MAX_COMMAND_NESTING {
        return Err(CallFailure::Orm(OrmError::validation(format!(
            "x2many commands nest more than {MAX_COMMAND_NESTING} deep in the values for {}",
            model.name
        ))));
    }
    for (name, value) in values {
        // Unknown fields and bad commands are the ORM's to report.
        let Some(field) = model.field(name) else {
            continue;
        };
        if field.spec.readonly {
            return Err(CallFailure::Orm(OrmError::validation(format!(
                "The field '{}' ({name}) of model {} is read-only: it is set by the model's own methods, not by clients",
                field.spec.string, model.name
            ))));
        }
        let Some(target) = field
            .spec
            .relation
            .as_deref()
            .and_then(|r| registry.get(r))
            .filter(|_| !field.ttype().is_stored())
        else {
            continue;
        };
        for command in pulse_orm::x2many_commands(model, field, value).unwrap_or_default() {
            if let X2manyCommand::Create(v) | X2manyCommand::Update(_, v) = &command {
                check_values(registry, target, v, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Carries out the x2many `commands` (field name, value) written to the
/// record `id` of `model`: each record of a target model is created,
/// written or deleted by calling that model's method at the top of its
/// override chain (through `call`), in `tx`'s transaction. The record's own pending
/// recomputations wait until its commands are done.
#[crate::boxed]
pub async fn apply_x2many(
    mut tx: TxOrm,
    call: MethodCall,
    model: &str,
    id: i64,
    commands: &[(String, Value)],
) -> (Result<(), CallFailure>, TxOrm) {
    if commands.is_empty() {
        return (Ok(()), tx);
    }
    let earlier = tx.orm.take_pending();
    let outcome = Box::pin(run_commands(&mut tx, call, model, id, commands)).await;
    if outcome.is_ok() {
        tx.orm.restore_pending(earlier);
    }
    (outcome, tx)
}

async fn run_commands(
    tx: &mut TxOrm,
    call: MethodCall,
    model: &str,
    id: i64,
    commands: &[(String, Value)],
) -> Result<(), CallFailure> {
    let registry = tx.orm.registry().clone();
    let model_def = registry.require(model).map_err(CallFailure::Orm)?;
    for (name, value) in commands {
        let field = model_def.require_field(name).map_err(CallFailure::Orm)?;
        let parsed =
            pulse_orm::x2many_commands(model_def, field, value).map_err(CallFailure::Orm)?;
        for command in parsed {
            let steps = tx
                .operate(async |conn, orm| {
                    orm.x2many_steps(conn, model_def, field, id, &command).await
                })
                .await?;
            for step in steps {
                let (method, target, ids, args) = match step {
                    X2manyStep::Create { model, values } => {
                        ("create", model, Vec::new(), vec![Value::Object(values)])
                    }
                    X2manyStep::Write { model, ids, values } => {
                        ("write", model, ids, vec![Value::Object(values)])
                    }
                    X2manyStep::Unlink { model, ids } => ("unlink", model, ids, Vec::new()),
                    links => {
                        tx.operate(async |conn, orm| {
                            orm.apply_links(conn, model_def, field, id, &links).await
                        })
                        .await?;
                        continue;
                    }
                };
                let (answer, back) = call(tx.take(), target, method.to_string(), ids, args).await;
                *tx = back;
                let answer = answer?;
                if method == "create" {
                    let created: Vec<i64> = match &answer {
                        Value::Array(ids) => ids.iter().filter_map(Value::as_i64).collect(),
                        one => one.as_i64().into_iter().collect(),
                    };
                    tx.operate(async |conn, orm| {
                        orm.link_created(conn, model_def, field, id, &created).await
                    })
                    .await?;
                }
            }
        }
    }
    Ok(())
}
