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

use crate::records::placeholders;
use crate::{Connection, FieldDef, ModelDef, Orm, OrmError, Record};

/// The relation table of a many2many and its two columns: this side's, the other side's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationTable {
    /// The table, e.g. `lab_partner_lab_tag_rel`.
    pub table: String,
    /// The column holding ids of the field's own model.
    pub own: String,
    /// The column holding ids of the related model.
    pub other: String,
}

/// The relation table of the many2many `field` of `model`.
pub fn relation_table(model: &ModelDef, field: &FieldDef) -> Result<RelationTable, OrmError> {
    let target = crate::table_name(field.spec.relation.as_deref().unwrap_or_default());
    if target == model.table {
        // A model related to itself (e.g. groups implying groups): the
        // table and the second column are named after the field.
        return Ok(RelationTable {
            table: format!("{}_{}_rel", model.table, field.name()),
            own: format!("{}_id", model.table),
            other: format!("{}_id", field.name()),
        });
    }
    let (first, second) = if model.table < target {
        (&model.table, &target)
    } else {
        (&target, &model.table)
    };
    Ok(RelationTable {
        table: format!("{first}_{second}_rel"),
        own: format!("{}_id", model.table),
        other: format!("{target}_id"),
    })
}

/// Creates the relation table of a many2many (shared by both sides).
pub async fn create_relation_table(
    conn: &mut Connection,
    model: &ModelDef,
    field: &FieldDef,
) -> Result<RelationTable, OrmError> {
    let rel = relation_table(model, field)?;
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS \"{t}\" (\"{a}\" BIGINT NOT NULL, \"{b}\" BIGINT NOT NULL, PRIMARY KEY (\"{a}\", \"{b}\"))",
        t = rel.table,
        a = rel.own,
        b = rel.other
    );
    sqlx::query(&ddl).execute(&mut *conn).await?;
    Ok(rel)
}

impl Orm {
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
        let sql = match field.ttype() {
            FieldType::One2many => {
                let target = self
                    .registry()
                    .require(field.spec.relation.as_deref().unwrap_or_default())?;
                let inverse = field.spec.inverse.as_deref().unwrap_or_default();
                format!(
                    "SELECT \"{inverse}\", \"id\" FROM \"{}\" WHERE \"{inverse}\" IN ({}) ORDER BY \"id\"",
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
        Ok(out)
    }

    /// Applies Odoo's x2many commands in `value` to the record `id`.
    pub(crate) async fn write_x2many(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        value: &Value,
    ) -> Result<(), OrmError> {
        let relation = field
            .spec
            .relation
            .as_deref()
            .unwrap_or_default()
            .to_string();
        let bad = |what: String| {
            OrmError::Validation(format!(
                "Wrong value for {}.{}: {what}",
                model.name,
                field.name()
            ))
        };
        let commands: Vec<Vec<Value>> = match value {
            Value::Bool(false) | Value::Null => vec![vec![Value::from(5)]],
            Value::Array(items) if items.iter().all(Value::is_i64) => {
                // A bare list of ids replaces the links.
                vec![vec![Value::from(6), Value::from(0), value.clone()]]
            }
            Value::Array(items) => items
                .iter()
                .map(|c| {
                    c.as_array()
                        .cloned()
                        .ok_or_else(|| bad(format!("{c} is not a command")))
                })
                .collect::<Result<_, _>>()?,
            other => return Err(bad(format!("{other} is not a list of commands"))),
        };
        for command in commands {
            let code = command
                .first()
                .and_then(Value::as_i64)
                .ok_or_else(|| bad("a command starts with its number".into()))?;
            let target = command.get(1).and_then(Value::as_i64).unwrap_or(0);
            let vals = || -> Result<Record, OrmError> {
                match command.get(2) {
                    Some(Value::Object(v)) => Ok(v.clone()),
                    other => Err(bad(format!("command {code} needs values, got {other:?}"))),
                }
            };
            match code {
                0 => {
                    let mut vals = vals()?;
                    if field.ttype() == FieldType::One2many {
                        vals.insert(
                            field.spec.inverse.clone().unwrap_or_default(),
                            Value::from(id),
                        );
                    }
                    let created = Box::pin(self.create(conn, &relation, &[vals])).await?;
                    if field.ttype() == FieldType::Many2many {
                        self.link(conn, model, field, id, &created).await?;
                    }
                }
                1 => Box::pin(self.write(conn, &relation, &[target], &vals()?)).await?,
                2 => Box::pin(self.unlink(conn, &relation, &[target])).await?,
                3 => {
                    self.unlink_links(conn, model, field, id, Some(&[target]))
                        .await?
                }
                4 => self.link(conn, model, field, id, &[target]).await?,
                5 => self.unlink_links(conn, model, field, id, None).await?,
                6 => {
                    let ids: Vec<i64> = command
                        .get(2)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default();
                    self.unlink_links(conn, model, field, id, None).await?;
                    self.link(conn, model, field, id, &ids).await?;
                }
                other => return Err(bad(format!("unknown command {other}"))),
            }
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
            if field.ttype() == FieldType::One2many {
                let mut vals = Map::new();
                vals.insert(
                    field.spec.inverse.clone().unwrap_or_default(),
                    Value::from(id),
                );
                let relation = field.spec.relation.as_deref().unwrap_or_default();
                Box::pin(self.write(conn, relation, &[*target], &vals)).await?;
                continue;
            }
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

    /// Unlinks `targets` (all when `None`) from record `id`: one2many
    /// targets lose their inverse value, many2many links are deleted.
    async fn unlink_links(
        &self,
        conn: &mut Connection,
        model: &ModelDef,
        field: &FieldDef,
        id: i64,
        targets: Option<&[i64]>,
    ) -> Result<(), OrmError> {
        if field.ttype() == FieldType::One2many {
            let current = self
                .read_x2many(conn, model, field, &[id])
                .await?
                .remove(&id)
                .unwrap_or_default();
            let chosen: Vec<i64> = match targets {
                Some(t) => current.into_iter().filter(|c| t.contains(c)).collect(),
                None => current,
            };
            if !chosen.is_empty() {
                let inverse = field.spec.inverse.clone().unwrap_or_default();
                let relation = field.spec.relation.as_deref().unwrap_or_default();
                // As in Odoo: a line that cannot live without its parent
                // (ondelete cascade) is deleted, others are detached.
                let cascade = self
                    .registry()
                    .get(relation)
                    .and_then(|m| m.field(&inverse))
                    .is_some_and(|f| f.spec.ondelete_policy() == pulse_schema::OnDelete::Cascade);
                if cascade {
                    Box::pin(self.unlink(conn, relation, &chosen)).await?;
                } else {
                    let mut vals = Map::new();
                    vals.insert(inverse, Value::Bool(false));
                    Box::pin(self.write(conn, relation, &chosen, &vals)).await?;
                }
            }
            return Ok(());
        }
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
                let sql = format!(
                    "DELETE FROM \"{}\" WHERE \"{column}\" IN ({})",
                    rel.table,
                    placeholders(self.dialect(), 1, ids.len())
                );
                let mut query = sqlx::query(&sql);
                for id in ids {
                    query = query.bind(*id);
                }
                query.execute(&mut *conn).await?;
            }
        }
        Ok(())
    }
}
