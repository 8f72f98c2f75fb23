//! The ownership ledger, as Odoo keeps it: which module owns which model
//! (`ir_model`), field (`ir_model_fields`), many2many relation table
//! (`ir_model_relation`) and record (`ir_model_data`, the external ids).
//! Installing a module records what it owns here; upgrading and
//! uninstalling it read back what to change or drop. Every statement on
//! those four tables is in this module; the host's migrations create them.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::OrmError;
use crate::registry::{FieldDef, ModelDef};
use crate::schema::relation_table;
use crate::sql::Connection;
use crate::values::{SqlValue, bind, bool_at};

/// A record's external id (`module.name`) as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId {
    /// The model of the record it names.
    pub model: String,
    /// The id of the record it names.
    pub res_id: i64,
    /// Whether an update of the module leaves the record as it is.
    pub noupdate: bool,
}

/// A record a module owns through an external id, with what decides
/// whether removing that external id deletes the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    /// The external id's name within the module.
    pub name: String,
    /// The record's model.
    pub model: String,
    /// The record's id.
    pub res_id: i64,
    /// Whether an update of the module leaves the record as it is.
    pub noupdate: bool,
    /// Whether another module owns the same record too.
    pub shared: bool,
    /// Whether the module also owns the record's model (its table goes
    /// with it on uninstall).
    pub in_own_model: bool,
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_string())
}

async fn execute(
    conn: &mut Connection,
    sql: &'static str,
    params: Vec<SqlValue>,
) -> Result<(), OrmError> {
    let query = params.into_iter().fold(sqlx::query(sql), bind);
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn fetch(
    conn: &mut Connection,
    sql: &'static str,
    params: Vec<SqlValue>,
) -> Result<Vec<AnyRow>, OrmError> {
    let query = params.into_iter().fold(sqlx::query(sql), bind);
    Ok(query.fetch_all(&mut *conn).await?)
}

/// The first column of every row `sql` answers, as text.
async fn texts(
    conn: &mut Connection,
    sql: &'static str,
    params: Vec<SqlValue>,
) -> Result<Vec<String>, OrmError> {
    fetch(conn, sql, params)
        .await?
        .iter()
        .map(|row| -> Result<_, OrmError> { Ok(row.try_get(0)?) })
        .collect()
}

/// The first two columns of `row`.
fn pair<A, B>(row: &AnyRow) -> Result<(A, B), OrmError>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    B: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Records `model` as owned by `module`, with no fields, and Odoo's
/// columns: `state` `base` (every Pulse model is defined by code), not
/// transient, ordered by id, `modules` the owner until others extend it.
pub async fn record_model_row(
    conn: &mut Connection,
    model: &ModelDef,
    module: &str,
) -> Result<(), OrmError> {
    execute(
        conn,
        "INSERT INTO ir_model (model, name, table_name, module, state, transient, \"order\", modules) \
         VALUES ($1, $2, $3, $4, 'base', $5, 'id', $4)",
        vec![
            text(&model.name),
            text(&model.description),
            text(&model.table),
            text(module),
            SqlValue::Bool(false),
        ],
    )
    .await
}

/// Records what the ledger lacks of `model` as owned by `module` (the
/// pseudo-addon `base`, whose models are made at every start): its row
/// and the fields `module` defines on it, then fills `model_id` where a
/// database made before it held none.
pub async fn record_missing(
    conn: &mut Connection,
    model: &ModelDef,
    module: &str,
) -> Result<(), OrmError> {
    if !has_model(conn, &model.name).await? {
        record_model_row(conn, model, module).await?;
    }
    let known = texts(
        conn,
        "SELECT name FROM ir_model_fields WHERE model = $1",
        vec![text(&model.name)],
    )
    .await?;
    let mut added = false;
    for field in model.fields().iter().filter(|f| {
        f.module == module && f.spec.related.is_none() && !known.iter().any(|k| k == f.name())
    }) {
        record_field_row(conn, model, field).await?;
        added = true;
    }
    if added {
        refresh_modules(conn, Some(&model.name)).await?;
        execute(
            conn,
            "UPDATE ir_model_fields SET model_id = (SELECT m.id FROM ir_model m WHERE m.model = ir_model_fields.model) \
             WHERE model_id IS NULL",
            Vec::new(),
        )
        .await?;
    }
    Ok(())
}

/// Sets `ir_model.modules` of `model` (all of them when `None`): the
/// modules defining or extending it, comma-separated as Odoo shows them.
pub async fn refresh_modules(conn: &mut Connection, model: Option<&str>) -> Result<(), OrmError> {
    let models = match model {
        Some(model) => vec![model.to_string()],
        None => texts(conn, "SELECT model FROM ir_model", Vec::new()).await?,
    };
    for model in models {
        let mut modules = texts(
            conn,
            "SELECT module FROM ir_model WHERE model = $1 \
             UNION SELECT module FROM ir_model_fields WHERE model = $1",
            vec![text(&model)],
        )
        .await?;
        modules.sort();
        modules.dedup();
        execute(
            conn,
            "UPDATE ir_model SET modules = $1 WHERE model = $2",
            vec![text(&modules.join(", ")), text(&model)],
        )
        .await?;
    }
    Ok(())
}

/// A selection's pairs as Odoo's `ir.model.fields.selection` shows them:
/// `[('draft', 'Draft'), ('done', 'Done')]`.
fn selection_text(pairs: &[(String, String)]) -> String {
    let quoted = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let items: Vec<String> = pairs
        .iter()
        .map(|(value, label)| format!("({}, {})", quoted(value), quoted(label)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Records `model` and its fields as owned by the module that defines it.
pub async fn record_model(conn: &mut Connection, model: &ModelDef) -> Result<(), OrmError> {
    record_model_row(conn, model, &model.module).await?;
    // Related fields have nothing in the database to own.
    for field in model.fields().iter().filter(|f| f.spec.related.is_none()) {
        record_field_row(conn, model, field).await?;
    }
    refresh_modules(conn, Some(&model.name)).await
}

/// Records a field as owned by the module that defines it, and a
/// many2many's relation table with it; the model's `modules` follow.
pub async fn record_field(
    conn: &mut Connection,
    model: &ModelDef,
    field: &FieldDef,
) -> Result<(), OrmError> {
    record_field_row(conn, model, field).await?;
    refresh_modules(conn, Some(&model.name)).await
}

/// [`record_field`] without refreshing the model's `modules`.
async fn record_field_row(
    conn: &mut Connection,
    model: &ModelDef,
    field: &FieldDef,
) -> Result<(), OrmError> {
    let spec = &field.spec;
    let optional = |value: Option<&str>| value.map_or(SqlValue::NullText, text);
    let on_delete =
        (spec.ttype == pulse_schema::FieldType::Many2one).then(|| spec.ondelete_policy().as_str());
    let selection = (!spec.selection.is_empty()).then(|| selection_text(&spec.selection));
    let depends = (!spec.depends.is_empty()).then(|| spec.depends.join(","));
    execute(
        conn,
        "INSERT INTO ir_model_fields (model, name, ttype, module, model_id, field_description, help, \
         relation, relation_field, selection, required, readonly, store, \"index\", copied, related, \
         compute, depends, on_delete, state, modules) \
         VALUES ($1, $2, $3, $4, (SELECT id FROM ir_model WHERE model = $1), $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, 'base', $4)",
        vec![
            text(&model.name),
            text(field.name()),
            text(field.ttype().as_str()),
            text(&field.module),
            text(&spec.string),
            optional(spec.help.as_deref()),
            optional(spec.relation.as_deref()),
            optional(spec.inverse.as_deref()),
            optional(selection.as_deref()),
            SqlValue::Bool(spec.required),
            SqlValue::Bool(spec.readonly || spec.is_derived()),
            SqlValue::Bool(spec.related.is_none()),
            SqlValue::Bool(spec.index || spec.unique),
            SqlValue::Bool(spec.copied()),
            optional(spec.related.as_deref()),
            optional(spec.compute.as_deref()),
            optional(depends.as_deref()),
            optional(on_delete),
        ],
    )
    .await?;
    if field.ttype() == pulse_schema::FieldType::Many2many {
        let rel = relation_table(model, field)?;
        execute(
            conn,
            "INSERT INTO ir_model_relation (name, model, field, module) VALUES ($1, $2, $3, $4)",
            vec![
                text(&rel.table),
                text(&model.name),
                text(field.name()),
                text(&field.module),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Whether the ledger records `model` at all.
pub async fn has_model(conn: &mut Connection, model: &str) -> Result<bool, OrmError> {
    Ok(!texts(
        conn,
        "SELECT model FROM ir_model WHERE model = $1",
        vec![text(model)],
    )
    .await?
    .is_empty())
}

/// The module that defines `model`, if the ledger records it.
pub async fn model_owner(conn: &mut Connection, model: &str) -> Result<Option<String>, OrmError> {
    Ok(texts(
        conn,
        "SELECT module FROM ir_model WHERE model = $1",
        vec![text(model)],
    )
    .await?
    .into_iter()
    .next())
}

/// The type the ledger records for `model.field` (empty when it records
/// none).
pub async fn field_type(
    conn: &mut Connection,
    model: &str,
    field: &str,
) -> Result<String, OrmError> {
    Ok(texts(
        conn,
        "SELECT ttype FROM ir_model_fields WHERE model = $1 AND name = $2",
        vec![text(model), text(field)],
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_default())
}

/// Records that `model.field` now has type `ttype`.
pub async fn set_field_type(
    conn: &mut Connection,
    model: &str,
    field: &str,
    ttype: &str,
) -> Result<(), OrmError> {
    execute(
        conn,
        "UPDATE ir_model_fields SET ttype = $1 WHERE model = $2 AND name = $3",
        vec![text(ttype), text(model), text(field)],
    )
    .await
}

/// Forgets the field `model.field`.
pub async fn forget_field(conn: &mut Connection, model: &str, field: &str) -> Result<(), OrmError> {
    execute(
        conn,
        "DELETE FROM ir_model_fields WHERE model = $1 AND name = $2",
        vec![text(model), text(field)],
    )
    .await?;
    refresh_modules(conn, Some(model)).await
}

/// Which models the ledger forgets.
#[derive(Debug, Clone, Copy)]
pub enum Forget<'a> {
    /// One model and every field recorded on it.
    Model(&'a str),
    /// Every model and field a module owns (its fields on other modules'
    /// models too).
    OwnedBy(&'a str),
}

/// Forgets the models (and their fields) `which` names.
pub async fn forget_models(conn: &mut Connection, which: Forget<'_>) -> Result<(), OrmError> {
    let (statements, value) = match which {
        Forget::Model(model) => (
            [
                "DELETE FROM ir_model_fields WHERE model = $1",
                "DELETE FROM ir_model WHERE model = $1",
            ],
            model,
        ),
        Forget::OwnedBy(module) => (
            [
                "DELETE FROM ir_model_fields WHERE module = $1",
                "DELETE FROM ir_model WHERE module = $1",
            ],
            module,
        ),
    };
    for sql in statements {
        execute(conn, sql, vec![text(value)]).await?;
    }
    match which {
        Forget::Model(_) => Ok(()),
        // Its fields on other modules' models are gone from their `modules`.
        Forget::OwnedBy(_) => refresh_modules(conn, None).await,
    }
}

/// The relation tables of `module`'s many2many fields: all of them, or
/// those of `model.field` when `only` names it.
pub async fn relation_tables(
    conn: &mut Connection,
    module: &str,
    only: Option<(&str, &str)>,
) -> Result<Vec<String>, OrmError> {
    match only {
        None => {
            texts(
                conn,
                "SELECT name FROM ir_model_relation WHERE module = $1",
                vec![text(module)],
            )
            .await
        }
        Some((model, field)) => texts(
            conn,
            "SELECT name FROM ir_model_relation WHERE module = $1 AND model = $2 AND field = $3",
            vec![text(module), text(model), text(field)],
        )
        .await,
    }
}

/// Forgets the relation table `table` of `module`.
pub async fn forget_relation_table(
    conn: &mut Connection,
    table: &str,
    module: &str,
) -> Result<(), OrmError> {
    execute(
        conn,
        "DELETE FROM ir_model_relation WHERE name = $1 AND module = $2",
        vec![text(table), text(module)],
    )
    .await
}

/// `(table, column)` of the columns `module` added to other modules'
/// tables, in table and column order.
pub async fn columns_on_other_tables(
    conn: &mut Connection,
    module: &str,
) -> Result<Vec<(String, String)>, OrmError> {
    fetch(
        conn,
        "SELECT m.table_name, f.name FROM ir_model_fields f JOIN ir_model m ON m.model = f.model \
         WHERE f.module = $1 AND m.module <> $1 AND f.ttype NOT IN ('one2many', 'many2many') \
         ORDER BY m.table_name, f.name",
        vec![text(module)],
    )
    .await?
    .iter()
    .map(pair)
    .collect()
}

/// What uninstalling `module` drops: `(table, Some(column))` for each
/// column it added to another module's table, then `(table, None)` for
/// each of its own tables.
pub async fn owned_storage(
    conn: &mut Connection,
    module: &str,
) -> Result<Vec<(String, Option<String>)>, OrmError> {
    fetch(
        conn,
        "SELECT m.table_name, f.name FROM ir_model_fields f JOIN ir_model m ON m.model = f.model \
         WHERE f.module = $1 AND m.module <> $1 AND f.ttype NOT IN ('one2many', 'many2many') \
         UNION ALL SELECT table_name, NULL FROM ir_model WHERE module = $1",
        vec![text(module)],
    )
    .await?
    .iter()
    .map(pair)
    .collect()
}

/// The tables of the models `module` defines.
pub async fn tables_of(conn: &mut Connection, module: &str) -> Result<Vec<String>, OrmError> {
    texts(
        conn,
        "SELECT table_name FROM ir_model WHERE module = $1",
        vec![text(module)],
    )
    .await
}

/// Forgets the fields of the model whose table is `table` (whichever
/// module added them).
pub async fn forget_fields_of_table(conn: &mut Connection, table: &str) -> Result<(), OrmError> {
    execute(
        conn,
        "DELETE FROM ir_model_fields WHERE model IN (SELECT model FROM ir_model WHERE table_name = $1)",
        vec![text(table)],
    )
    .await
}

/// The record the external id `module.name` names.
pub async fn external_id(
    conn: &mut Connection,
    module: &str,
    name: &str,
) -> Result<Option<ExternalId>, OrmError> {
    let rows = fetch(
        conn,
        "SELECT model, res_id, noupdate FROM ir_model_data WHERE module = $1 AND name = $2",
        vec![text(module), text(name)],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(ExternalId {
        model: row.try_get(0)?,
        res_id: row.try_get(1)?,
        noupdate: bool_at(row, 2)?.unwrap_or(false),
    }))
}

/// Records the external id `module.name` for record `res_id` of `model`.
pub async fn add_external_id(
    conn: &mut Connection,
    module: &str,
    name: &str,
    model: &str,
    res_id: i64,
    noupdate: bool,
) -> Result<(), OrmError> {
    execute(
        conn,
        "INSERT INTO ir_model_data (module, name, model, res_id, noupdate) VALUES ($1, $2, $3, $4, $5)",
        vec![
            text(module),
            text(name),
            text(model),
            SqlValue::Int(res_id),
            SqlValue::Bool(noupdate),
        ],
    )
    .await
}

/// Records external ids `module.name` for records of `model`, many per
/// statement (reference data: hundreds at once).
pub async fn add_external_ids(
    conn: &mut Connection,
    module: &str,
    model: &str,
    named: &[(&str, i64)],
    noupdate: bool,
) -> Result<(), OrmError> {
    for chunk in named.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO ir_model_data (module, name, model, res_id, noupdate) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 5);
        for (i, (name, res_id)) in chunk.iter().enumerate() {
            let n = i * 5;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
            params.extend([
                text(module),
                text(name),
                text(model),
                SqlValue::Int(*res_id),
                SqlValue::Bool(noupdate),
            ]);
        }
        let query = params.into_iter().fold(sqlx::query(&sql), bind);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Points the external id `module.name` at record `res_id`, with a new
/// `noupdate`.
pub async fn update_external_id(
    conn: &mut Connection,
    module: &str,
    name: &str,
    res_id: i64,
    noupdate: bool,
) -> Result<(), OrmError> {
    execute(
        conn,
        "UPDATE ir_model_data SET noupdate = $1, res_id = $2 WHERE module = $3 AND name = $4",
        vec![
            SqlValue::Bool(noupdate),
            SqlValue::Int(res_id),
            text(module),
            text(name),
        ],
    )
    .await
}

/// Forgets the external id `module.name` (not the record it names).
pub async fn forget_external_id(
    conn: &mut Connection,
    module: &str,
    name: &str,
) -> Result<(), OrmError> {
    execute(
        conn,
        "DELETE FROM ir_model_data WHERE module = $1 AND name = $2",
        vec![text(module), text(name)],
    )
    .await
}

/// The records `module` owns through external ids, newest first (so
/// records go before the records they point at).
pub async fn owned_records(
    conn: &mut Connection,
    module: &str,
) -> Result<Vec<OwnedRecord>, OrmError> {
    fetch(
        conn,
        "SELECT d.name, d.model, d.res_id, d.noupdate, \
         (SELECT COUNT(*) FROM ir_model_data o WHERE o.model = d.model AND o.res_id = d.res_id AND o.module <> d.module), \
         (SELECT COUNT(*) FROM ir_model m WHERE m.model = d.model AND m.module = d.module) \
         FROM ir_model_data d WHERE d.module = $1 ORDER BY d.id DESC",
        vec![text(module)],
    )
    .await?
    .iter()
    .map(|row| -> Result<_, OrmError> {
        Ok(OwnedRecord {
            name: row.try_get(0)?,
            model: row.try_get(1)?,
            res_id: row.try_get(2)?,
            noupdate: bool_at(row, 3)?.unwrap_or(false),
            shared: row.try_get::<i64, _>(4)? > 0,
            in_own_model: row.try_get::<i64, _>(5)? > 0,
        })
    })
    .collect()
}

/// A module owning record `res_id` of `model` through an external id.
pub async fn record_owner(
    conn: &mut Connection,
    model: &str,
    res_id: i64,
) -> Result<Option<String>, OrmError> {
    Ok(texts(
        conn,
        "SELECT module FROM ir_model_data WHERE model = $1 AND res_id = $2 LIMIT 1",
        vec![text(model), SqlValue::Int(res_id)],
    )
    .await?
    .into_iter()
    .next())
}

/// `(module, res_id)` of every external id naming a record of `model`.
pub async fn external_ids_of_model(
    conn: &mut Connection,
    model: &str,
) -> Result<Vec<(String, i64)>, OrmError> {
    fetch(
        conn,
        "SELECT module, res_id FROM ir_model_data WHERE model = $1",
        vec![text(model)],
    )
    .await?
    .iter()
    .map(pair)
    .collect()
}

/// `(module.name, res_id)` of every external id naming a record of `model`.
pub async fn named_external_ids_of_model(
    conn: &mut Connection,
    model: &str,
) -> Result<Vec<(String, i64)>, OrmError> {
    fetch(
        conn,
        "SELECT module, name, res_id FROM ir_model_data WHERE model = $1",
        vec![text(model)],
    )
    .await?
    .iter()
    .map(|row| {
        let (module, name): (String, String) = pair(row)?;
        Ok((format!("{module}.{name}"), row.try_get(2)?))
    })
    .collect()
}
