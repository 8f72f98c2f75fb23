//! The registry: every model and field the installed addons define, with
//! the identifiers validated once, here.

use std::collections::HashMap;
use std::sync::Arc;

use pulse_schema::{FieldSpec, FieldType, ModelSpec};

use crate::OrmError;

/// A field of a model, with the addon that defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// The field as the addon described it.
    pub spec: FieldSpec,
    /// The addon that defines the field.
    pub module: String,
}

impl FieldDef {
    /// The field's technical (and column) name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The field's type.
    pub fn ttype(&self) -> FieldType {
        self.spec.ttype
    }
}

/// A model: its table and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDef {
    /// Dotted name, e.g. `todo.task`.
    pub name: String,
    /// Table name, e.g. `todo_task`.
    pub table: String,
    /// Human-readable name.
    pub description: String,
    /// The addon that defines the model.
    pub module: String,
    fields: Vec<FieldDef>,
    by_name: HashMap<String, usize>,
}

/// Odoo's table name for a model: dots become underscores.
pub fn table_name(model: &str) -> String {
    model.replace('.', "_")
}

/// `[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*`, at most 63 characters as a table name.
pub fn valid_model_name(name: &str) -> bool {
    name.len() <= 63
        && !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some('a'..='z'))
                && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        })
}

/// `[a-z][a-z0-9_]*`, at most 63 characters (PostgreSQL's identifier limit).
pub fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// Column names the host manages itself.
const RESERVED_FIELDS: [&str; 1] = ["id"];

impl ModelDef {
    /// Validates a model an addon described.
    pub fn from_spec(spec: &ModelSpec, module: &str) -> Result<ModelDef, OrmError> {
        if !valid_model_name(&spec.name) {
            return Err(OrmError::Validation(format!(
                "addon '{module}': invalid model name '{}' (expected lowercase words separated by dots, e.g. todo.task)",
                spec.name
            )));
        }
        let mut model = ModelDef {
            name: spec.name.clone(),
            table: table_name(&spec.name),
            description: spec.description.clone(),
            module: module.to_string(),
            fields: Vec::new(),
            by_name: HashMap::new(),
        };
        for field in &spec.fields {
            model.add_field(FieldDef {
                spec: field.clone(),
                module: module.to_string(),
            })?;
        }
        Ok(model)
    }

    /// Adds a field (one an extending addon declares, or one of the model's own).
    pub fn add_field(&mut self, field: FieldDef) -> Result<(), OrmError> {
        let name = field.name().to_string();
        if !valid_field_name(&name) || RESERVED_FIELDS.contains(&name.as_str()) {
            return Err(OrmError::Validation(format!(
                "addon '{}': invalid field name '{name}' on model '{}'",
                field.module, self.name
            )));
        }
        if self.by_name.contains_key(&name) {
            return Err(OrmError::Validation(format!(
                "addon '{}': field '{name}' is declared twice on model '{}'",
                field.module, self.name
            )));
        }
        if field.ttype() == FieldType::One2many && field.spec.inverse.is_none() {
            return Err(OrmError::Validation(format!(
                "addon '{}': one2many field '{name}' on model '{}' needs an inverse (the many2one pointing back)",
                field.module, self.name
            )));
        }
        let relational = matches!(
            field.ttype(),
            FieldType::Many2one | FieldType::One2many | FieldType::Many2many
        );
        if relational && field.spec.relation.is_none() {
            return Err(OrmError::Validation(format!(
                "addon '{}': relational field '{name}' on model '{}' needs a relation",
                field.module, self.name
            )));
        }
        self.by_name.insert(name, self.fields.len());
        self.fields.push(field);
        Ok(())
    }

    /// The stored fields, in declaration order.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.by_name.get(name).map(|&i| &self.fields[i])
    }

    /// A field by name, or Odoo's "Invalid field" error.
    pub fn require_field(&self, name: &str) -> Result<&FieldDef, OrmError> {
        self.field(name)
            .ok_or_else(|| OrmError::invalid_field(&self.name, name))
    }

    /// The field used as the record's display name (`name` when it exists).
    pub fn rec_name(&self) -> Option<&FieldDef> {
        self.field("name")
    }
}

/// Every model of the installed addons. Immutable once built; a lifecycle
/// change builds a new one and swaps it in.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    models: HashMap<String, Arc<ModelDef>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a model; a model name may be defined once.
    pub fn insert(&mut self, model: ModelDef) -> Result<(), OrmError> {
        if let Some(existing) = self.models.get(&model.name) {
            return Err(OrmError::Validation(format!(
                "addon '{}': model '{}' is already defined by addon '{}'",
                model.module, model.name, existing.module
            )));
        }
        self.models.insert(model.name.clone(), Arc::new(model));
        Ok(())
    }

    /// Adds the fields of `spec` to the model it extends, owned by `module`.
    pub fn extend(&mut self, spec: &ModelSpec, module: &str) -> Result<(), OrmError> {
        let model = self.models.get_mut(&spec.name).ok_or_else(|| {
            OrmError::Validation(format!(
                "addon '{module}' extends model '{}', which none of its dependencies defines",
                spec.name
            ))
        })?;
        let model = Arc::make_mut(model);
        for field in &spec.fields {
            model.add_field(FieldDef {
                spec: field.clone(),
                module: module.to_string(),
            })?;
        }
        Ok(())
    }

    /// Adds what an addon describes: new models, or fields on models it extends.
    pub fn apply(&mut self, spec: &ModelSpec, module: &str) -> Result<(), OrmError> {
        if spec.extends {
            self.extend(spec, module)
        } else {
            self.insert(ModelDef::from_spec(spec, module)?)
        }
    }

    /// A model by name.
    pub fn get(&self, name: &str) -> Option<&Arc<ModelDef>> {
        self.models.get(name)
    }

    /// A model by name, or Odoo's "doesn't exist" error.
    pub fn require(&self, name: &str) -> Result<&Arc<ModelDef>, OrmError> {
        self.get(name).ok_or_else(|| OrmError::unknown_model(name))
    }

    /// All models, in no particular order.
    pub fn models(&self) -> impl Iterator<Item = &Arc<ModelDef>> {
        self.models.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(valid_model_name("todo.task"));
        assert!(valid_model_name("finance.ssc.month_end_closing"));
        assert!(!valid_model_name("Todo.task"));
        assert!(!valid_model_name("todo..task"));
        assert!(!valid_model_name("todo;drop table x"));
        assert!(valid_field_name("due_date"));
        assert!(!valid_field_name("1abc"));
        assert!(!valid_field_name("name\"--"));
        assert_eq!(table_name("todo.task"), "todo_task");
    }
}
