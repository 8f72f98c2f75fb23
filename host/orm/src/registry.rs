//! The registry: every model and field the installed addons define, with
//! the identifiers validated once, here.

use std::collections::HashMap;
use std::sync::Arc;

use pulse_schema::{CheckSpec, FieldSpec, FieldType, ModelSpec};

use crate::error::OrmError;

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

    /// Whether the field is a column of the model's table.
    pub fn has_column(&self) -> bool {
        self.spec.has_column()
    }
}

/// A check constraint with the addon that declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDef {
    /// The constraint as the addon described it.
    pub spec: CheckSpec,
    /// Its domain, parsed once.
    pub domain: crate::domain::Domain,
    /// The addon that declares it.
    pub module: String,
}

/// A stored computed field of one model that depends on fields of another
/// model, reached through `via` (Odoo's `depends('line_ids.amount')`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The model holding the computed field.
    pub model: String,
    /// The compute method.
    pub method: String,
    /// The relational field of `model` the dependency goes through.
    pub via: String,
    /// The field of the other model it depends on (`None`: only which
    /// records are linked, e.g. `depends('line_ids')`).
    pub field: Option<String>,
    /// For a one2many `via`: the many2one of the other model that decides
    /// which records are linked.
    pub inverse: Option<String>,
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
    checks: Vec<CheckDef>,
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

/// What is wrong with the names a field declares that reach SQL as
/// identifiers (its own name, its relation, which names a table and a
/// relation table, its inverse and currency field, which name columns):
/// each must be a plain name, as names from RPC clients must be.
fn identifier_problems(module: &str, model: &str, field: &FieldSpec) -> Vec<String> {
    let mut problems = Vec::new();
    let mut bad = |what: &str, value: &str, expected: &str| {
        problems.push(format!(
            "addon '{module}': field {:?} of model {model:?}: invalid {what} {value:?} (expected {expected})",
            field.name
        ))
    };
    let field_name = "a field name: lowercase letters, digits and _, at most 63 characters";
    if !valid_field_name(&field.name) {
        bad("field name", &field.name, field_name);
    }
    if let Some(relation) = &field.relation
        && !valid_model_name(relation)
    {
        bad(
            "relation",
            relation,
            "a model name: lowercase words separated by dots, e.g. res.partner",
        );
    }
    if let Some(inverse) = &field.inverse
        && !valid_field_name(inverse)
    {
        bad("inverse", inverse, field_name);
    }
    if let Some(currency) = &field.currency_field
        && !valid_field_name(currency)
    {
        bad("currency field", currency, field_name);
    }
    problems
}

/// Column names the host manages itself.
const RESERVED_FIELDS: [&str; 1] = ["id"];

impl ModelDef {
    /// Validates a model an addon described.
    pub fn from_spec(spec: &ModelSpec, module: &str) -> Result<ModelDef, OrmError> {
        if !valid_model_name(&spec.name) {
            // The fields' problems too: an addon learns them all at once.
            let mut problems = vec![format!(
                "addon '{module}': invalid model name {:?} (expected lowercase words separated by dots, e.g. todo.task)",
                spec.name
            )];
            problems.extend(
                spec.fields
                    .iter()
                    .flat_map(|f| identifier_problems(module, &spec.name, f)),
            );
            return Err(OrmError::validation(problems.join("\n")));
        }
        let mut model = ModelDef {
            name: spec.name.clone(),
            table: table_name(&spec.name),
            description: spec.description.clone(),
            module: module.to_string(),
            fields: Vec::new(),
            by_name: HashMap::new(),
            checks: Vec::new(),
        };
        model.add_fields(&spec.fields, module)?;
        model.add_checks(&spec.checks, module)?;
        Ok(model)
    }

    /// Adds the fields `module` declares, reporting every field's problems
    /// together.
    fn add_fields(&mut self, fields: &[FieldSpec], module: &str) -> Result<(), OrmError> {
        let mut problems = Vec::new();
        for field in fields {
            if let Err(problem) = self.add_field(FieldDef {
                spec: field.clone(),
                module: module.to_string(),
            }) {
                problems.push(problem.to_string());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(OrmError::validation(problems.join("\n")))
        }
    }

    /// Adds check constraints declared by `module`.
    pub fn add_checks(&mut self, checks: &[CheckSpec], module: &str) -> Result<(), OrmError> {
        for check in checks {
            if self.checks.iter().any(|c| c.spec.name == check.name) {
                return Err(OrmError::validation(format!(
                    "addon '{module}': check '{}' is declared twice on model '{}'",
                    check.name, self.name
                )));
            }
            let domain = crate::domain::Domain::parse(&check.domain).map_err(|e| {
                OrmError::validation(format!(
                    "addon '{module}': check '{}' on model '{}' has an invalid domain: {e}",
                    check.name, self.name
                ))
            })?;
            self.checks.push(CheckDef {
                spec: check.clone(),
                domain,
                module: module.to_string(),
            });
        }
        Ok(())
    }

    /// The check constraints, in declaration order.
    pub fn checks(&self) -> &[CheckDef] {
        &self.checks
    }

    /// The names of the compute methods of the model's stored computed fields.
    pub fn compute_methods(&self) -> std::collections::BTreeSet<&str> {
        self.fields
            .iter()
            .filter_map(|f| f.spec.compute.as_deref())
            .collect()
    }

    /// The compute methods of fields that depend on one of `changed` (a
    /// field of this model itself, or the first step of a path).
    pub fn methods_depending_on<'a>(
        &'a self,
        changed: &'a std::collections::BTreeSet<String>,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(|f| {
                f.spec.depends.iter().any(|d| {
                    let head = d.split('.').next().unwrap_or_default();
                    changed.contains(head)
                })
            })
            .filter_map(|f| f.spec.compute.as_deref())
    }

    /// Adds a field (one an extending addon declares, or one of the model's own).
    pub fn add_field(&mut self, field: FieldDef) -> Result<(), OrmError> {
        let name = field.name().to_string();
        let problems = identifier_problems(&field.module, &self.name, &field.spec);
        if !problems.is_empty() {
            return Err(OrmError::validation(problems.join("\n")));
        }
        if RESERVED_FIELDS.contains(&name.as_str()) {
            return Err(OrmError::validation(format!(
                "addon '{}': invalid field name '{name}' on model '{}'",
                field.module, self.name
            )));
        }
        if self.by_name.contains_key(&name) {
            return Err(OrmError::validation(format!(
                "addon '{}': field '{name}' is declared twice on model '{}'",
                field.module, self.name
            )));
        }
        if field.ttype() == FieldType::One2many && field.spec.inverse.is_none() {
            return Err(OrmError::validation(format!(
                "addon '{}': one2many field '{name}' on model '{}' needs an inverse (the many2one pointing back)",
                field.module, self.name
            )));
        }
        let relational = matches!(
            field.ttype(),
            FieldType::Many2one | FieldType::One2many | FieldType::Many2many
        );
        if relational && field.spec.relation.is_none() {
            return Err(OrmError::validation(format!(
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

    /// The field used as the record's display name: a stored computed
    /// `complete_name` when the model has one (Odoo's partners show
    /// "Company, Contact", its categories and locations their path),
    /// else `name` when it exists.
    pub fn rec_name(&self) -> Option<&FieldDef> {
        self.field("complete_name")
            .filter(|f| f.spec.compute.is_some() && f.ttype() == FieldType::Char)
            .or_else(|| self.field("name"))
    }

    /// The boolean field `active` that archives records (Odoo's
    /// `_active_name`), when the model has one: searches then leave
    /// archived records out unless asked for them.
    pub fn active_field(&self) -> Option<&FieldDef> {
        self.field(ACTIVE)
            .filter(|f| f.ttype() == FieldType::Boolean)
    }
}

/// The name of the field that archives records.
pub const ACTIVE: &str = "active";

/// Every model of the installed addons. Immutable once built; a lifecycle
/// change builds a new one and swaps it in.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    models: HashMap<String, Arc<ModelDef>>,
    /// Who depends on and points at each model, worked out once on first
    /// use (every create, write and unlink asks); reset by any change.
    links: std::sync::OnceLock<Links>,
    /// Model to the addons' subscriptions to its record events.
    subscriptions: HashMap<String, Vec<crate::events::Subscription>>,
}

/// The reverse indexes of a registry, by target model.
#[derive(Debug, Clone, Default)]
struct Links {
    triggers: HashMap<String, Vec<Trigger>>,
    references: HashMap<String, Vec<(Arc<ModelDef>, FieldDef)>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a model; a model name may be defined once.
    pub fn insert(&mut self, model: ModelDef) -> Result<(), OrmError> {
        if let Some(existing) = self.models.get(&model.name) {
            return Err(OrmError::validation(format!(
                "addon '{}': model '{}' is already defined by addon '{}'",
                model.module, model.name, existing.module
            )));
        }
        self.models.insert(model.name.clone(), Arc::new(model));
        self.links = std::sync::OnceLock::new();
        Ok(())
    }

    /// Adds an addon's subscription to the record events of `model`,
    /// checking that the model and the fields it names exist.
    pub fn subscribe(
        &mut self,
        model: &str,
        subscription: crate::events::Subscription,
    ) -> Result<(), OrmError> {
        let bad = |why: String| {
            OrmError::validation(format!(
                "addon '{}': the record events of '{model}' that '{}' subscribes to: {why}",
                subscription.addon, subscription.handler
            ))
        };
        let Some(def) = self.get(model) else {
            return Err(bad("no such model".into()));
        };
        if let Some(field) = subscription.fields.iter().find(|f| def.field(f).is_none()) {
            return Err(bad(format!("the model has no field '{field}'")));
        }
        if let Some(domain) = &subscription.domain {
            // Compiled once here, so a bad domain fails the install, not every write.
            domain
                .to_sql(self, def, crate::dialect::Dialect::Sqlite, &mut Vec::new())
                .map_err(|e| bad(format!("its domain: {e}")))?;
        }
        self.subscriptions
            .entry(model.to_string())
            .or_default()
            .push(subscription);
        Ok(())
    }

    /// The subscriptions to the record events of `model`.
    pub fn subscriptions(&self, model: &str) -> &[crate::events::Subscription] {
        self.subscriptions.get(model).map_or(&[], Vec::as_slice)
    }

    /// Adds the fields of `spec` to the model it extends, owned by `module`.
    pub fn extend(&mut self, spec: &ModelSpec, module: &str) -> Result<(), OrmError> {
        let model = self.models.get_mut(&spec.name).ok_or_else(|| {
            OrmError::validation(format!(
                "addon '{module}' extends model '{}', which none of its dependencies defines",
                spec.name
            ))
        })?;
        self.links = std::sync::OnceLock::new();
        let model = Arc::make_mut(model);
        model.add_fields(&spec.fields, module)?;
        model.add_checks(&spec.checks, module)
    }

    /// Checks what only the whole registry can tell: related paths lead
    /// through many2one fields to a field of the same type, computed
    /// fields depend on fields that exist, check domains name real fields.
    pub fn validate(&self) -> Result<(), OrmError> {
        for model in self.models.values() {
            for field in model.fields() {
                let bad = |why: String| {
                    OrmError::validation(format!(
                        "addon '{}': field '{}' of model '{}': {why}",
                        field.module,
                        field.name(),
                        model.name
                    ))
                };
                if let Some(relation) = &field.spec.relation {
                    let Some(target) = self.get(relation) else {
                        return Err(bad(format!(
                            "its relation '{relation}' is no model of the addon's dependencies"
                        )));
                    };
                    if let Some(inverse) = &field.spec.inverse {
                        let points_back = target.field(inverse).is_some_and(|f| {
                            f.ttype() == FieldType::Many2one
                                && f.spec.relation.as_deref() == Some(model.name.as_str())
                        });
                        if field.ttype() == FieldType::One2many && !points_back {
                            return Err(bad(format!(
                                "its inverse '{inverse}' is no many2one of '{relation}' pointing back to '{}'",
                                model.name
                            )));
                        }
                    }
                }
                if let Some(path) = &field.spec.related {
                    if !field.ttype().is_stored() {
                        return Err(bad(
                            "related one2many and many2many fields are not supported".into(),
                        ));
                    }
                    let end = self.follow(model, path).map_err(&bad)?;
                    let mut chain = vec![(model.name.clone(), field.name().to_string())];
                    self.related_length(model, path, &mut chain).map_err(&bad)?;
                    if end.ttype() != field.ttype() {
                        return Err(bad(format!(
                            "related '{path}' ends at a {} field, but the field is declared {}",
                            end.ttype().as_str(),
                            field.ttype().as_str()
                        )));
                    }
                    if field.spec.compute.is_some() {
                        return Err(bad("a field is either related or computed, not both".into()));
                    }
                }
                if field.spec.compute.is_some() {
                    if !field.ttype().is_stored() {
                        return Err(bad(format!(
                            "a {} field cannot be computed",
                            field.ttype().as_str()
                        )));
                    }
                    for dep in &field.spec.depends {
                        self.dependency(model, field, dep).map_err(&bad)?;
                    }
                }
            }
            for check in model.checks() {
                let mut params = Vec::new();
                check
                    .domain
                    .to_sql(self, model, crate::dialect::Dialect::Sqlite, &mut params)
                    .map_err(|e| {
                        OrmError::validation(format!(
                            "addon '{}': check '{}' on model '{}': {e}",
                            check.module, check.spec.name, model.name
                        ))
                    })?;
            }
        }
        Ok(())
    }

    /// The field a related path such as `partner_id.country_id.name` ends at.
    fn follow<'a>(&'a self, model: &'a ModelDef, path: &str) -> Result<&'a FieldDef, String> {
        let mut current = model;
        let steps: Vec<&str> = path.split('.').collect();
        for (i, step) in steps.iter().enumerate() {
            let field = current.field(step).ok_or_else(|| {
                format!(
                    "related '{path}': '{step}' is no field of '{}'",
                    current.name
                )
            })?;
            if i + 1 == steps.len() {
                return Ok(field);
            }
            if field.ttype() != FieldType::Many2one {
                return Err(format!(
                    "related '{path}': '{step}' is not a many2one, so the path cannot go on"
                ));
            }
            let relation = field.spec.relation.as_deref().unwrap_or_default();
            current = self
                .get(relation)
                .ok_or_else(|| format!("related '{path}': unknown model '{relation}'"))?;
        }
        Err(format!("related '{path}' is empty"))
    }

    /// How many fields the related path `path` of `model` goes through
    /// once the related fields on it are replaced by their own paths;
    /// `chain` holds the related fields being expanded (`(model, field)`),
    /// so that a loop is refused naming them. Recursion is bounded by the
    /// chain's length.
    fn related_length(
        &self,
        model: &ModelDef,
        path: &str,
        chain: &mut Vec<(String, String)>,
    ) -> Result<usize, String> {
        let named = |chain: &[(String, String)]| {
            chain
                .iter()
                .map(|(m, f)| format!("{m}.{f}"))
                .collect::<Vec<_>>()
                .join(" -> ")
        };
        let mut length = 0;
        let mut current = model;
        let steps: Vec<&str> = path.split('.').collect();
        for (i, step) in steps.iter().enumerate() {
            let Some(field) = current.field(step) else {
                return Err(format!(
                    "related '{path}': '{step}' is no field of '{}'",
                    current.name
                ));
            };
            match &field.spec.related {
                Some(inner) => {
                    let key = (current.name.clone(), step.to_string());
                    if chain.contains(&key) {
                        chain.push(key);
                        return Err(format!("related fields loop: {}", named(chain)));
                    }
                    chain.push(key);
                    if chain.len() > crate::domain::MAX_PATH_LENGTH {
                        return Err(format!(
                            "related fields chain through more than {} fields: {}",
                            crate::domain::MAX_PATH_LENGTH,
                            named(chain)
                        ));
                    }
                    length += self.related_length(current, inner, chain)?;
                    chain.pop();
                }
                None => length += 1,
            }
            if length > crate::domain::MAX_PATH_LENGTH {
                return Err(format!(
                    "related '{path}' goes through more than {} fields (counting the paths of the related fields on it)",
                    crate::domain::MAX_PATH_LENGTH
                ));
            }
            if i + 1 < steps.len() {
                let relation = field.spec.relation.as_deref().unwrap_or_default();
                current = self
                    .get(relation)
                    .ok_or_else(|| format!("related '{path}': unknown model '{relation}'"))?;
            }
        }
        Ok(length)
    }

    /// Checks one `depends` entry of a computed field.
    fn dependency(&self, model: &ModelDef, field: &FieldDef, dep: &str) -> Result<(), String> {
        let (head, tail) = match dep.split_once('.') {
            Some((head, tail)) => (head, Some(tail)),
            None => (dep, None),
        };
        let head_field = model
            .field(head)
            .ok_or_else(|| format!("depends on '{dep}', but '{head}' is no field of the model"))?;
        if head == field.name() {
            return Err(format!("depends on itself ('{dep}')"));
        }
        let Some(tail) = tail else {
            return Ok(());
        };
        if tail.contains('.') {
            return Err(format!(
                "depends on '{dep}': a dependency goes at most one step through a relation"
            ));
        }
        let relation = head_field
            .spec
            .relation
            .as_deref()
            .ok_or_else(|| format!("depends on '{dep}', but '{head}' is not relational"))?;
        let target = self
            .get(relation)
            .ok_or_else(|| format!("depends on '{dep}': unknown model '{relation}'"))?;
        if tail != "id" && target.field(tail).is_none() {
            return Err(format!(
                "depends on '{dep}', but '{tail}' is no field of '{relation}'"
            ));
        }
        Ok(())
    }

    /// The computed fields of other models that depend on fields of `model`
    /// (or on which of its records are linked to them).
    pub fn triggers_on(&self, model: &str) -> &[Trigger] {
        self.links()
            .triggers
            .get(model)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The many2one fields of every model that point at `model`, with their model.
    pub fn references_to(&self, model: &str) -> &[(Arc<ModelDef>, FieldDef)] {
        self.links()
            .references
            .get(model)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn links(&self) -> &Links {
        self.links.get_or_init(|| {
            let mut links = Links::default();
            for other in self.models.values() {
                for field in other.fields() {
                    if field.ttype() == FieldType::Many2one
                        && let Some(target) = &field.spec.relation
                    {
                        links
                            .references
                            .entry(target.clone())
                            .or_default()
                            .push((other.clone(), field.clone()));
                    }
                    let Some(method) = &field.spec.compute else {
                        continue;
                    };
                    for dep in &field.spec.depends {
                        let (head, tail) = match dep.split_once('.') {
                            Some((head, tail)) => (head, Some(tail)),
                            None => (dep.as_str(), None),
                        };
                        let Some(via) = other.field(head) else {
                            continue;
                        };
                        let Some(target) = &via.spec.relation else {
                            continue;
                        };
                        let inverse = (via.ttype() == FieldType::One2many)
                            .then(|| via.spec.inverse.clone())
                            .flatten();
                        // A plain many2one dependency changes only with this model's own writes.
                        if tail.is_none() && inverse.is_none() && via.ttype() == FieldType::Many2one
                        {
                            continue;
                        }
                        links
                            .triggers
                            .entry(target.clone())
                            .or_default()
                            .push(Trigger {
                                model: other.name.clone(),
                                method: method.clone(),
                                via: head.to_string(),
                                field: tail.map(str::to_string),
                                inverse,
                            });
                    }
                }
            }
            links
        })
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
