//! Compiling a parsed [`Domain`] to a parameterized `WHERE` clause and an
//! Odoo `order` to an `ORDER BY`: field names are looked up in the registry,
//! every operand is a bind parameter, and the recursion is bounded by
//! [`MAX_COMPILE_DEPTH`].

use std::collections::BTreeSet;
use std::sync::Arc;

use pulse_schema::FieldType;
use serde_json::Value;

use crate::dialect::Dialect;
use crate::domain::{
    Comodel, Comodels, Domain, Leaf, MAX_COMPILE_DEPTH, Term, check_path_length, names_field,
};
use crate::error::OrmError;
use crate::registry::{ACTIVE, FieldDef, ModelDef, Registry};
use crate::values::{SqlValue, text_types, to_sql};

impl Domain {
    /// The models the domain reaches through relations when searched on
    /// `model`: those whose access rights and record rules apply to a
    /// user's search. Fails as compiling would (an unknown field, a path
    /// too long).
    pub fn comodels(
        &self,
        registry: &Registry,
        model: &ModelDef,
    ) -> Result<BTreeSet<String>, OrmError> {
        let mut params = Vec::new();
        let mut compiler = Compiler::new(registry, Dialect::Sqlite, &mut params);
        compiler.reached = Some(BTreeSet::new());
        compiler.term(self.root(), model)?;
        Ok(compiler.reached.unwrap_or_default())
    }

    /// Compiles to SQL for `model`, appending operands to `params`; paths
    /// through relations are resolved in `registry`.
    pub fn to_sql(
        &self,
        registry: &Registry,
        model: &ModelDef,
        dialect: Dialect,
        params: &mut Vec<SqlValue>,
    ) -> Result<String, OrmError> {
        Compiler::new(registry, dialect, params).term(self.root(), model)
    }
}

/// Compiles terms to SQL, collecting bind parameters.
struct Compiler<'a> {
    registry: &'a Registry,
    dialect: Dialect,
    params: &'a mut Vec<SqlValue>,
    /// What the searching user sees of the models reached through
    /// relations; `None` outside a [`Term::Restricted`] (the host's own
    /// searches, record rules, superuser calls).
    comodels: Option<Arc<Comodels>>,
    /// When set, the compiler only collects the models reached through
    /// relations (see [`Domain::comodels`]).
    reached: Option<BTreeSet<String>>,
    /// How deeply terms and leaves are being compiled, one inside the other.
    depth: usize,
    /// Whether the sub-searches of x2many conditions leave archived records
    /// out: inside a [`Term::ActiveTest`], outside record rules.
    active_test: bool,
}

impl<'a> Compiler<'a> {
    fn new(registry: &'a Registry, dialect: Dialect, params: &'a mut Vec<SqlValue>) -> Self {
        Compiler {
            registry,
            dialect,
            params,
            comodels: None,
            reached: None,
            depth: 0,
            active_test: false,
        }
    }
}

impl Compiler<'_> {
    /// One level deeper, or the error that says the domain nests too deep.
    fn descend(&mut self) -> Result<(), OrmError> {
        self.depth += 1;
        if self.depth > MAX_COMPILE_DEPTH {
            return Err(OrmError::value(format!(
                "Invalid domain: it nests more than {MAX_COMPILE_DEPTH} levels deep (operators, 'any' sub-domains, path steps and related fields together)"
            )));
        }
        Ok(())
    }

    /// Runs `compile` one level deeper (see [`Compiler::descend`]).
    fn nested(
        &mut self,
        compile: impl FnOnce(&mut Self) -> Result<String, OrmError>,
    ) -> Result<String, OrmError> {
        self.descend()?;
        let sql = compile(self);
        self.depth -= 1;
        sql
    }

    fn term(&mut self, term: &Term, model: &ModelDef) -> Result<String, OrmError> {
        self.nested(|c| c.term_at(term, model))
    }

    fn term_at(&mut self, term: &Term, model: &ModelDef) -> Result<String, OrmError> {
        Ok(match term {
            Term::True => "1=1".into(),
            Term::False => "1=0".into(),
            Term::And(terms) | Term::Or(terms) => {
                let joint = if matches!(term, Term::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let mut parts = Vec::with_capacity(terms.len());
                for term in terms {
                    parts.push(self.term(term, model)?);
                }
                match parts.len() {
                    0 if matches!(term, Term::And(_)) => "1=1".into(),
                    0 => "1=0".into(),
                    1 => format!("({})", parts[0]),
                    _ => balanced(&parts, joint),
                }
            }
            Term::Not(a) => format!("(NOT {})", self.term(a, model)?),
            Term::Leaf(leaf) => self.leaf(leaf, model)?,
            Term::Restricted(inner, comodels) => {
                let outer = self.comodels.replace(comodels.clone());
                let sql = self.term(inner, model);
                self.comodels = outer;
                sql?
            }
            Term::ActiveTest(inner) => {
                let outer = std::mem::replace(&mut self.active_test, true);
                let sql = self
                    .term(inner, model)
                    .and_then(|sql| self.unarchived(sql, model, names_field(inner, ACTIVE)));
                self.active_test = outer;
                sql?
            }
        })
    }

    /// `condition` on the records of `model` searched with `active_test`
    /// on, leaving archived ones out unless the search names `active`
    /// (`named`) or the model has no such field.
    fn unarchived(
        &mut self,
        condition: String,
        model: &ModelDef,
        named: bool,
    ) -> Result<String, OrmError> {
        if !self.active_test || named || model.active_field().is_none() {
            return Ok(condition);
        }
        let active = Leaf {
            field: ACTIVE.to_string(),
            operator: "=".into(),
            value: Value::Bool(true),
        };
        let active = self.leaf(&active, model)?;
        Ok(if condition == "1=1" {
            active
        } else {
            format!("({condition} AND {active})")
        })
    }

    /// The condition the records of `target`, reached through a relation,
    /// must also meet: what the searching user may read of them (Odoo's
    /// comodel `_search`, which checks access rights and applies record
    /// rules). The rules themselves are compiled as superuser, as Odoo
    /// evaluates them.
    fn visible(&mut self, target: &ModelDef) -> Result<String, OrmError> {
        if let Some(reached) = &mut self.reached {
            reached.insert(target.name.clone());
            return Ok("1=1".into());
        }
        let Some(comodels) = self.comodels.clone() else {
            return Ok("1=1".into());
        };
        match comodels.models.get(&target.name) {
            Some(Comodel::Visible(None)) => Ok("1=1".into()),
            Some(Comodel::Visible(Some(rules))) => {
                // Rules are Odoo's sudo searches with active_test off.
                self.comodels = None;
                let active_test = std::mem::replace(&mut self.active_test, false);
                let sql = self.term(rules.root(), target);
                self.comodels = Some(comodels);
                self.active_test = active_test;
                sql
            }
            Some(Comodel::Denied(message)) => Err(OrmError::access(message.clone())),
            // Fail closed: nobody decided what the user sees of the model.
            None => Err(OrmError::access(format!(
                "You are not allowed to access '{}' ({}) records through this search.",
                target.description, target.name
            ))),
        }
    }

    /// The model a relational field points to.
    fn related(
        &self,
        model: &ModelDef,
        field: &FieldDef,
    ) -> Result<std::sync::Arc<ModelDef>, OrmError> {
        let relation = field.spec.relation.as_deref().unwrap_or_default();
        self.registry.get(relation).cloned().ok_or_else(|| {
            OrmError::value(format!(
                "Field '{}' on model '{}' points to unknown model '{relation}'",
                field.name(),
                model.name
            ))
        })
    }

    fn leaf(&mut self, leaf: &Leaf, model: &ModelDef) -> Result<String, OrmError> {
        self.nested(|c| c.leaf_at(leaf, model))
    }

    /// `leaf`'s operator and value on the field (or path) `field` of `model`.
    fn leaf_on(
        &mut self,
        leaf: &Leaf,
        field: String,
        model: &ModelDef,
    ) -> Result<String, OrmError> {
        let inner = Leaf {
            field,
            operator: leaf.operator.clone(),
            value: leaf.value.clone(),
        };
        self.leaf(&inner, model)
    }

    fn leaf_at(&mut self, leaf: &Leaf, model: &ModelDef) -> Result<String, OrmError> {
        // A related field is searched as the path it shows.
        let head = leaf.field.split('.').next().unwrap_or_default();
        if let Some(path) = model.field(head).and_then(|f| f.spec.related.as_deref()) {
            let rest = &leaf.field[head.len()..];
            let expanded = format!("{path}{rest}");
            check_path_length(&expanded, expanded.split('.').count())?;
            return self.leaf_on(leaf, expanded, model);
        }
        // A path `a.b`: the records whose `a` is one of the `a` records matching `b`.
        if let Some((head, rest)) = leaf.field.split_once('.') {
            let field = model.require_field(head)?;
            if !field.ttype().is_stored() {
                // Odoo's `(head, 'any', [(rest, …)])`: a search on the target.
                let target = self.related(model, field)?;
                let condition = self.leaf_on(leaf, rest.to_string(), &target)?;
                let condition = self.unarchived(condition, &target, rest == ACTIVE)?;
                return self.x2many_having(model, field, &target, &condition);
            }
            if field.ttype() != FieldType::Many2one {
                return Err(OrmError::value(format!(
                    "Invalid path '{}' on model '{}': '{head}' is not a many2one field",
                    leaf.field, model.name
                )));
            }
            let target = self.related(model, field)?;
            let condition = self.leaf_on(leaf, rest.to_string(), &target)?;
            let condition = both(condition, self.visible(&target)?);
            return Ok(format!(
                "\"{head}\" IN (SELECT \"id\" FROM \"{}\" WHERE {condition})",
                target.table
            ));
        }
        let id;
        let field = if leaf.field == "id" {
            id = id_field();
            &id
        } else {
            model.require_field(&leaf.field)?
        };
        if !field.ttype().is_stored() {
            return self.x2many_leaf(leaf, model, field);
        }
        match leaf.operator.as_str() {
            "any" | "not any" => self.any(leaf, model, field),
            "child_of" | "parent_of" => self.hierarchy(leaf, model, field),
            _ => compile_leaf(leaf, model, field, self.dialect, self.params),
        }
    }

    /// The records of `model` with at least one record in the x2many
    /// `field` satisfying `condition` (SQL on the target's table).
    fn x2many_having(
        &mut self,
        model: &ModelDef,
        field: &FieldDef,
        target: &ModelDef,
        condition: &str,
    ) -> Result<String, OrmError> {
        // Linked records the user may not read are as good as not linked.
        let condition = both(condition.to_string(), self.visible(target)?);
        Ok(match field.ttype() {
            FieldType::One2many => {
                let inverse = field.spec.inverse.as_deref().unwrap_or_default();
                format!(
                    "\"id\" IN (SELECT \"{inverse}\" FROM \"{}\" WHERE \"{inverse}\" IS NOT NULL AND {condition})",
                    target.table
                )
            }
            _ => {
                let rel = crate::schema::relation_table(model, field)?;
                format!(
                    "\"id\" IN (SELECT \"{rt}\".\"{own}\" FROM \"{rt}\" JOIN \"{t}\" ON \"{t}\".\"id\" = \"{rt}\".\"{other}\" WHERE {condition})",
                    rt = rel.table,
                    own = rel.own,
                    other = rel.other,
                    t = target.table
                )
            }
        })
    }

    /// A leaf on an x2many field, as Odoo reads it: `in`/`=` ids of related
    /// records, `= False` for none, `any` a domain on them, and text
    /// operators on their display name.
    fn x2many_leaf(
        &mut self,
        leaf: &Leaf,
        model: &ModelDef,
        field: &FieldDef,
    ) -> Result<String, OrmError> {
        let target = self.related(model, field)?;
        let empty = matches!(leaf.value, Value::Null | Value::Bool(false));
        let on_target = |operator: &str, value: &Value, field: &str| Leaf {
            field: field.to_string(),
            operator: operator.to_string(),
            value: value.clone(),
        };
        Ok(match leaf.operator.as_str() {
            "=" | "in" if empty => format!(
                "(NOT {})",
                self.x2many_having(model, field, &target, "1=1")?
            ),
            "!=" | "<>" | "not in" if empty => self.x2many_having(model, field, &target, "1=1")?,
            "=" | "in" => {
                let condition = self.leaf(&on_target("in", &leaf.value, "id"), &target)?;
                self.x2many_having(model, field, &target, &condition)?
            }
            "!=" | "<>" | "not in" => {
                let condition = self.leaf(&on_target("in", &leaf.value, "id"), &target)?;
                format!(
                    "(NOT {})",
                    self.x2many_having(model, field, &target, &condition)?
                )
            }
            "any" | "not any" => {
                let domain = Domain::parse(&leaf.value)?;
                let condition = self.term(domain.root(), &target)?;
                let named = names_field(domain.root(), ACTIVE);
                let condition = self.unarchived(condition, &target, named)?;
                let having = self.x2many_having(model, field, &target, &condition)?;
                if leaf.operator == "any" {
                    having
                } else {
                    format!("(NOT {having})")
                }
            }
            operator if operator.contains("like") => {
                let name = target
                    .rec_name()
                    .map(|f| f.name().to_string())
                    .ok_or_else(|| {
                        OrmError::value(format!(
                            "Model '{}' has no name to match '{operator}' against",
                            target.name
                        ))
                    })?;
                let condition = self.leaf(&on_target(operator, &leaf.value, &name), &target)?;
                let condition = self.unarchived(condition, &target, false)?;
                self.x2many_having(model, field, &target, &condition)?
            }
            other => {
                return Err(OrmError::value(format!(
                    "Operator '{other}' cannot apply to the {} field '{}'",
                    field.ttype().as_str(),
                    field.name()
                )));
            }
        })
    }

    /// `(field, 'any', domain)`: some related record matches the domain.
    fn any(&mut self, leaf: &Leaf, model: &ModelDef, field: &FieldDef) -> Result<String, OrmError> {
        if field.ttype() != FieldType::Many2one {
            return Err(OrmError::value(format!(
                "Operator '{}' needs a relational field; '{}' on model '{}' is not one",
                leaf.operator,
                field.name(),
                model.name
            )));
        }
        let target = self.related(model, field)?;
        let domain = Domain::parse(&leaf.value)?;
        let condition = self.term(domain.root(), &target)?;
        let condition = both(condition, self.visible(&target)?);
        let column = format!("\"{}\"", field.name());
        let subquery = format!("SELECT \"id\" FROM \"{}\" WHERE {condition}", target.table);
        Ok(if leaf.operator == "any" {
            format!("{column} IN ({subquery})")
        } else {
            format!("({column} IS NULL OR {column} NOT IN ({subquery}))")
        })
    }

    /// `child_of` / `parent_of` over the `parent_id` hierarchy of the model
    /// the field points to (the model itself for `id`).
    fn hierarchy(
        &mut self,
        leaf: &Leaf,
        model: &ModelDef,
        field: &FieldDef,
    ) -> Result<String, OrmError> {
        let target = if field.name() == "id" {
            self.registry
                .get(&model.name)
                .cloned()
                .ok_or_else(|| OrmError::unknown_model(&model.name))?
        } else if field.ttype() == FieldType::Many2one {
            self.related(model, field)?
        } else {
            return Err(OrmError::value(format!(
                "Operator '{}' needs 'id' or a many2one field; '{}' on model '{}' is neither",
                leaf.operator,
                field.name(),
                model.name
            )));
        };
        let parent = target.field("parent_id").filter(|p| {
            p.ttype() == FieldType::Many2one
                && p.spec.relation.as_deref() == Some(target.name.as_str())
        });
        if parent.is_none() {
            return Err(OrmError::value(format!(
                "Operator '{}' needs a hierarchy: model '{}' has no parent_id field pointing to itself",
                leaf.operator, target.name
            )));
        }
        let ids: Vec<i64> = match &leaf.value {
            Value::Number(n) => n.as_i64().into_iter().collect(),
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_i64().ok_or_else(|| {
                        OrmError::value(format!("Invalid id {v} for '{}'", leaf.operator))
                    })
                })
                .collect::<Result<_, _>>()?,
            Value::Bool(false) | Value::Null => Vec::new(),
            other => {
                return Err(OrmError::value(format!(
                    "Invalid value {other} for '{}': expected ids",
                    leaf.operator
                )));
            }
        };
        if ids.is_empty() {
            return Ok("1=0".into());
        }
        let mut placeholders = Vec::with_capacity(ids.len());
        for id in ids {
            self.params.push(SqlValue::Int(id));
            placeholders.push(self.dialect.param(self.params.len()));
        }
        let table = &target.table;
        let step = if leaf.operator == "child_of" {
            format!("SELECT r.\"id\" FROM \"{table}\" r JOIN tree ON r.\"parent_id\" = tree.id")
        } else {
            format!(
                "SELECT r.\"parent_id\" FROM \"{table}\" r JOIN tree ON r.\"id\" = tree.id WHERE r.\"parent_id\" IS NOT NULL"
            )
        };
        // The hierarchy is walked whole (as Odoo walks it in sudo); what it
        // yields is what the user may read of it.
        let visible = match self.visible(&target)?.as_str() {
            "1=1" => String::new(),
            rules => format!(" WHERE tree.id IN (SELECT \"id\" FROM \"{table}\" WHERE {rules})"),
        };
        Ok(format!(
            "\"{}\" IN (WITH RECURSIVE tree(id) AS (SELECT \"id\" FROM \"{table}\" WHERE \"id\" IN ({}) UNION {step}) SELECT tree.id FROM tree{visible})",
            field.name(),
            placeholders.join(", ")
        ))
    }
}

/// `parts` joined by `joint` as a balanced tree of parentheses: SQLite
/// parses `a OR b OR c …` as a chain as deep as it is long and refuses one
/// past 1,000 deep; balanced, 10,000 terms are 14 deep. Recursion is as
/// deep as the tree.
fn balanced(parts: &[String], joint: &str) -> String {
    match parts {
        [one] => one.clone(),
        [a, b] => format!("({a}{joint}{b})"),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!(
                "({}{joint}{})",
                balanced(left, joint),
                balanced(right, joint)
            )
        }
    }
}

/// `condition AND visible`, or `condition` alone when all is visible.
fn both(condition: String, visible: String) -> String {
    if visible == "1=1" {
        condition
    } else {
        format!("{condition} AND ({visible})")
    }
}

/// The pseudo-field `id`, typed as an integer.
fn id_field() -> FieldDef {
    FieldDef {
        spec: pulse_schema::FieldSpec {
            string: "ID".into(),
            index: true,
            ..pulse_schema::FieldSpec::new("id", FieldType::Integer)
        },
        module: "base".into(),
    }
}

/// A comparison leaf on a stored field of `model`.
fn compile_leaf(
    leaf: &Leaf,
    model: &ModelDef,
    field: &FieldDef,
    dialect: Dialect,
    params: &mut Vec<SqlValue>,
) -> Result<String, OrmError> {
    let column = format!("\"{}\"", field.name());
    let is_bool = field.ttype() == FieldType::Boolean;
    // For a boolean, 0 is as empty as False.
    let empty = if is_bool && !leaf.operator.contains("in") && !leaf.operator.contains("like") {
        matches!(to_sql(model, field, &leaf.value)?, SqlValue::Bool(false))
    } else {
        matches!(leaf.value, Value::Null | Value::Bool(false))
    };
    let mut push = |value: SqlValue| {
        params.push(value);
        dialect.param(params.len())
    };
    // Booleans compare as booleans whatever the client sends (0/1 from
    // XML-RPC scripts included), through the same conversion as writes.
    let operand = |value: &Value| -> Result<SqlValue, OrmError> { to_sql(model, field, value) };
    Ok(match leaf.operator.as_str() {
        "=" if empty && is_bool => format!(
            "({column} IS NULL OR {column} = {})",
            push(SqlValue::Bool(false))
        ),
        "=" if empty => format!("{column} IS NULL"),
        "!=" | "<>" if empty && is_bool => format!("{column} = {}", push(SqlValue::Bool(true))),
        "!=" | "<>" if empty => format!("{column} IS NOT NULL"),
        "=" if is_bool => {
            // `= true` on a boolean; `= false` was handled above.
            format!("{column} = {}", push(SqlValue::Bool(true)))
        }
        "=" => format!("{column} = {}", push(operand(&leaf.value)?)),
        "!=" | "<>" => {
            let p = push(operand(&leaf.value)?);
            format!("({column} <> {p} OR {column} IS NULL)")
        }
        op @ ("<" | "<=" | ">" | ">=") => format!("{column} {op} {}", push(operand(&leaf.value)?)),
        op @ ("in" | "not in") => {
            let values = match &leaf.value {
                Value::Array(values) => values.clone(),
                other => vec![other.clone()],
            };
            let with_null = values
                .iter()
                .any(|v| matches!(v, Value::Null | Value::Bool(false)));
            let operands = values
                .iter()
                .filter(|v| !matches!(v, Value::Null | Value::Bool(false)) || is_bool)
                .map(operand)
                .collect::<Result<Vec<_>, _>>()?;
            let list = if operands.is_empty() {
                None
            } else if operands.len() > crate::values::IN_LIST_PARAMS {
                // One parameter for the whole list, whatever its length.
                Some(crate::values::in_json_list(dialect, operands, params))
            } else {
                Some(
                    operands
                        .into_iter()
                        .map(push)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            };
            match (op, list, with_null) {
                ("in", None, false) => "1=0".into(),
                ("in", None, true) => format!("{column} IS NULL"),
                ("in", Some(l), false) => format!("{column} IN ({l})"),
                ("in", Some(l), true) => format!("({column} IN ({l}) OR {column} IS NULL)"),
                (_, None, false) => "1=1".into(),
                (_, None, true) => format!("{column} IS NOT NULL"),
                (_, Some(l), false) => format!("({column} NOT IN ({l}) OR {column} IS NULL)"),
                (_, Some(l), true) => format!("({column} NOT IN ({l}) AND {column} IS NOT NULL)"),
            }
        }
        op => {
            let text = match &leaf.value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(OrmError::value(format!(
                        "Invalid value {other} for operator '{op}' on {}.{}",
                        model.name, leaf.field
                    )));
                }
            };
            crate::values::check_text(model, field, &text)?;
            let exact = op.starts_with('=');
            let pattern = if exact {
                text
            } else {
                format!("%{}%", escape_like(&text))
            };
            let p = push(SqlValue::Text(pattern));
            let insensitive = op.ends_with("ilike");
            // Patterns match text; other columns are compared as their text,
            // which PostgreSQL (unlike SQLite) will not do implicitly.
            let text_column = match field.ttype() {
                text_types!() | FieldType::Json => column.clone(),
                _ => format!("CAST({column} AS TEXT)"),
            };
            let (lhs, rhs) = if insensitive {
                (format!("LOWER({text_column})"), format!("LOWER({p})"))
            } else {
                (text_column, p)
            };
            if op.starts_with("not") {
                format!("({lhs} NOT LIKE {rhs} ESCAPE '\\' OR {column} IS NULL)")
            } else {
                format!("{lhs} LIKE {rhs} ESCAPE '\\'")
            }
        }
    })
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses an Odoo `order` clause (`"name desc, id"`) against `model` into SQL.
/// Ties are broken by `id` so both engines return the same order.
pub fn order_by(model: &ModelDef, order: Option<&str>) -> Result<String, OrmError> {
    let mut parts = Vec::new();
    let mut has_id = false;
    for item in order
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mut words = item.split_whitespace();
        let name = words.next().unwrap_or_default();
        let direction = match words.next().map(|w| w.to_ascii_lowercase()) {
            None => "ASC",
            Some(w) if w == "asc" => "ASC",
            Some(w) if w == "desc" => "DESC",
            Some(_) => {
                return Err(OrmError::value(format!(
                    "Invalid \"order\" specified ({item})"
                )));
            }
        };
        if words.next().is_some() {
            return Err(OrmError::value(format!(
                "Invalid \"order\" specified ({item})"
            )));
        }
        if name == "id" {
            has_id = true;
        } else if !model.require_field(name)?.has_column() {
            return Err(OrmError::value(format!(
                "Invalid \"order\" specified ({item}): '{name}' is not stored"
            )));
        }
        let nulls = if direction == "ASC" {
            "NULLS LAST"
        } else {
            "NULLS FIRST"
        };
        parts.push(format!("\"{name}\" {direction} {nulls}"));
    }
    if !has_id {
        parts.push("\"id\" ASC".into());
    }
    Ok(parts.join(", "))
}
