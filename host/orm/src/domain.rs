//! Odoo domains: parsing the JSON form and compiling it to a parameterized
//! `WHERE` clause. Field names are looked up in the model; operators come
//! from a fixed list; every operand is a bind parameter.

use pulse_schema::FieldType;
use serde_json::Value;

use crate::values::{SqlValue, to_sql};
use crate::{Dialect, FieldDef, ModelDef, OrmError, Registry};

/// One leaf: `[field, operator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The field name (`id` or a stored field).
    pub field: String,
    /// The operator, e.g. `=`, `ilike`, `not in`.
    pub operator: String,
    /// The operand.
    pub value: Value,
}

/// A parsed domain, as a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Matches everything (Odoo's `TRUE_LEAF`, or an empty domain).
    True,
    /// Matches nothing (Odoo's `FALSE_LEAF`).
    False,
    /// Both.
    And(Box<Term>, Box<Term>),
    /// Either.
    Or(Box<Term>, Box<Term>),
    /// Not.
    Not(Box<Term>),
    /// A condition on a field.
    Leaf(Leaf),
}

/// A domain: Odoo's prefix-notation list of leaves and `&`, `|`, `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    root: Term,
    /// The domain as it was given, to combine it with others.
    source: Value,
}

/// The operators a leaf may use.
const OPERATORS: [&str; 19] = [
    "any",
    "not any",
    "child_of",
    "parent_of",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not in",
    "like",
    "ilike",
    "not like",
    "not ilike",
    "=like",
    "=ilike",
];

impl Domain {
    /// The domain matching every record.
    pub fn all() -> Domain {
        Domain {
            root: Term::True,
            source: Value::Array(Vec::new()),
        }
    }

    /// The domain as Odoo JSON.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// The parsed tree.
    pub fn root(&self) -> &Term {
        &self.root
    }

    /// Records matching both `self` and `other`.
    pub fn and(&self, other: &Domain) -> Domain {
        Domain::combine(Term::And(
            Box::new(self.root.clone()),
            Box::new(other.root.clone()),
        ))
    }

    /// Records matching `self` or `other`.
    pub fn or(&self, other: &Domain) -> Domain {
        Domain::combine(Term::Or(
            Box::new(self.root.clone()),
            Box::new(other.root.clone()),
        ))
    }

    fn combine(root: Term) -> Domain {
        let mut source = Vec::new();
        term_json(&root, &mut source);
        Domain {
            root,
            source: Value::Array(source),
        }
    }

    /// Parses JSON text (an empty string is the empty domain).
    pub fn parse_str(text: &str) -> Result<Domain, OrmError> {
        if text.trim().is_empty() {
            return Ok(Domain::all());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| OrmError::Value(format!("Invalid domain (not JSON): {e}")))?;
        Domain::parse(&value)
    }

    /// Parses a JSON domain such as `["|", ["a", "=", 1], ["b", "!=", false]]`.
    pub fn parse(value: &Value) -> Result<Domain, OrmError> {
        let items = match value {
            Value::Array(items) => items.as_slice(),
            Value::Null | Value::Bool(false) => &[],
            other => {
                return Err(OrmError::Value(format!(
                    "Invalid domain: expected a list, got {other}"
                )));
            }
        };
        if items.len() > MAX_TERMS {
            return Err(OrmError::Value(format!(
                "Invalid domain: {} terms, more than the {MAX_TERMS} allowed (use 'in' for long lists of values)",
                items.len()
            )));
        }
        let mut position = 0;
        let mut terms = Vec::new();
        while position < items.len() {
            terms.push(parse_term(items, &mut position, 0)?);
        }
        // Consecutive top-level terms are implicitly AND-ed, as a balanced
        // tree so that compiling a long domain never recurses deeply.
        Ok(Domain {
            root: balanced_and(terms),
            source: Value::Array(items.to_vec()),
        })
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
        let mut compiler = Compiler {
            registry,
            dialect,
            params,
        };
        compiler.term(&self.root, model)
    }
}

/// Terms (leaves and operators) one domain may hold.
const MAX_TERMS: usize = 10_000;

/// How deeply `&`, `|` and `!` may nest: deeper domains are refused rather
/// than risking the stack.
const MAX_NESTING: usize = 512;

fn balanced_and(mut terms: Vec<Term>) -> Term {
    match terms.len() {
        0 => Term::True,
        1 => terms.pop().expect("one term"),
        n => {
            let right = terms.split_off(n / 2);
            Term::And(Box::new(balanced_and(terms)), Box::new(balanced_and(right)))
        }
    }
}

fn parse_term(items: &[Value], position: &mut usize, depth: usize) -> Result<Term, OrmError> {
    if depth > MAX_NESTING {
        return Err(OrmError::Value(format!(
            "Invalid domain: operators nest more than {MAX_NESTING} deep"
        )));
    }
    let Some(item) = items.get(*position) else {
        return Err(OrmError::Value(
            "Invalid domain: an operator is missing its operands".into(),
        ));
    };
    *position += 1;
    match item {
        Value::String(op) if op == "&" || op == "|" => {
            let left = parse_term(items, position, depth + 1)?;
            let right = parse_term(items, position, depth + 1)?;
            Ok(if op == "&" {
                Term::And(Box::new(left), Box::new(right))
            } else {
                Term::Or(Box::new(left), Box::new(right))
            })
        }
        Value::String(op) if op == "!" => {
            Ok(Term::Not(Box::new(parse_term(items, position, depth + 1)?)))
        }
        Value::Array(leaf) if leaf.len() == 3 => parse_leaf(leaf),
        other => Err(OrmError::Value(format!("Invalid domain term {other}"))),
    }
}

fn parse_leaf(leaf: &[Value]) -> Result<Term, OrmError> {
    // Odoo's TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
    if let (Some(l), Some("="), Some(1)) = (leaf[0].as_i64(), leaf[1].as_str(), leaf[2].as_i64()) {
        return Ok(if l == 1 { Term::True } else { Term::False });
    }
    let Value::String(field) = &leaf[0] else {
        return Err(OrmError::Value(format!(
            "Invalid leaf {:?}: the field must be a name",
            leaf
        )));
    };
    let Value::String(operator) = &leaf[1] else {
        return Err(OrmError::Value(format!(
            "Invalid leaf {:?}: the operator must be text",
            leaf
        )));
    };
    let operator = operator.to_lowercase();
    if !OPERATORS.contains(&operator.as_str()) {
        return Err(OrmError::Value(format!(
            "Invalid operator {:?} in domain",
            leaf[1]
        )));
    }
    Ok(Term::Leaf(Leaf {
        field: field.clone(),
        operator,
        value: leaf[2].clone(),
    }))
}

/// Compiles terms to SQL, collecting bind parameters.
struct Compiler<'a> {
    registry: &'a Registry,
    dialect: Dialect,
    params: &'a mut Vec<SqlValue>,
}

impl Compiler<'_> {
    fn term(&mut self, term: &Term, model: &ModelDef) -> Result<String, OrmError> {
        Ok(match term {
            Term::True => "1=1".into(),
            Term::False => "1=0".into(),
            Term::And(a, b) => format!("({} AND {})", self.term(a, model)?, self.term(b, model)?),
            Term::Or(a, b) => format!("({} OR {})", self.term(a, model)?, self.term(b, model)?),
            Term::Not(a) => format!("(NOT {})", self.term(a, model)?),
            Term::Leaf(leaf) => self.leaf(leaf, model)?,
        })
    }

    /// The model a relational field points to.
    fn related(
        &self,
        model: &ModelDef,
        field: &FieldDef,
    ) -> Result<std::sync::Arc<ModelDef>, OrmError> {
        let relation = field.spec.relation.as_deref().unwrap_or_default();
        self.registry.get(relation).cloned().ok_or_else(|| {
            OrmError::Value(format!(
                "Field '{}' on model '{}' points to unknown model '{relation}'",
                field.name(),
                model.name
            ))
        })
    }

    fn leaf(&mut self, leaf: &Leaf, model: &ModelDef) -> Result<String, OrmError> {
        // A related field is searched as the path it shows.
        let head = leaf.field.split('.').next().unwrap_or_default();
        if let Some(path) = model.field(head).and_then(|f| f.spec.related.as_deref()) {
            let rest = &leaf.field[head.len()..];
            let inner = Leaf {
                field: format!("{path}{rest}"),
                operator: leaf.operator.clone(),
                value: leaf.value.clone(),
            };
            return self.leaf(&inner, model);
        }
        // A path `a.b`: the records whose `a` is one of the `a` records matching `b`.
        if let Some((head, rest)) = leaf.field.split_once('.') {
            let field = model.require_field(head)?;
            if !field.ttype().is_stored() {
                let target = self.related(model, field)?;
                let inner = Leaf {
                    field: rest.to_string(),
                    operator: leaf.operator.clone(),
                    value: leaf.value.clone(),
                };
                let condition = self.leaf(&inner, &target)?;
                return self.x2many_having(model, field, &target, &condition);
            }
            if field.ttype() != FieldType::Many2one {
                return Err(OrmError::Value(format!(
                    "Invalid path '{}' on model '{}': '{head}' is not a many2one field",
                    leaf.field, model.name
                )));
            }
            let target = self.related(model, field)?;
            let inner = Leaf {
                field: rest.to_string(),
                operator: leaf.operator.clone(),
                value: leaf.value.clone(),
            };
            let condition = self.leaf(&inner, &target)?;
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
        &self,
        model: &ModelDef,
        field: &FieldDef,
        target: &ModelDef,
        condition: &str,
    ) -> Result<String, OrmError> {
        Ok(match field.ttype() {
            FieldType::One2many => {
                let inverse = field.spec.inverse.as_deref().unwrap_or_default();
                format!(
                    "\"id\" IN (SELECT \"{inverse}\" FROM \"{}\" WHERE \"{inverse}\" IS NOT NULL AND {condition})",
                    target.table
                )
            }
            _ => {
                let rel = crate::x2many::relation_table(model, field)?;
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
                let condition = self.term(&domain.root, &target)?;
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
                        OrmError::Value(format!(
                            "Model '{}' has no name to match '{operator}' against",
                            target.name
                        ))
                    })?;
                let condition = self.leaf(&on_target(operator, &leaf.value, &name), &target)?;
                self.x2many_having(model, field, &target, &condition)?
            }
            other => {
                return Err(OrmError::Value(format!(
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
            return Err(OrmError::Value(format!(
                "Operator '{}' needs a relational field; '{}' on model '{}' is not one",
                leaf.operator,
                field.name(),
                model.name
            )));
        }
        let target = self.related(model, field)?;
        let domain = Domain::parse(&leaf.value)?;
        let condition = self.term(&domain.root, &target)?;
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
            return Err(OrmError::Value(format!(
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
            return Err(OrmError::Value(format!(
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
                        OrmError::Value(format!("Invalid id {v} for '{}'", leaf.operator))
                    })
                })
                .collect::<Result<_, _>>()?,
            Value::Bool(false) | Value::Null => Vec::new(),
            other => {
                return Err(OrmError::Value(format!(
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
        Ok(format!(
            "\"{}\" IN (WITH RECURSIVE tree(id) AS (SELECT \"id\" FROM \"{table}\" WHERE \"id\" IN ({}) UNION {step}) SELECT id FROM tree)",
            field.name(),
            placeholders.join(", ")
        ))
    }
}

/// `term` in Odoo's prefix notation, appended to `out`.
fn term_json(term: &Term, out: &mut Vec<Value>) {
    match term {
        Term::True => out.push(serde_json::json!([1, "=", 1])),
        Term::False => out.push(serde_json::json!([0, "=", 1])),
        Term::And(a, b) | Term::Or(a, b) => {
            out.push(Value::from(if matches!(term, Term::And(..)) {
                "&"
            } else {
                "|"
            }));
            term_json(a, out);
            term_json(b, out);
        }
        Term::Not(a) => {
            out.push(Value::from("!"));
            term_json(a, out);
        }
        Term::Leaf(leaf) => out.push(serde_json::json!([leaf.field, leaf.operator, leaf.value])),
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
                    return Err(OrmError::Value(format!(
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
                FieldType::Char
                | FieldType::Text
                | FieldType::Html
                | FieldType::Selection
                | FieldType::Date
                | FieldType::Datetime
                | FieldType::Json => column.clone(),
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
                return Err(OrmError::Value(format!(
                    "Invalid \"order\" specified ({item})"
                )));
            }
        };
        if words.next().is_some() {
            return Err(OrmError::Value(format!(
                "Invalid \"order\" specified ({item})"
            )));
        }
        if name == "id" {
            has_id = true;
        } else if !model.require_field(name)?.has_column() {
            return Err(OrmError::Value(format!(
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

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_schema::{FieldSpec, ModelSpec};
    use serde_json::json;

    #[test]
    fn domains_combine_into_prefix_notation() {
        let a = Domain::parse(&json!([["a", "=", 1], ["b", "=", 2]])).unwrap();
        let c = Domain::parse(&json!(["|", ["c", "=", 3], ["d", "=", 4]])).unwrap();
        let both = a.or(&c);
        assert_eq!(
            both.source(),
            &json!([
                "|",
                "&",
                ["a", "=", 1],
                ["b", "=", 2],
                "|",
                ["c", "=", 3],
                ["d", "=", 4]
            ])
        );
        let reparsed = Domain::parse(both.source()).unwrap();
        assert_eq!(reparsed.root(), both.root());
        let all = Domain::all().and(&a);
        assert_eq!(Domain::parse(all.source()).unwrap().root(), all.root());
    }

    fn model() -> ModelDef {
        let field = |name: &str, ttype| FieldSpec::new(name, ttype);
        ModelDef::from_spec(
            &ModelSpec {
                name: "todo.task".into(),
                description: String::new(),
                fields: vec![
                    field("name", FieldType::Char),
                    field("done", FieldType::Boolean),
                ],
                extends: false,
                checks: Vec::new(),
            },
            "todo",
        )
        .unwrap()
    }

    fn sql(domain: Value) -> Result<(String, Vec<SqlValue>), OrmError> {
        let mut params = Vec::new();
        let mut registry = Registry::new();
        registry.insert(model())?;
        let sql =
            Domain::parse(&domain)?.to_sql(&registry, &model(), Dialect::Postgres, &mut params)?;
        Ok((sql, params))
    }

    #[test]
    fn prefix_operators_and_implicit_and() {
        let (s, p) = sql(json!([
            "|",
            ["name", "=", "a"],
            ["done", "=", true],
            ["id", ">", 3]
        ]))
        .unwrap();
        assert_eq!(s, "((\"name\" = $1 OR \"done\" = $2) AND \"id\" > $3)");
        assert_eq!(
            p,
            vec![
                SqlValue::Text("a".into()),
                SqlValue::Bool(true),
                SqlValue::Int(3)
            ]
        );
    }

    #[test]
    fn like_is_escaped_and_bound() {
        let (s, p) = sql(json!([["name", "ilike", "50%_off"]])).unwrap();
        assert_eq!(s, "LOWER(\"name\") LIKE LOWER($1) ESCAPE '\\'");
        assert_eq!(p, vec![SqlValue::Text("%50\\%\\_off%".into())]);
    }

    #[test]
    fn hostile_input_is_rejected() {
        assert!(sql(json!([["name; drop table x", "=", 1]])).is_err());
        assert!(sql(json!([["name", "= 1 or 1=1 --", 1]])).is_err());
        assert!(sql(json!(["&", ["name", "=", 1]])).is_err());
        assert!(order_by(&model(), Some("name; drop table x")).is_err());
        assert!(order_by(&model(), Some("name desc, secret")).is_err());
        assert_eq!(
            order_by(&model(), Some("name desc")).unwrap(),
            "\"name\" DESC NULLS FIRST, \"id\" ASC"
        );
    }

    #[test]
    fn empty_values_mean_null() {
        assert_eq!(
            sql(json!([["name", "=", false]])).unwrap().0,
            "\"name\" IS NULL"
        );
        assert_eq!(sql(json!([["id", "in", []]])).unwrap().0, "1=0");
    }
}
