//! One2many and many2many fields: no column of their own. A one2many reads
//! the records whose many2one `inverse` points back; a many2many lives in a
//! relation table `<a>_<b>_rel` (tables in name order, as Odoo names it)
//! with one column per side. Writes use Odoo's commands:
//! `[0, 0, vals]` create, `[1, id, vals]` update, `[2, id]` delete,
//! `[3, id]` unlink, `[4, id]` link, `[5]` unlink all, `[6, 0, ids]` replace.

use std::collections::HashMap;

use pulse_schema::FieldType;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::error::OrmError;
use crate::pending::{Changed, Pending};
use crate::records::Orm;
use crate::registry::{FieldDef, ModelDef};
use crate::schema::relation_table;
use crate::sql::{Connection, ID_CHUNK, execute_by_ids, placeholders};
use crate::values::Record;

/// One of Odoo's x2many commands, as a client or an addon writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum X2manyCommand {
    /// `[0, 0, values]`: create a record and link it.
    Create(Record),
    /// `[1, id, values]`: write on a linked record.
    Update(i64, Record),
    /// `[2, id]`: delete a linked record.
    Delete(i64),
    /// `[3, id]`: unlink a linked record (a one2many line is deleted when
    /// it cannot live without its parent).
    Unlink(i64),
    /// `[4, id]`: link a record.
    Link(i64),
    /// `[5]`: unlink every record.
    Clear,
    /// `[6, 0, ids]`: link exactly `ids`.
    Set(Vec<i64>),
}

/// What an x2many command does to the database, step by step: records of
/// the field's target model are created, written and deleted through that
/// model's own methods; relation-table rows of a many2many are the record's own.
#[derive(Debug, Clone, PartialEq)]
pub enum X2manyStep {
    /// Create a record of `model` (a one2many's carries its inverse); a
    /// many2many links it once created ([`Orm::link_created`]).
    Create {
        /// The target model.
        model: String,
        /// Its values.
        values: Record,
    },
    /// Write `values` on records `ids` of `model`.
    Write {
        /// The target model.
        model: String,
        /// The records.
        ids: Vec<i64>,
        /// The values.
        values: Record,
    },
    /// Delete records `ids` of `model`.
    Unlink {
        /// The target model.
        model: String,
        /// The records.
        ids: Vec<i64>,
    },
    /// Add many2many links to `ids`.
    Link {
        /// The linked records.
        ids: Vec<i64>,
    },
    /// Remove many2many links (to `ids`, or all when `None`).
    Forget {
        /// The records to unlink, or all.
        ids: Option<Vec<i64>>,
    },
}

/// Parses the value written to the x2many `field` of `model` into commands:
/// a list of commands, a bare list of ids (replace), or false (clear).
pub fn x2many_commands(
    model: &ModelDef,
    field: &FieldDef,
    value: &Value,
) -> Result<Vec<X2manyCommand>, OrmError> {
    let bad = |what: String| {
        OrmError::validation(format!(
            "Wrong value for {}.{}: {what}",
            model.name,
            field.name()
        ))
    };
    let ids_of = |v: Option<&Value>| -> Result<Vec<i64>, OrmError> {
        match v {
            None | Some(Value::Bool(false)) | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_i64()
                        .ok_or_else(|| bad(format!("{i} is not a record id")))
                })
                .collect(),
            Some(other) => Err(bad(format!("{other} is not a list of record ids"))),
        }
    };
    let items = match value {
        Value::Bool(false) | Value::Null => return Ok(vec![X2manyCommand::Clear]),
        Value::Array(items) if items.iter().all(Value::is_i64) => {
            return Ok(vec![X2manyCommand::Set(ids_of(Some(value))?)]);
        }
        Value::Array(items) => items,
        other => return Err(bad(format!("{other} is not a list of commands"))),
    };
    items
        .iter()
        .map(|c| {
            let command = c
                .as_array()
                .ok_or_else(|| bad(format!("{c} is not a command")))?;
            let code = command
                .first()
                .and_then(Value::as_i64)
                .ok_or_else(|| bad("a command starts with its number".into()))?;
            let target = || {
                command
                    .get(1)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| bad(format!("command {code} needs a record id, got {c}")))
            };
            let values = || match command.get(2) {
                Some(Value::Object(v)) => Ok(v.clone()),
                other => Err(bad(format!("command {code} needs values, got {other:?}"))),
            };
            Ok(match code {
                0 => X2manyCommand::Create(values()?),
                1 => X2manyCommand::Update(target()?, values()?),
                2 => X2manyCommand::Delete(target()?),
                3 => X2manyCommand::Unlink(target()?),
                4 => X2manyCommand::Link(target()?),
                5 => X2manyCommand::Clear,
                6 => X2manyCommand::Set(ids_of(command.get(2))?),
                other => return Err(bad(format!("unknown command {other}"))),
            })
        })
        .collect()
}

/// Splits `values` for `model` into what create and write take themselves
/// and the values of its x2many fields (commands), in order.
pub fn split_x2many(model: &ModelDef, values: &Record) -> (Record, Vec<(String, Value)>) {
    let mut own = Record::new();
    let mut x2many = Vec::new();
    for (name, value) in values {
        let is_x2many = model.field(name).is_some_and(|f| {
            matches!(f.ttype(), FieldType::One2many | FieldType::Many2many) && !f.spec.is_derived()
        });
        if is_x2many {
            x2many.push((name.clone(), value.clone()));
        } else {
            own.insert(name.clone(), value.clone());
        }
    }
    (own, x2many)
}

impl Orm {
    /// Puts work marked before back beside what is marked now (the work of
    /// a record set aside while its x2many commands run on their own).
    pub fn restore_pending(&self, earlier: Pending) {
        let mut pending = self.pending.lock().expect("pending lock");
        for (key, ids) in earlier.compute {
            pending.compute.entry(key).or_default().extend(ids);
        }
        for (model, (ids, fields)) in earlier.validate {
            let entry = pending.validate.entry(model).or_default();
            entry.0.extend(ids);
            entry.1.extend(fields);
        }
        // What came before comes first.
        let later = std::mem::replace(&mut pending.events, earlier.events);
        pending.events.extend(later);
    }

    /// Marks what writing the x2many `fields` of records `ids` of `model`
    /// entails on the model itself, when their commands are carried out
    /// apart from [`Orm::write`] (through the target models' methods).
    pub fn mark_written(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<(), OrmError> {
        if fields.is_empty() {
            return Ok(());
        }
        let model = self.registry().require(model)?;
        let changed: std::collections::BTreeSet<String> = fields.iter().cloned().collect();
        self.mark_own(model, ids, Changed::Fields(&changed));
        Ok(())
    }

    /// The ids each of `ids` holds in the x2many `field`, in id order.
    pub(crate) async fn read_x2many(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<i64>>, OrmError> {
        let mut out: HashMap<i64, Vec<i64>> = ids.iter().map(|id| (*id, Vec::new())).collect();
        if ids.is_empty() {
            return Ok(out);
        }
        for chunk in ids.chunks(ID_CHUNK) {
            self.read_x2many_chunk(conn, model, field, chunk, &mut out)
                .await?;
        }
        Ok(out)
    }

    /// [`Orm::read_x2many`] for at most [`ID_CHUNK`] ids.
    async fn read_x2many_chunk(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        ids: &[i64],
        out: &mut HashMap<i64, Vec<i64>>,
    ) -> Result<(), OrmError> {
        let sql = match field.ttype() {
            FieldType::One2many => {
                let target = self
                    .registry()
                    .require(field.spec.relation.as_deref().unwrap_or_default())?;
                let inverse = field.spec.inverse.as_deref().unwrap_or_default();
                // Archived records are left out, as Odoo's one2many
                // fields leave them out under the default `active_test`.
                let unarchived = if target.active_field().is_some() {
                    " AND \"active\" = TRUE"
                } else {
                    ""
                };
                format!(
                    "SELECT \"{inverse}\", \"id\" FROM \"{}\" WHERE \"{inverse}\" IN ({}){unarchived} ORDER BY \"id\"",
                    target.table,
                    placeholders(self.dialect(), 1, ids.len())
                )
            }
            _ => {
                let rel = relation_table(model, field)?;
                format!(
                    "SELECT \"{}\", \"{}\" FROM \"{}\" WHERE \"{}\" IN ({}) ORDER BY \"{}\"",
                    rel.own,
                    rel.other,
                    rel.table,
                    rel.own,
                    placeholders(self.dialect(), 1, ids.len()),
                    rel.other
                )
            }
        };
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let owner: i64 = row.try_get(0)?;
            out.entry(owner).or_default().push(row.try_get(1)?);
        }
        Ok(())
    }

    /// Applies Odoo's x2many commands in `value` to the record `id`, each
    /// step through this ORM's own create, write and unlink (host code:
    /// data files, addons' direct calls). Requests apply the same steps
    /// through the model methods instead (see [`Orm::x2many_steps`]).
    pub(crate) async fn write_x2many(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        value: &Value,
    ) -> Result<(), OrmError> {
        for command in x2many_commands(model, field, value)? {
            for step in self.x2many_steps(conn, model, field, id, &command).await? {
                match step {
                    X2manyStep::Create {
                        model: target,
                        values,
                    } => {
                        let created = Box::pin(self.create(conn, &target, &[values])).await?;
                        if field.ttype() == FieldType::Many2many {
                            self.link(conn, model, field, id, &created).await?;
                        }
                    }
                    X2manyStep::Write {
                        model: target,
                        ids,
                        values,
                    } => Box::pin(self.write(conn, &target, &ids, &values)).await?,
                    X2manyStep::Unlink { model: target, ids } => {
                        Box::pin(self.unlink(conn, &target, &ids)).await?
                    }
                    links => self.apply_links(conn, model, field, id, &links).await?,
                }
            }
        }
        Ok(())
    }

    /// What one x2many `command` on the record `id` comes to: creating,
    /// writing or deleting records of the field's target model, and, for a
    /// many2many, relation-table rows. Commands 1, 2 and 3 act only on
    /// records linked to `id` now; any other is refused and nothing changes.
    pub async fn x2many_steps(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        command: &X2manyCommand,
    ) -> Result<Vec<X2manyStep>, OrmError> {
        let relation = field.spec.relation.clone().unwrap_or_default();
        let inverse = field.spec.inverse.clone().unwrap_or_default();
        let one2many = field.ttype() == FieldType::One2many;
        let linked = async |conn: &mut Connection, targets: &[i64]| -> Result<Vec<i64>, OrmError> {
            let current = self
                .read_x2many(conn, model, field, &[id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            let stranger: Vec<i64> = targets
                .iter()
                .copied()
                .filter(|t| !current.contains(t))
                .collect();
            if !stranger.is_empty() {
                return Err(OrmError::validation(format!(
                    "Wrong value for {}.{}: the records {relation}{stranger:?} are not linked to {}({id},); commands 1, 2 and 3 act only on linked records",
                    model.name,
                    field.name(),
                    model.name
                )));
            }
            Ok(current)
        };
        // One2many targets leave by losing their inverse value, or, as in
        // Odoo, are deleted when they cannot live without their parent
        // (ondelete cascade).
        // Records `ids` of the comodel pointing at `target` through the inverse.
        let point_at = |ids: Vec<i64>, target: Value| -> Vec<X2manyStep> {
            if ids.is_empty() {
                return Vec::new();
            }
            let mut values = Map::new();
            values.insert(inverse.clone(), target);
            vec![X2manyStep::Write {
                model: relation.clone(),
                ids,
                values,
            }]
        };
        let detach = |ids: Vec<i64>| -> Vec<X2manyStep> {
            let cascade = self
                .registry()
                .get(&relation)
                .and_then(|m| m.field(&inverse))
                .is_some_and(|f| f.spec.ondelete_policy() == pulse_schema::OnDelete::Cascade);
            if cascade && !ids.is_empty() {
                vec![X2manyStep::Unlink {
                    model: relation.clone(),
                    ids,
                }]
            } else {
                point_at(ids, Value::Bool(false))
            }
        };
        let attach = |ids: Vec<i64>| point_at(ids, Value::from(id));
        Ok(match command {
            X2manyCommand::Create(values) => {
                let mut values = values.clone();
                if one2many {
                    values.insert(inverse.clone(), Value::from(id));
                }
                vec![X2manyStep::Create {
                    model: relation.clone(),
                    values,
                }]
            }
            X2manyCommand::Update(target, values) => {
                linked(conn, &[*target]).await?;
                vec![X2manyStep::Write {
                    model: relation.clone(),
                    ids: vec![*target],
                    values: values.clone(),
                }]
            }
            X2manyCommand::Delete(target) => {
                linked(conn, &[*target]).await?;
                vec![X2manyStep::Unlink {
                    model: relation.clone(),
                    ids: vec![*target],
                }]
            }
            X2manyCommand::Unlink(target) => {
                linked(conn, &[*target]).await?;
                if one2many {
                    detach(vec![*target])
                } else {
                    vec![X2manyStep::Forget {
                        ids: Some(vec![*target]),
                    }]
                }
            }
            X2manyCommand::Link(target) if one2many => {
                let current = linked(conn, &[]).await?;
                attach(
                    vec![*target]
                        .into_iter()
                        .filter(|t| !current.contains(t))
                        .collect(),
                )
            }
            X2manyCommand::Link(target) => vec![X2manyStep::Link { ids: vec![*target] }],
            X2manyCommand::Clear if one2many => detach(linked(conn, &[]).await?),
            X2manyCommand::Clear => vec![X2manyStep::Forget { ids: None }],
            X2manyCommand::Set(ids) if one2many => {
                let current = linked(conn, &[]).await?;
                let gone = current
                    .iter()
                    .copied()
                    .filter(|c| !ids.contains(c))
                    .collect();
                let new = ids
                    .iter()
                    .copied()
                    .filter(|t| !current.contains(t))
                    .collect();
                let mut steps = detach(gone);
                steps.extend(attach(new));
                steps
            }
            X2manyCommand::Set(ids) => vec![
                X2manyStep::Forget { ids: None },
                X2manyStep::Link { ids: ids.clone() },
            ],
        })
    }

    /// Carries out a relation-table step of a many2many on record `id`
    /// ([`X2manyStep::Link`] or [`X2manyStep::Forget`]; others are no-ops).
    pub async fn apply_links(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        step: &X2manyStep,
    ) -> Result<(), OrmError> {
        match step {
            X2manyStep::Link { ids } => self.link(conn, model, field, id, ids).await,
            X2manyStep::Forget { ids } => {
                self.unlink_links(conn, model, field, id, ids.as_deref())
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Links the created records `ids` of a many2many to record `id`.
    pub async fn link_created(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        if field.ttype() == FieldType::Many2many {
            self.link(conn, model, field, id, ids).await?;
        }
        Ok(())
    }

    async fn link(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        targets: &[i64],
    ) -> Result<(), OrmError> {
        for target in targets {
            let rel = relation_table(model, field)?;
            let exists = format!(
                "SELECT COUNT(*) FROM \"{}\" WHERE \"{}\" = {} AND \"{}\" = {}",
                rel.table,
                rel.own,
                self.dialect().param(1),
                rel.other,
                self.dialect().param(2)
            );
            let count: i64 = sqlx::query(&exists)
                .bind(id)
                .bind(*target)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if count == 0 {
                let insert = format!(
                    "INSERT INTO \"{}\" (\"{}\", \"{}\") VALUES ({}, {})",
                    rel.table,
                    rel.own,
                    rel.other,
                    self.dialect().param(1),
                    self.dialect().param(2)
                );
                sqlx::query(&insert)
                    .bind(id)
                    .bind(*target)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// Deletes the many2many links of record `id` to `targets` (all when `None`).
    async fn unlink_links(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        targets: Option<&[i64]>,
    ) -> Result<(), OrmError> {
        let rel = relation_table(model, field)?;
        let mut sql = format!(
            "DELETE FROM \"{}\" WHERE \"{}\" = {}",
            rel.table,
            rel.own,
            self.dialect().param(1)
        );
        if let Some(targets) = targets {
            sql.push_str(&format!(
                " AND \"{}\" IN ({})",
                rel.other,
                placeholders(self.dialect(), 2, targets.len())
            ));
        }
        let mut query = sqlx::query(&sql).bind(id);
        for t in targets.unwrap_or(&[]) {
            query = query.bind(*t);
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }

    /// Deletes the many2many links of records being deleted, on every
    /// many2many of the registry that touches their model.
    pub(crate) async fn forget_links(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        for other in self.registry().models() {
            for field in other
                .fields()
                .iter()
                .filter(|f| f.ttype() == FieldType::Many2many)
            {
                let relation = field.spec.relation.as_deref().unwrap_or_default();
                let column = if other.name == model.name {
                    relation_table(other, field)?.own
                } else if relation == model.name {
                    relation_table(other, field)?.other
                } else {
                    continue;
                };
                let rel = relation_table(other, field)?;
                execute_by_ids(conn, self.dialect(), ids, |list| {
                    format!(
                        "DELETE FROM \"{}\" WHERE \"{column}\" IN ({list})",
                        rel.table
                    )
                })
                .await?;
            }
        }
        Ok(())
    }
}
