//! What follows from a change: stored computed fields to recompute,
//! constraints to check, related fields to read, and the records that
//! point at a deleted one.
//!
//! The ORM only *marks* work here ([`Pending`]); calling compute and
//! validation methods is the host's job, since they live in addons. The
//! host drains the marks after every operation (see `pulse-core`).

use std::collections::{BTreeSet, HashMap};

use pulse_schema::{EventKind, OnDelete};
use serde_json::{Value, json};
use sqlx::Row;

use crate::domain::Domain;
use crate::error::OrmError;
use crate::events::RecordEvent;
use crate::pending::{Changed, Pending};
use crate::records::{Orm, SearchOptions};
use crate::registry::ModelDef;
use crate::sql::{
    Connection, ID_CHUNK, constraint_error, fetch_by_ids, placeholders, sorted_unique,
};
use crate::values::{Record, SqlValue, bind, from_row, to_sql};

/// How many records one recompute statement updates.
const UPDATE_CHUNK: usize = 300;

impl Orm {
    /// Takes the work marked so far, leaving none.
    pub fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().expect("pending lock"))
    }

    /// Whether any work is marked.
    pub fn has_pending(&self) -> bool {
        !self.pending.lock().expect("pending lock").is_empty()
    }

    fn mark(&self, f: impl FnOnce(&mut Pending)) {
        f(&mut self.pending.lock().expect("pending lock"));
    }

    /// Marks what records `ids` of `model` changing `changed` entails on
    /// the model itself: its computed fields depending on the change, and
    /// its validation.
    pub(crate) fn mark_own(&self, model: &ModelDef, ids: &[i64], changed: Changed<'_>) {
        if ids.is_empty() {
            return;
        }
        let methods: BTreeSet<String> = match &changed {
            Changed::All => model
                .compute_methods()
                .into_iter()
                .map(String::from)
                .collect(),
            Changed::Fields(fields) => model
                .methods_depending_on(fields)
                .map(String::from)
                .collect(),
        };
        let fields: Vec<String> = match changed {
            Changed::All => model
                .fields()
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            Changed::Fields(fields) => fields.iter().cloned().collect(),
        };
        self.mark(|p| {
            for method in &methods {
                p.compute(&model.name, method, ids.iter().copied());
            }
            p.validate(&model.name, ids, fields);
        });
    }

    /// Marks the computed fields of other models that depend on records
    /// `ids` of `model`, for a change of `changed` (`None`: the records are
    /// created or deleted). Called before a write or delete (to reach the
    /// records linked until now) and after a write or create (those linked
    /// from now on).
    pub(crate) async fn mark_dependents(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
        changed: Option<&BTreeSet<String>>,
    ) -> Result<(), OrmError> {
        if ids.is_empty() {
            return Ok(());
        }
        for trigger in self.registry().triggers_on(&model.name) {
            let concerned = match changed {
                None => true,
                Some(fields) => {
                    trigger.field.as_ref().is_some_and(|f| fields.contains(f))
                        || trigger.inverse.as_ref().is_some_and(|f| fields.contains(f))
                }
            };
            if !concerned {
                continue;
            }
            let domain = Domain::parse(&json!([[trigger.via, "in", ids]]))?;
            let affected =
                Box::pin(self.search(conn, &trigger.model, &domain, &SearchOptions::default()))
                    .await?;
            if !affected.is_empty() {
                self.mark(|p| p.compute(&trigger.model, &trigger.method, affected));
            }
        }
        Ok(())
    }

    /// Writes computed values (`(id, {field: value})` pairs) that a compute
    /// method returned, many records per statement, and marks what depends
    /// on them in turn.
    pub async fn set_computed(
        &self,
        conn: &mut Connection,
        model: &str,
        values: &[(i64, Record)],
    ) -> Result<(), OrmError> {
        let model = self.registry().require(model)?.clone();
        let mut fields: BTreeSet<String> = BTreeSet::new();
        for (_, record) in values {
            for name in record.keys() {
                let field = model.require_field(name)?;
                if field.spec.compute.is_none() {
                    return Err(OrmError::validation(format!(
                        "{}.{name} is not a computed field; a compute method may only set computed fields",
                        model.name
                    )));
                }
                fields.insert(name.clone());
            }
        }
        let ids: Vec<i64> = values.iter().map(|(id, _)| *id).collect();
        self.mark_dependents(conn, &model, &ids, Some(&fields))
            .await?;
        for chunk in values.chunks(UPDATE_CHUNK) {
            for name in &fields {
                let field = model.require_field(name)?;
                let rows: Vec<(i64, &Value)> = chunk
                    .iter()
                    .filter_map(|(id, record)| record.get(name).map(|v| (*id, v)))
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                // `SET f = CASE id WHEN $1 THEN $2 … END WHERE id IN (…)`.
                let mut params = Vec::with_capacity(rows.len() * 3);
                let mut cases = String::new();
                for (id, value) in &rows {
                    params.push(SqlValue::Int(*id));
                    let id_param = self.dialect().param(params.len());
                    params.push(to_sql(&model, field, value)?);
                    let value_param = self.dialect().param(params.len());
                    cases.push_str(&format!(" WHEN {id_param} THEN {value_param}"));
                }
                let sql = format!(
                    "UPDATE \"{}\" SET \"{name}\" = CASE \"id\"{cases} END WHERE \"id\" IN ({})",
                    model.table,
                    placeholders(self.dialect(), params.len() + 1, rows.len())
                );
                let mut query = sqlx::query(&sql);
                for p in params {
                    query = bind(query, p);
                }
                for (id, _) in &rows {
                    query = query.bind(*id);
                }
                query.execute(&mut *conn).await.map_err(constraint_error)?;
            }
        }
        self.mark_own(&model, &ids, Changed::Fields(&fields));
        self.mark_dependents(conn, &model, &ids, Some(&fields))
            .await
    }

    /// Checks the model's check constraints on records `ids`: the first
    /// one a record breaks is a ValidationError with its message.
    pub async fn check_constraints(
        &self,
        conn: &mut Connection,
        model: &str,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        let model = self.registry().require(model)?.clone();
        if ids.is_empty() || model.checks().is_empty() {
            return Ok(());
        }
        for check in model.checks() {
            for chunk in ids.chunks(ID_CHUNK) {
                let mut params = Vec::new();
                let condition =
                    check
                        .domain
                        .to_sql(self.registry(), &model, self.dialect(), &mut params)?;
                let first = params.len() + 1;
                for id in chunk {
                    params.push(SqlValue::Int(*id));
                }
                // NOT (NULL) is NULL: like SQL's CHECK, an empty value passes.
                let sql = format!(
                    "SELECT \"id\" FROM \"{}\" WHERE \"id\" IN ({}) AND NOT ({condition}) LIMIT 1",
                    model.table,
                    placeholders(self.dialect(), first, chunk.len())
                );
                let mut query = sqlx::query(&sql);
                for p in params {
                    query = bind(query, p);
                }
                if let Some(row) = query.fetch_optional(&mut *conn).await? {
                    let id: i64 = row.try_get(0)?;
                    return Err(OrmError::validation(format!(
                        "{}\n(constraint '{}' of model {}, record {id})",
                        check.spec.message, check.spec.name, model.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Before records `ids` of `model` are deleted: what points at them
    /// is deleted too, emptied, or refuses the deletion, by each many2one's
    /// `ondelete`.
    pub(crate) async fn apply_ondelete(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        for (other, field) in self.registry().references_to(&model.name) {
            let domain = Domain::parse(&json!([[field.name(), "in", ids]]))?;
            let pointing =
                Box::pin(self.search(conn, &other.name, &domain, &SearchOptions::default()))
                    .await?;
            // A record pointing at itself goes with it.
            let pointing: Vec<i64> = if other.name == model.name {
                pointing
                    .into_iter()
                    .filter(|id| !ids.contains(id))
                    .collect()
            } else {
                pointing
            };
            if pointing.is_empty() {
                continue;
            }
            match field.spec.ondelete_policy() {
                OnDelete::Restrict => {
                    return Err(OrmError::validation(format!(
                        "The operation cannot be completed: another model requires the record being deleted. \
                         If possible, archive it instead.\n\nModel: {} ({}), Constraint: {}.{} (ondelete restrict), \
                         referenced by {} record(s) of {}",
                        model.description,
                        model.name,
                        other.name,
                        field.name(),
                        pointing.len(),
                        other.name
                    )));
                }
                OnDelete::Cascade => {
                    Box::pin(self.unlink(conn, &other.name, &pointing)).await?;
                }
                OnDelete::SetNull => {
                    let mut values = Record::new();
                    values.insert(field.name().to_string(), Value::Bool(false));
                    Box::pin(self.write(conn, &other.name, &pointing, &values)).await?;
                }
            }
        }
        Ok(())
    }

    /// The value at the end of `path` for each of `ids`, as `read` gives it.
    /// `steps` fields were followed to get here; a related field on the way
    /// is followed as its own path. The install refuses related fields that
    /// loop or chain past [`crate::domain::MAX_PATH_LENGTH`]; the bound here makes
    /// sure no registry can make this recurse for ever.
    pub(crate) async fn follow_path(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
        path: &str,
        steps: usize,
    ) -> Result<HashMap<i64, Value>, OrmError> {
        if steps > crate::domain::MAX_PATH_LENGTH {
            return Err(OrmError::validation(format!(
                "related path '{path}' of model '{}' goes through more than {} fields",
                model.name,
                crate::domain::MAX_PATH_LENGTH
            )));
        }
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        if let Some(inner) = model.field(head).and_then(|f| f.spec.related.as_deref()) {
            let expanded = if rest.is_empty() {
                inner.to_string()
            } else {
                format!("{inner}.{rest}")
            };
            return Box::pin(self.follow_path(conn, model, ids, &expanded, steps + 1)).await;
        }
        let Some((head, rest)) = path.split_once('.') else {
            let records = self
                .read(conn, &model.name, ids, &[path.to_string()])
                .await?;
            return Ok(records
                .into_iter()
                .filter_map(|mut r| {
                    let id = r.get("id").and_then(Value::as_i64)?;
                    Some((id, r.remove(path).unwrap_or(Value::Bool(false))))
                })
                .collect());
        };
        let field = model.require_field(head)?;
        let target = self
            .registry()
            .require(field.spec.relation.as_deref().unwrap_or_default())?
            .clone();
        // The many2one ids, without display names.
        let mut links: HashMap<i64, i64> = HashMap::with_capacity(ids.len());
        let rows = fetch_by_ids(conn, self.dialect(), ids, |list| {
            format!(
                "SELECT \"id\", \"{head}\" FROM \"{}\" WHERE \"id\" IN ({list}) AND \"{head}\" IS NOT NULL",
                model.table
            )
        })
        .await?;
        for row in rows {
            if let Value::Number(n) = from_row(&row, 1, field)? {
                links.insert(row.try_get(0)?, n.as_i64().unwrap_or_default());
            }
        }
        let targets = sorted_unique(links.values().copied());
        let at_target =
            Box::pin(self.follow_path(conn, &target, &targets, rest, steps + 1)).await?;
        Ok(links
            .into_iter()
            .filter_map(|(id, target)| at_target.get(&target).map(|v| (id, v.clone())))
            .collect())
    }
}

/// What a write leaves for the subscriptions to it: which ones, and the
/// values of the fields written before the write.
pub(crate) struct WriteEvents {
    subscriptions: Vec<crate::events::Subscription>,
    fields: Vec<String>,
    old: Vec<Record>,
}

impl Orm {
    /// Marks a create of records `ids` of `model` for the subscriptions to it.
    pub(crate) fn mark_created(&self, model: &ModelDef, ids: &[i64]) {
        let events: Vec<RecordEvent> = self
            .registry()
            .subscriptions(&model.name)
            .iter()
            .filter(|s| s.on.contains(&EventKind::Create) && !ids.is_empty())
            .map(|s| {
                event(
                    s,
                    model,
                    EventKind::Create,
                    ids.to_vec(),
                    Vec::new(),
                    Vec::new(),
                )
            })
            .collect();
        if !events.is_empty() {
            self.mark(|p| p.events.extend(events));
        }
    }

    /// Before a write of `written` on records `ids` of `model`: the
    /// subscriptions it concerns, with the values it is about to change
    /// (read only when some subscription listens).
    pub(crate) async fn before_write(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
        written: &BTreeSet<String>,
    ) -> Result<Option<WriteEvents>, OrmError> {
        let subscriptions: Vec<_> = self
            .registry()
            .subscriptions(&model.name)
            .iter()
            .filter(|s| s.wants_write(written))
            .cloned()
            .collect();
        if subscriptions.is_empty() || ids.is_empty() {
            return Ok(None);
        }
        let fields: Vec<String> = written.iter().cloned().collect();
        let old = Box::pin(self.read(conn, &model.name, ids, &fields)).await?;
        Ok(Some(WriteEvents {
            subscriptions,
            fields,
            old,
        }))
    }

    /// Marks a write that [`Orm::before_write`] prepared for.
    pub(crate) fn mark_written_events(&self, model: &ModelDef, ids: &[i64], events: WriteEvents) {
        let marked: Vec<RecordEvent> = events
            .subscriptions
            .iter()
            .map(|s| {
                event(
                    s,
                    model,
                    EventKind::Write,
                    ids.to_vec(),
                    events.fields.clone(),
                    events.old.clone(),
                )
            })
            .collect();
        self.mark(|p| p.events.extend(marked));
    }

    /// Before records `ids` of `model` are deleted: marks the delete for
    /// the subscriptions to it, each with the records matching its domain
    /// (applied now, while they exist) and their values.
    pub(crate) async fn mark_unlinking(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        let subscriptions: Vec<_> = self
            .registry()
            .subscriptions(&model.name)
            .iter()
            .filter(|s| s.on.contains(&EventKind::Unlink))
            .cloned()
            .collect();
        if subscriptions.is_empty() || ids.is_empty() {
            return Ok(());
        }
        let old = Box::pin(self.read(conn, &model.name, ids, &[])).await?;
        let mut marked = Vec::with_capacity(subscriptions.len());
        for subscription in &subscriptions {
            let matching = match &subscription.domain {
                None => ids.to_vec(),
                Some(domain) => {
                    let domain = Domain::parse(&json!([["id", "in", ids]]))?.and(domain);
                    Box::pin(self.search(conn, &model.name, &domain, &SearchOptions::default()))
                        .await?
                }
            };
            if matching.is_empty() {
                continue;
            }
            let records = old
                .iter()
                .filter(|r| {
                    r.get("id")
                        .and_then(Value::as_i64)
                        .is_some_and(|id| matching.contains(&id))
                })
                .cloned()
                .collect();
            let mut unlinked = event(
                subscription,
                model,
                EventKind::Unlink,
                matching,
                Vec::new(),
                records,
            );
            unlinked.filter = None;
            marked.push(unlinked);
        }
        self.mark(|p| p.events.extend(marked));
        Ok(())
    }
}

fn event(
    subscription: &crate::events::Subscription,
    model: &ModelDef,
    kind: EventKind,
    ids: Vec<i64>,
    fields: Vec<String>,
    old: Vec<Record>,
) -> RecordEvent {
    RecordEvent {
        addon: subscription.addon.clone(),
        handler: subscription.handler.clone(),
        model: model.name.clone(),
        kind,
        ids,
        fields,
        old,
        filter: subscription.domain.clone(),
    }
}
