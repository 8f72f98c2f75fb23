//! Schema sync: from what the ledger says an addon owns (its recorded
//! description) to what its new version describes. Additions are applied
//! before the migrate hook, removals after it, and a removal that would lose
//! data is refused with the table, column and row count.

use std::collections::BTreeMap;

use pulse_orm::{
    Connection, Dialect, ModelDef, Orm, add_column, count_values, create_table, drop_column,
    drop_table, ledger, table_name,
};
use pulse_schema::{Description, FieldSpec, ModelSpec};

use crate::Error;

/// What differs between two descriptions of one addon.
#[derive(Debug, Default)]
pub struct SchemaDiff {
    /// The addon both descriptions are of: the owner the ledger records.
    pub module: String,
    /// Models the new version defines and the old did not.
    pub new_models: Vec<ModelSpec>,
    /// `(model, field)` added, on the addon's own models or on models it extends.
    pub added_fields: Vec<(String, FieldSpec)>,
    /// `(model, field)` the new version no longer declares.
    pub removed_fields: Vec<(String, String)>,
    /// `(model, field, old type, new type)` whose type changed.
    pub retyped_fields: Vec<(String, String, String, String)>,
    /// Models the new version no longer defines.
    pub removed_models: Vec<String>,
}

/// The fields with something in the database (a column or a relation):
/// related fields have neither, so a field turning related is a removal.
fn fields_of(description: &Description) -> BTreeMap<(String, String), &FieldSpec> {
    description
        .models
        .iter()
        .flat_map(|m| {
            m.fields
                .iter()
                .filter(|f| f.related.is_none())
                .map(move |f| ((m.name.clone(), f.name.clone()), f))
        })
        .collect()
}

/// The differences from `old` to `new`, both descriptions of `module`.
pub fn diff(module: &str, old: &Description, new: &Description) -> SchemaDiff {
    let mut d = SchemaDiff {
        module: module.to_string(),
        ..SchemaDiff::default()
    };
    let old_models: BTreeMap<&str, &ModelSpec> =
        old.models.iter().map(|m| (m.name.as_str(), m)).collect();
    let new_models: BTreeMap<&str, &ModelSpec> =
        new.models.iter().map(|m| (m.name.as_str(), m)).collect();
    for (name, spec) in &new_models {
        if !spec.extends && old_models.get(name).is_none_or(|o| o.extends) {
            d.new_models.push((*spec).clone());
        }
    }
    for (name, spec) in &old_models {
        if !spec.extends && new_models.get(name).is_none_or(|n| n.extends) {
            d.removed_models.push(name.to_string());
        }
    }
    let old_fields = fields_of(old);
    let new_fields = fields_of(new);
    let in_new_model = |model: &str| d.new_models.iter().any(|m| m.name == model);
    let in_removed_model = |model: &str| d.removed_models.iter().any(|m| m == model);
    // In declaration order, so columns are added as the addon lists them.
    let declared = new
        .models
        .iter()
        .flat_map(|m| m.fields.iter().map(move |f| (&m.name, &f.name, f)))
        .filter(|(_, _, f)| f.related.is_none());
    for (model, field, spec) in declared {
        match old_fields.get(&(model.clone(), field.clone())) {
            None if !in_new_model(model) => d.added_fields.push((model.clone(), (*spec).clone())),
            Some(old) if old.ttype != spec.ttype => d.retyped_fields.push((
                model.clone(),
                field.clone(),
                old.ttype.as_str().into(),
                spec.ttype.as_str().into(),
            )),
            _ => {}
        }
    }
    for (model, field) in old_fields.keys() {
        if !new_fields.contains_key(&(model.clone(), field.clone())) && !in_removed_model(model) {
            d.removed_fields.push((model.clone(), field.clone()));
        }
    }
    d
}

/// `old` and `new` together: what the migrate hook sees, so it can read the
/// old fields and write the new ones.
pub fn union(old: &Description, new: &Description) -> Description {
    let mut merged = new.clone();
    for old_model in &old.models {
        match merged.models.iter_mut().find(|m| m.name == old_model.name) {
            Some(m) => {
                for f in &old_model.fields {
                    if !m.fields.iter().any(|n| n.name == f.name) {
                        m.fields.push(f.clone());
                    }
                }
            }
            None => merged.models.push(old_model.clone()),
        }
    }
    merged
}

/// Drops the relation tables of `module`'s many2many fields (all of them,
/// or those of `model.field`), with their ledger rows.
async fn drop_relations(
    conn: &mut Connection,
    dialect: Dialect,
    module: &str,
    only: Option<(&str, &str)>,
) -> Result<(), Error> {
    for table in ledger::relation_tables(conn, module, only).await? {
        drop_table(conn, dialect, &table).await?;
        ledger::forget_relation_table(conn, &table, module).await?;
    }
    Ok(())
}

/// Applies the additions of `diff` for its module: new tables, new columns
/// (on its own models or on models it extends), each recorded in the ledger.
/// `orm`'s registry must already contain the new models and fields.
#[crate::boxed]
pub async fn apply_additions(
    conn: &mut Connection,
    orm: &Orm,
    diff: &SchemaDiff,
) -> Result<(), Error> {
    let (dialect, registry) = (orm.dialect(), orm.registry());
    for spec in &diff.new_models {
        let model = registry.require(&spec.name)?;
        let owned = model_owned_part(model, &diff.module);
        create_table(conn, dialect, &owned).await?;
        ledger::record_model(conn, &owned).await?;
    }
    for (model, spec) in &diff.added_fields {
        let model = registry.require(model)?;
        let field = model.require_field(&spec.name)?;
        add_column(conn, dialect, model, field).await?;
        ledger::record_field(conn, model, field).await?;
    }
    Ok(())
}

/// The part of `model` that `module` owns (its own fields), for creating
/// its table: extensions add their columns separately.
fn model_owned_part(model: &ModelDef, module: &str) -> ModelDef {
    let spec = ModelSpec {
        name: model.name.clone(),
        description: model.description.clone(),
        fields: model
            .fields()
            .iter()
            .filter(|f| f.module == module)
            .map(|f| f.spec.clone())
            .collect(),
        extends: false,
        checks: Vec::new(),
    };
    ModelDef::from_spec(&spec, module).expect("a model already in the registry is valid")
}

/// Applies the removals and type changes of `diff`, refusing any that would
/// lose data (the migrate hook runs before this and may move or clear it).
/// `orm`'s registry is the new version's.
#[crate::boxed]
pub async fn apply_removals(
    conn: &mut Connection,
    orm: &Orm,
    diff: &SchemaDiff,
) -> Result<(), Error> {
    let (dialect, registry, module) = (orm.dialect(), orm.registry(), diff.module.as_str());
    let refuse = |what: String| {
        Error::Lifecycle(format!(
            "upgrading '{module}' would {what}; the new version's migrate hook must move or clear that data first"
        ))
    };
    for (model, field, from, to) in &diff.retyped_fields {
        let table = table_name(model);
        let values = count_values(conn, &table, Some(field)).await?;
        if values > 0 {
            return Err(refuse(format!(
                "change {table}.{field} from {from} to {to} while {values} row(s) hold a value"
            )));
        }
        drop_column(conn, &table, field).await?;
        let model_def = registry.require(model)?;
        add_column(conn, dialect, model_def, model_def.require_field(field)?).await?;
        ledger::set_field_type(conn, model, field, to).await?;
    }
    for (model, field) in &diff.removed_fields {
        let table = table_name(model);
        match ledger::field_type(conn, model, field).await?.as_str() {
            "one2many" => {
                ledger::forget_field(conn, model, field).await?;
                continue;
            }
            "many2many" => {
                drop_relations(conn, dialect, module, Some((model, field))).await?;
                ledger::forget_field(conn, model, field).await?;
                continue;
            }
            _ => {}
        }
        let values = count_values(conn, &table, Some(field)).await?;
        if values > 0 {
            return Err(refuse(format!(
                "drop column {table}.{field}, which holds {values} value(s)"
            )));
        }
        drop_column(conn, &table, field).await?;
        ledger::forget_field(conn, model, field).await?;
    }
    for model in &diff.removed_models {
        let table = table_name(model);
        let rows = count_values(conn, &table, None).await?;
        if rows > 0 {
            return Err(refuse(format!(
                "drop table {table}, which holds {rows} row(s)"
            )));
        }
        drop_table(conn, dialect, &table).await?;
        ledger::forget_models(conn, ledger::Forget::Model(model)).await?;
    }
    Ok(())
}

/// Drops everything the ledger says `module` owns: first its columns on
/// other addons' tables, then its own tables; then its ledger rows.
#[crate::boxed]
pub async fn drop_owned(
    conn: &mut Connection,
    dialect: Dialect,
    module: &str,
) -> Result<(), Error> {
    drop_relations(conn, dialect, module, None).await?;
    for (table, column) in ledger::columns_on_other_tables(conn, module).await? {
        drop_column(conn, &table, &column).await?;
    }
    for table in ledger::tables_of(conn, module).await? {
        drop_table(conn, dialect, &table).await?;
        ledger::forget_fields_of_table(conn, &table).await?;
    }
    ledger::forget_models(conn, ledger::Forget::OwnedBy(module)).await?;
    Ok(())
}
