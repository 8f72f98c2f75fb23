//! Odoo's record methods over one connection (usually a transaction).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use pulse_schema::FieldType;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::compile::order_by;
use crate::dialect::Dialect;
use crate::domain::Domain;
use crate::error::OrmError;
use crate::pending::{Changed, Pending};
use crate::registry::{FieldDef, ModelDef, Registry};
use crate::sql::{
    Connection, ID_CHUNK, constraint_error, execute_by_ids, fetch_by_ids, placeholders,
    sorted_unique,
};
use crate::values::{
    Record, SqlValue, bind, empty_value, fill_field, from_row, record_ids, to_sql,
};

/// `search` options, as Odoo names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Records to skip.
    pub offset: u32,
    /// At most this many records.
    pub limit: Option<u32>,
    /// `"field [asc|desc], …"`; `id` when empty.
    pub order: Option<String>,
}

/// The ORM over a registry snapshot, for one database dialect.
///
/// Clones share the work marked for the host ([`Pending`]): use one
/// `Orm` (and its clones) per transaction.
#[derive(Debug, Clone)]
pub struct Orm {
    dialect: Dialect,
    registry: Arc<Registry>,
    pub(crate) pending: Arc<std::sync::Mutex<Pending>>,
}

impl Orm {
    /// The ORM for `registry` on a `dialect` database.
    pub fn new(dialect: Dialect, registry: Arc<Registry>) -> Orm {
        Orm {
            dialect,
            registry,
            pending: Arc::default(),
        }
    }

    /// The registry snapshot this ORM works on.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The database dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn model(&self, name: &str) -> Result<&Arc<ModelDef>, OrmError> {
        self.registry.require(name)
    }

    /// Ids of the records of `model` matching `domain`.
    pub async fn search(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
        options: &SearchOptions,
    ) -> Result<Vec<i64>, OrmError> {
        let model = self.model(model)?;
        let rows = self.select(conn, model, "\"id\"", domain, options).await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(OrmError::from))
            .collect()
    }

    /// `SELECT columns` of the records matching `domain`, in order, with
    /// Odoo's offset and limit (bound like every other value).
    async fn select(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        columns: &str,
        domain: &Domain,
        options: &SearchOptions,
    ) -> Result<Vec<sqlx::any::AnyRow>, OrmError> {
        let (sql, params) = self.select_sql(model, columns, domain, options)?;
        let mut query = sqlx::query(&sql);
        for p in params {
            query = bind(query, p);
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }

    /// The statement of [`Orm::select`].
    fn select_sql(
        &self,
        model: &ModelDef,
        columns: &str,
        domain: &Domain,
        options: &SearchOptions,
    ) -> Result<(String, Vec<SqlValue>), OrmError> {
        let mut params = Vec::new();
        let condition = domain.to_sql(&self.registry, model, self.dialect, &mut params)?;
        let order = order_by(model, options.order.as_deref())?;
        let mut sql = format!(
            "SELECT {columns} FROM \"{}\" WHERE {condition} ORDER BY {order}",
            model.table
        );
        // SQLite needs a LIMIT before an OFFSET.
        if options.limit.is_some() || options.offset > 0 {
            params.push(SqlValue::Int(options.limit.map_or(-1, i64::from)));
            sql.push_str(&format!(" LIMIT {}", self.dialect.param(params.len())));
            if options.limit.is_none() && self.dialect == Dialect::Postgres {
                // PostgreSQL reads LIMIT NULL as "no limit"; -1 is an error there.
                params.pop();
                params.push(SqlValue::NullInt);
            }
            params.push(SqlValue::Int(i64::from(options.offset)));
            sql.push_str(&format!(" OFFSET {}", self.dialect.param(params.len())));
        }
        Ok((sql, params))
    }

    /// The records matching `domain` with the columns of `selected`, built
    /// as JSON by SQLite itself: one row crosses the driver instead of one
    /// per record, which is most of the cost of a read through sqlx's `Any`
    /// driver on SQLite.
    async fn select_json(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        selected: &[&FieldDef],
        domain: &Domain,
        options: &SearchOptions,
    ) -> Result<Vec<Record>, OrmError> {
        let stored: Vec<&&FieldDef> = selected.iter().filter(|f| f.has_column()).collect();
        // The inner query keeps every column, so the aggregate can order
        // its elements by the same clause.
        let (inner, params) = self.select_sql(model, "*", domain, options)?;
        let order = order_by(model, options.order.as_deref())?;
        let object = std::iter::once("'id', \"id\"".to_string())
            .chain(stored.iter().map(|f| format!("'{0}', \"{0}\"", f.name())))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT json_group_array(json_object({object}) ORDER BY {order}) FROM ({inner})"
        );
        let mut query = sqlx::query(&sql);
        for p in params {
            query = bind(query, p);
        }
        let row = query.fetch_one(&mut *conn).await?;
        let text: String = row.try_get(0)?;
        let rows: Vec<Record> = serde_json::from_str(&text)
            .map_err(|e| OrmError::value(format!("unreadable rows from the database: {e}")))?;
        Ok(rows
            .into_iter()
            .map(|mut record| {
                for field in &stored {
                    if let Some(value) = record.get_mut(field.name()) {
                        *value = crate::values::from_json_column(std::mem::take(value), field);
                    }
                }
                record
            })
            .collect())
    }

    /// Number of records of `model` matching `domain`.
    pub async fn search_count(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
    ) -> Result<u64, OrmError> {
        let model = self.model(model)?;
        let mut params = Vec::new();
        let condition = domain.to_sql(&self.registry, model, self.dialect, &mut params)?;
        let sql = format!("SELECT COUNT(*) FROM \"{}\" WHERE {condition}", model.table);
        let mut query = sqlx::query(&sql);
        for p in params {
            query = bind(query, p);
        }
        let row = query.fetch_one(&mut *conn).await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }

    /// Reads `fields` (every stored field when empty) of the records `ids`,
    /// in the order of `ids`, skipping ids that do not exist (as Odoo's
    /// `read` does). Many2one values come as `[id, display name]`.
    pub async fn read(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<Vec<Record>, OrmError> {
        let model = self.model(model)?;
        let selected = selected_fields(model, fields)?;
        let unique = sorted_unique(ids.iter().copied());
        let mut by_id: HashMap<i64, Record> = HashMap::with_capacity(unique.len());
        let columns = column_list(&selected);
        let rows = fetch_by_ids(conn, self.dialect, &unique, |list| {
            format!(
                "SELECT {columns} FROM \"{}\" WHERE \"id\" IN ({list})",
                model.table
            )
        })
        .await?;
        for row in rows {
            by_id.insert(row.try_get(0)?, record_from_row(&row, &selected)?);
        }
        // As in Odoo, ids of records that do not exist are skipped.
        let mut records: Vec<Record> = ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
        self.complete(conn, model, fields, &selected, &mut records)
            .await?;
        Ok(records)
    }

    /// Adds what the rows do not hold: many2one display names, `display_name`
    /// and x2many ids, each in one query per field.
    async fn complete(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        fields: &[String],
        selected: &[&FieldDef],
        records: &mut [Record],
    ) -> Result<(), OrmError> {
        self.add_display_names(conn, selected, records).await?;
        self.add_own_display_name(conn, model, fields, records)
            .await?;
        self.add_held_elsewhere(conn, model, selected, records)
            .await
    }

    /// Fills the fields among `selected` of `records` that no column of
    /// theirs holds: related fields (one query per step of the path) and
    /// x2many fields (one query per field).
    async fn add_held_elsewhere(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        selected: &[&FieldDef],
        records: &mut [Record],
    ) -> Result<(), OrmError> {
        let ids = record_ids(records);
        for field in selected.iter() {
            if let Some(path) = &field.spec.related {
                let values = Box::pin(self.follow_path(conn, model, &ids, path, 0)).await?;
                fill_field(records, field.name(), values, || empty_value(field));
            } else if !field.ttype().is_stored() {
                let linked = self.read_x2many(conn, model, field, &ids).await?;
                fill_field(records, field.name(), linked, || empty_value(field));
            }
        }
        Ok(())
    }

    /// Fills `display_name` when it was asked for.
    async fn add_own_display_name(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        fields: &[String],
        records: &mut [Record],
    ) -> Result<(), OrmError> {
        if !fields.iter().any(|f| f == DISPLAY_NAME) {
            return Ok(());
        }
        let names = self
            .display_names(conn, &model.name, &record_ids(records))
            .await?;
        fill_field(
            records,
            DISPLAY_NAME,
            names,
            || Value::String(String::new()),
        );
        Ok(())
    }

    /// Odoo's `name_search`: `[id, display name]` of the records whose
    /// display name matches `name` with `operator`, within `domain`.
    pub async fn name_search(
        &self,
        conn: &mut Connection,
        model: &str,
        name: &str,
        domain: &Domain,
        operator: &str,
        limit: Option<u32>,
    ) -> Result<Vec<(i64, String)>, OrmError> {
        let model_def = self.model(model)?.clone();
        // AND-ed as trees, so a domain restricted to a user stays so.
        let domain = match (model_def.rec_name(), name.is_empty()) {
            (Some(rec_name), false) => domain.and(&Domain::parse(&serde_json::json!([[
                rec_name.name(),
                operator,
                name
            ]]))?),
            _ => domain.clone(),
        };
        let options = SearchOptions {
            limit,
            ..SearchOptions::default()
        };
        let ids = self.search(conn, model, &domain, &options).await?;
        let names = self.display_names(conn, model, &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| (id, names.get(&id).cloned().unwrap_or_default()))
            .collect())
    }

    /// The ids among `ids` whose records exist, in order.
    pub async fn exists(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
    ) -> Result<Vec<i64>, OrmError> {
        let domain = Domain::parse(&serde_json::json!([["id", "in", ids]]))?;
        let found: BTreeSet<i64> = self
            .search(conn, model, &domain, &SearchOptions::default())
            .await?
            .into_iter()
            .collect();
        Ok(ids
            .iter()
            .copied()
            .filter(|id| found.contains(id))
            .collect())
    }

    /// Odoo's `copy`: a new record with the values of `id`, overridden by `default`.
    pub async fn copy(
        &self,
        conn: &mut Connection,
        model: &str,
        id: i64,
        default: &Record,
    ) -> Result<i64, OrmError> {
        let model_def = self.model(model)?.clone();
        let mut values = self
            .read(conn, model, &[id], &[])
            .await?
            .pop()
            .ok_or_else(|| {
                OrmError::missing(format!(
                    "Record does not exist or has been deleted.\n(Record: {model}({id},))"
                ))
            })?;
        values.remove("id");
        // As in Odoo: fields declared `copy = false` (numbers, states) take
        // their default again, one2many lines come along only when their
        // field says `copy = true`, computed and related fields follow.
        values.retain(|name, _| {
            model_def
                .field(name)
                .is_some_and(|f| f.spec.copied() && f.ttype() != FieldType::One2many)
        });
        for (field, value) in values.iter_mut() {
            // many2one values read as [id, name]; write them back as ids.
            if let Value::Array(pair) = value
                && model_def
                    .field(field)
                    .is_some_and(|f| f.ttype() == FieldType::Many2one)
            {
                *value = pair.first().cloned().unwrap_or(Value::Bool(false));
            }
        }
        for (field, value) in default {
            values.insert(field.clone(), value.clone());
        }
        let new = self.create(conn, model, &[values]).await?[0];
        for field in model_def
            .fields()
            .iter()
            .filter(|f| f.ttype() == FieldType::One2many && f.spec.copied())
            .filter(|f| !default.contains_key(f.name()))
        {
            let lines = self
                .read_x2many(conn, &model_def, field, &[id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            let relation = field.spec.relation.as_deref().unwrap_or_default();
            let mut parent = Record::new();
            parent.insert(
                field.spec.inverse.clone().unwrap_or_default(),
                Value::from(new),
            );
            for line in lines {
                Box::pin(self.copy(conn, relation, line, &parent)).await?;
            }
        }
        Ok(new)
    }

    /// Odoo's `default_get`: the defaults of `fields` (all when empty) that have one.
    pub fn default_get(&self, model: &str, fields: &[String]) -> Result<Record, OrmError> {
        let model = self.model(model)?;
        let mut defaults = Map::new();
        for field in model.fields() {
            if (fields.is_empty() || fields.iter().any(|f| f == field.name()))
                && let Some(default) = &field.spec.default
            {
                defaults.insert(field.name().to_string(), default.clone());
            }
        }
        Ok(defaults)
    }

    /// Turns many2one ids into `[id, display name]`, one query per related model.
    async fn add_display_names(
        &self,
        conn: &mut Connection,
        fields: &[&FieldDef],
        records: &mut [Record],
    ) -> Result<(), OrmError> {
        for field in fields.iter().filter(|f| f.ttype() == FieldType::Many2one) {
            let relation = field.spec.relation.as_deref().unwrap_or_default();
            let ids = sorted_unique(
                records
                    .iter()
                    .filter_map(|r| r.get(field.name()).and_then(Value::as_i64)),
            );
            if ids.is_empty() {
                continue;
            }
            let names = self.display_names(conn, relation, &ids).await?;
            for record in records.iter_mut() {
                if let Some(id) = record.get(field.name()).and_then(Value::as_i64) {
                    let name = names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("{relation},{id}"));
                    record.insert(
                        field.name().to_string(),
                        Value::Array(vec![id.into(), name.into()]),
                    );
                }
            }
        }
        Ok(())
    }

    /// Display names of records of `model` (its `name` field, else `model,id`).
    pub async fn display_names(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, OrmError> {
        let model = self.model(model)?;
        let mut names = HashMap::with_capacity(ids.len());
        let Some(rec_name) = model.rec_name() else {
            for id in ids {
                names.insert(*id, format!("{},{id}", model.name));
            }
            return Ok(names);
        };
        let rows = fetch_by_ids(conn, self.dialect, ids, |list| {
            format!(
                "SELECT \"id\", \"{}\" FROM \"{}\" WHERE \"id\" IN ({list})",
                rec_name.name(),
                model.table
            )
        })
        .await?;
        for row in rows {
            let name = match from_row(&row, 1, rec_name)? {
                Value::String(s) => s,
                Value::Bool(false) => String::new(),
                other => other.to_string(),
            };
            names.insert(row.try_get(0)?, name);
        }
        Ok(names)
    }

    /// Odoo's `search_read`: `search` and `read` in one.
    pub async fn search_read(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
        fields: &[String],
        options: &SearchOptions,
    ) -> Result<Vec<Record>, OrmError> {
        // One query: the search's WHERE, ORDER and LIMIT with read's columns.
        let model = self.model(model)?;
        let selected = selected_fields(model, fields)?;
        // On PostgreSQL rows cross the wire cheaply and building JSON in
        // the server costs more; SQLite caps a function's arguments (127).
        let mut records = if self.dialect == Dialect::Sqlite && selected.len() < 60 {
            self.select_json(conn, model, &selected, domain, options)
                .await?
        } else {
            let rows = self
                .select(conn, model, &column_list(&selected), domain, options)
                .await?;
            rows.iter()
                .map(|row| record_from_row(row, &selected))
                .collect::<Result<Vec<_>, _>>()?
        };
        self.complete(conn, model, fields, &selected, &mut records)
            .await?;
        Ok(records)
    }

    /// Creates one record per value map; returns the new ids in order.
    pub async fn create(
        &self,
        conn: &mut Connection,
        model: &str,
        rows: &[Record],
    ) -> Result<Vec<i64>, OrmError> {
        let model = self.model(model)?;
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let mut columns = Vec::new();
            let mut params = Vec::new();
            // x2many values are commands, applied once the record exists.
            let mut later = Vec::new();
            for (name, value) in row {
                if name == "id" {
                    continue;
                }
                let field = model.require_field(name)?;
                writable(model, field)?;
                if !field.ttype().is_stored() {
                    later.push((field, value));
                    continue;
                }
                columns.push(format!("\"{name}\""));
                params.push(to_sql(model, field, value)?);
            }
            for field in model
                .fields()
                .iter()
                .filter(|f| f.has_column() && f.spec.compute.is_none())
            {
                if row.contains_key(field.name()) {
                    continue;
                }
                if let Some(default) = &field.spec.default {
                    columns.push(format!("\"{}\"", field.name()));
                    params.push(to_sql(model, field, default)?);
                } else if field.ttype() == FieldType::Boolean {
                    columns.push(format!("\"{}\"", field.name()));
                    params.push(SqlValue::Bool(false));
                }
            }
            check_required(model, row, true)?;
            let sql = if columns.is_empty() {
                format!(
                    "INSERT INTO \"{}\" DEFAULT VALUES RETURNING \"id\"",
                    model.table
                )
            } else {
                format!(
                    "INSERT INTO \"{}\" ({}) VALUES ({}) RETURNING \"id\"",
                    model.table,
                    columns.join(", "),
                    placeholders(self.dialect, 1, params.len())
                )
            };
            let mut query = sqlx::query(&sql);
            for p in params {
                query = bind(query, p);
            }
            let created = query
                .fetch_one(&mut *conn)
                .await
                .map_err(constraint_error)?;
            let id: i64 = created.try_get(0)?;
            for (field, value) in later {
                Box::pin(self.write_x2many(conn, model, field, id, value)).await?;
            }
            ids.push(id);
        }
        self.mark_own(model, &ids, Changed::All);
        self.mark_dependents(conn, model, &ids, None).await?;
        self.mark_created(model, &ids);
        Ok(ids)
    }

    /// Writes `values` on the records `ids`.
    pub async fn write(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
        values: &Record,
    ) -> Result<(), OrmError> {
        let model = self.model(model)?;
        check_required(model, values, false)?;
        let mut sets = Vec::new();
        let mut params = Vec::new();
        let mut later = Vec::new();
        for (name, value) in values {
            if name == "id" {
                return Err(OrmError::user("The id of a record cannot be written"));
            }
            let field = model.require_field(name)?;
            writable(model, field)?;
            if !field.ttype().is_stored() {
                later.push((field, value));
                continue;
            }
            params.push(to_sql(model, field, value)?);
            sets.push(format!("\"{name}\" = {}", self.dialect.param(params.len())));
        }
        if ids.is_empty() {
            return Ok(());
        }
        let unique = sorted_unique(ids.iter().copied());
        let changed: BTreeSet<String> = values.keys().cloned().collect();
        let events = self.before_write(conn, model, &unique, &changed).await?;
        // The records linked until now, for computed fields of other models.
        self.mark_dependents(conn, model, &unique, Some(&changed))
            .await?;
        for chunk in unique.chunks(ID_CHUNK).filter(|_| !sets.is_empty()) {
            let sql = format!(
                "UPDATE \"{}\" SET {} WHERE \"id\" IN ({})",
                model.table,
                sets.join(", "),
                placeholders(self.dialect, params.len() + 1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for p in params.iter().cloned() {
                query = bind(query, p);
            }
            for id in chunk {
                query = query.bind(*id);
            }
            let done = query.execute(&mut *conn).await.map_err(constraint_error)?;
            if done.rows_affected() < chunk.len() as u64 {
                return Err(OrmError::missing(format!(
                    "Record does not exist or has been deleted.\n(Records: {}{:?})",
                    model.name, chunk
                )));
            }
        }
        for id in &unique {
            for (field, value) in &later {
                Box::pin(self.write_x2many(conn, model, field, *id, value)).await?;
            }
        }
        self.mark_own(model, &unique, Changed::Fields(&changed));
        if let Some(events) = events {
            self.mark_written_events(model, &unique, events);
        }
        self.mark_dependents(conn, model, &unique, Some(&changed))
            .await
    }

    /// Deletes the records `ids`.
    pub async fn unlink(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        let model = self.model(model)?;
        if !ids.is_empty() {
            self.mark_unlinking(conn, model, ids).await?;
            self.apply_ondelete(conn, model, ids).await?;
            self.mark_dependents(conn, model, ids, None).await?;
            self.forget_links(conn, model, ids).await?;
        }
        execute_by_ids(conn, self.dialect, ids, |list| {
            format!("DELETE FROM \"{}\" WHERE \"id\" IN ({list})", model.table)
        })
        .await
        .map_err(constraint_error)?;
        Ok(())
    }
}

/// The fields a read returns: those named (`id` is always there), or all.
fn selected_fields<'m>(
    model: &'m ModelDef,
    fields: &[String],
) -> Result<Vec<&'m FieldDef>, OrmError> {
    if fields.is_empty() {
        return Ok(model.fields().iter().collect());
    }
    fields
        .iter()
        .filter(|f| f.as_str() != "id" && f.as_str() != DISPLAY_NAME)
        .map(|f| model.require_field(f))
        .collect()
}

/// Odoo 17's computed `display_name`, readable like a field.
const DISPLAY_NAME: &str = "display_name";

/// `"id", "a", "b"` for the selected fields.
fn column_list(selected: &[&FieldDef]) -> String {
    std::iter::once("\"id\"".to_string())
        .chain(
            selected
                .iter()
                .filter(|f| f.has_column())
                .map(|f| format!("\"{}\"", f.name())),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// A record from a row of `column_list(selected)`.
fn record_from_row(row: &sqlx::any::AnyRow, selected: &[&FieldDef]) -> Result<Record, OrmError> {
    let mut record = Map::with_capacity(selected.len() + 1);
    record.insert("id".into(), Value::from(row.try_get::<i64, _>(0)?));
    let stored = selected.iter().filter(|f| f.has_column());
    for (i, field) in stored.enumerate() {
        record.insert(field.name().to_string(), from_row(row, i + 1, field)?);
    }
    Ok(record)
}

/// Required fields must be given (on create) and never be cleared.
fn check_required(model: &ModelDef, values: &Record, creating: bool) -> Result<(), OrmError> {
    for field in model
        .fields()
        .iter()
        .filter(|f| f.spec.required && !f.spec.is_derived())
    {
        let value = values.get(field.name());
        let missing = match value {
            None => creating && field.spec.default.is_none(),
            Some(Value::Null) => true,
            Some(Value::Bool(false)) => field.ttype() != FieldType::Boolean,
            Some(Value::String(s)) => s.is_empty() && field.ttype() != FieldType::Text,
            Some(_) => false,
        };
        if missing {
            return Err(OrmError::validation(format!(
                "The operation cannot be completed: a value is required for the field '{}' ({}) of model {}",
                field.spec.string,
                field.name(),
                model.name
            )));
        }
    }
    Ok(())
}

/// Computed and related fields are the host's to set, never a caller's.
fn writable(model: &ModelDef, field: &FieldDef) -> Result<(), OrmError> {
    let how = match (&field.spec.compute, &field.spec.related) {
        (Some(method), _) => format!("computed by the method '{method}'"),
        (None, Some(path)) => format!("related to '{path}'; write that field instead"),
        (None, None) => return Ok(()),
    };
    Err(OrmError::validation(format!(
        "The field '{}' ({}) of model {} cannot be written: it is {how}",
        field.spec.string,
        field.name(),
        model.name
    )))
}
