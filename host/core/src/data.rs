//! Data files: records an addon declares, owned through external ids
//! (`module.name`, Odoo's `ir.model.data`).
//!
//! A data file is TOML:
//!
//! ```toml
//! [[record]]
//! id = "welcome"            # external id: <addon>.welcome
//! model = "todo.task"
//! noupdate = false          # true: created once, never rewritten on upgrade
//! [record.values]
//! name = "Read the README"
//! owner = { ref = "base_b.alice" }   # the id of another record, by external id
//! ```
//!
//! A reference field (a menu's `action`) takes `{ reference = "module.id" }`:
//! Odoo's `"<model>,<id>"` of the record with that external id.
//!
//! On install records are created; on upgrade rewritten (unless
//! `noupdate`), created when new, and deleted when dropped from the data; on
//! uninstall deleted with the addon — except records another installed
//! addon also owns.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pulse_manifest::Addon;
use pulse_orm::ledger::{self, ExternalId, OwnedRecord};
use pulse_orm::{Connection, Orm, Record};
use serde::Deserialize;
use serde_json::Value;

use crate::Error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    #[serde(default)]
    record: Vec<DataRecord>,
}

/// One record of a data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRecord {
    /// External id within the addon (`[a-z0-9_]+`).
    pub id: String,
    /// The record's model.
    pub model: String,
    /// Created once; never rewritten by an upgrade.
    #[serde(default)]
    pub noupdate: bool,
    /// Field values; `{ ref = "module.id" }` stands for another record's id.
    #[serde(default)]
    pub values: toml::Table,
}

/// The records of an addon's data files, in file order, each with its file.
pub fn read(addon: &Addon, with_demo: bool) -> Result<Vec<(PathBuf, DataRecord)>, Error> {
    let mut records = Vec::new();
    let mut seen = BTreeSet::new();
    let demo = if with_demo {
        &addon.manifest.demo[..]
    } else {
        &[]
    };
    for relative in addon.manifest.data.iter().chain(demo) {
        let file = addon.dir.join(relative);
        let bad = |message: String| {
            Error::Lifecycle(format!(
                "addon '{}': data file {}: {message}",
                addon.name(),
                file.display()
            ))
        };
        let text =
            std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot read it: {e}")))?;
        for record in parse(&text, &mut seen).map_err(bad)? {
            records.push((file.clone(), record));
        }
    }
    Ok(records)
}

/// The records of one data file's text, each id checked; `seen` holds the
/// ids of the addon's files read before, and gains this file's.
pub(crate) fn parse(text: &str, seen: &mut BTreeSet<String>) -> Result<Vec<DataRecord>, String> {
    let parsed: DataFile =
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    for record in &parsed.record {
        let valid = !record.id.is_empty()
            && record
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!("record id {:?} must be [a-z0-9_]+", record.id));
        }
        if !seen.insert(record.id.clone()) {
            return Err(format!("record id {:?} is declared twice", record.id));
        }
    }
    Ok(parsed.record)
}

/// The bytes of every data file, for the change hash.
pub fn contents(addon: &Addon) -> Vec<u8> {
    let mut all = Vec::new();
    for relative in addon.manifest.data.iter().chain(&addon.manifest.demo) {
        all.extend(relative.as_bytes());
        all.extend(std::fs::read(addon.dir.join(relative)).unwrap_or_default());
    }
    all
}

/// Converts TOML values to Odoo JSON, resolving `{ ref = "…" }`.
async fn to_json(
    conn: &mut Connection,
    module: &str,
    value: &toml::Value,
) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(Box::pin(to_json(conn, module, item)).await?);
            }
            Value::Array(out)
        }
        toml::Value::Table(table) => {
            let single = |key: &str| {
                (table.len() == 1)
                    .then(|| table.get(key).and_then(toml::Value::as_str))
                    .flatten()
            };
            // `ref`: the record's id; `reference`: Odoo's reference-field
            // value, `"<model>,<id>"` (a menu's `action`).
            let (key, reference) = match (single("ref"), single("reference")) {
                (Some(reference), _) => ("ref", reference),
                (None, Some(reference)) => ("reference", reference),
                (None, None) => return serde_json::to_value(table).map_err(|e| e.to_string()),
            };
            let (owner, name) = reference.split_once('.').unwrap_or((module, reference));
            match ledger::external_id(conn, owner, name)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(known) if key == "ref" => Value::from(known.res_id),
                Some(known) => Value::from(format!("{},{}", known.model, known.res_id)),
                None => {
                    return Err(format!(
                        "{{ {key} = {reference:?} }} names no record (is it declared earlier?)"
                    ));
                }
            }
        }
    })
}

/// Creates one record of a data file, with what its model's creates do
/// beyond the create (a user's partner).
async fn create(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    values: &pulse_orm::Record,
) -> Result<i64, pulse_orm::OrmError> {
    let rows = std::slice::from_ref(values);
    let ids = orm.create(conn, model, rows).await?;
    crate::model_methods::after_create(conn, orm, model, &ids, rows).await?;
    Ok(ids[0])
}

/// Creates or updates the records of `module`'s data files; returns the
/// external ids loaded.
#[crate::boxed]
pub async fn load(
    conn: &mut Connection,
    orm: &Orm,
    module: &str,
    records: &[(PathBuf, DataRecord)],
) -> Result<BTreeSet<String>, Error> {
    let mut loaded = BTreeSet::new();
    for (file, record) in records {
        let fail = |message: String| {
            Error::Lifecycle(format!(
                "addon '{module}': data file {}: record '{}' ({}): {message}",
                file.display(),
                record.id,
                record.model
            ))
        };
        if orm.registry().get(&record.model).is_none() {
            return Err(fail("no installed addon defines this model".into()));
        }
        let mut values = Record::new();
        for (field, value) in &record.values {
            values.insert(
                field.clone(),
                to_json(conn, module, value)
                    .await
                    .map_err(|e| fail(format!("{field}: {e}")))?,
            );
        }
        match ledger::external_id(conn, module, &record.id).await? {
            Some(known) if known.model != record.model => {
                return Err(fail(format!(
                    "this external id already names a record of {}",
                    known.model
                )));
            }
            Some(known) if known.noupdate => {}
            Some(ExternalId { res_id: id, .. }) => {
                // A record the user deleted is created again, as Odoo does.
                let written = match orm.write(conn, &record.model, &[id], &values).await {
                    Ok(()) => {
                        crate::model_methods::after_write(conn, orm, &record.model, &[id], &values)
                            .await
                    }
                    Err(e) => Err(e),
                };
                let id = match written {
                    Ok(()) => id,
                    Err(pulse_orm::OrmError::Raised(pulse_schema::Exception::Missing(_))) => {
                        create(conn, orm, &record.model, &values)
                            .await
                            .map_err(|e| fail(e.to_string()))?
                    }
                    Err(e) => return Err(fail(e.to_string())),
                };
                ledger::update_external_id(conn, module, &record.id, id, record.noupdate).await?;
            }
            None => {
                let id = create(conn, orm, &record.model, &values)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                ledger::add_external_id(
                    conn,
                    module,
                    &record.id,
                    &record.model,
                    id,
                    record.noupdate,
                )
                .await?;
            }
        }
        loaded.insert(record.id.clone());
    }
    Ok(loaded)
}

/// Deletes the records of `module` whose external id is not in `keep`
/// (all of them on uninstall, when `keep` is `None`), unless another module also owns them. Records
/// in tables the module owns are left to go with their table.
#[crate::boxed]
pub async fn remove(
    conn: &mut Connection,
    orm: &Orm,
    module: &str,
    keep: Option<&BTreeSet<String>>,
) -> Result<(), Error> {
    // `None`: the module is being uninstalled, everything of it goes.
    let uninstalling = keep.is_none();
    let keep = keep.cloned().unwrap_or_default();
    for owned in ledger::owned_records(conn, module).await? {
        let OwnedRecord {
            name,
            model,
            res_id,
            noupdate,
            shared,
            in_own_model,
        } = owned;
        if keep.contains(&name) {
            continue;
        }
        if noupdate && !uninstalling {
            // Like Odoo: records created once are the user's to keep.
            continue;
        }
        // Another owner keeps it; a record of an own model goes with its table.
        let stays = shared || (uninstalling && in_own_model);
        if !stays && orm.registry().get(&model).is_some() {
            orm.unlink(conn, &model, &[res_id]).await.map_err(|e| {
                Error::Lifecycle(format!(
                    "addon '{module}': cannot delete its record '{name}' ({model},{res_id}): {e}"
                ))
            })?;
        }
        ledger::forget_external_id(conn, module, &name).await?;
    }
    Ok(())
}
