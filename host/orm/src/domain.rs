//! Odoo domains: the parsed tree, parsed from the JSON form, and the limits
//! on it. Compiling a domain to SQL is the `compile` module's; this one
//! knows no model, so the registry can hold parsed domains (check
//! constraints) without the two depending on each other.
//!
//! Nothing here recurses deeper than the input allows: a domain is parsed
//! without recursion (right to left, as a stack machine), chains of one
//! operator become one n-ary node, and the nesting of operators, `any`
//! sub-domains and path steps is bounded by named limits. A domain that
//! goes past one is refused with a `ValueError` naming the limit.
//!
//! A search made for a user reaches other models through relations
//! (`partner_id.name`, `line_ids`, `any`, `child_of`): as in Odoo, where
//! such a leaf is a search on the comodel, the comodel's access rights
//! and record rules apply inside the subquery. The caller hands them over
//! as [`Comodels`] ([`Domain::comodels`] says which models a domain
//! reaches, [`Domain::restricted`] attaches them).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use crate::error::OrmError;

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

/// A parsed domain, as a tree. Chains of one operator (`|`, `|`, `|`, …)
/// are one node with many children, so the tree is as deep as operators
/// of different kinds alternate, not as long as the domain.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Matches everything (Odoo's `TRUE_LEAF`, or an empty domain).
    True,
    /// Matches nothing (Odoo's `FALSE_LEAF`).
    False,
    /// All of them (at least two).
    And(Vec<Term>),
    /// Any of them (at least two).
    Or(Vec<Term>),
    /// Not.
    Not(Box<Term>),
    /// A condition on a field.
    Leaf(Leaf),
    /// A term searched for a user: the models it reaches through relations
    /// show only what the user may read of them.
    Restricted(Box<Term>, Arc<Comodels>),
    /// A term searched with Odoo's `active_test` (see [`Domain::active_test`]).
    ActiveTest(Box<Term>),
}

/// What one user may see of the models a domain reaches through relations.
/// A model the domain reaches but that is missing here is refused: the
/// caller decides for every model [`Domain::comodels`] lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comodels {
    pub(crate) models: BTreeMap<String, Comodel>,
}

/// What one user may see of one model reached through a relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Comodel {
    /// The user may not read the model: searching through it fails with
    /// this `AccessError` message.
    Denied(String),
    /// The user reads the records matching the domain (the model's record
    /// rules, evaluated for the user), or every record when `None`.
    Visible(Option<Domain>),
}

impl Comodels {
    /// Records what the user may see of `model`.
    pub fn insert(&mut self, model: &str, comodel: Comodel) {
        self.models.insert(model.to_string(), comodel);
    }
}

/// A domain: Odoo's prefix-notation list of leaves and `&`, `|`, `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    root: Term,
    /// The domain as it was given, to combine it with others.
    source: Value,
}

/// The operators a leaf may use, once normalised (see [`normalise`]).
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

/// Terms (leaves and operators) one domain may hold, its `any`
/// sub-domains included.
pub const MAX_TERMS: usize = 10_000;

/// How deeply `&`, `|`, `!` and `any` / `not any` sub-domains may nest. A
/// chain of one operator counts once (`['|', '|', a, b, c]` is one level),
/// so long OR lists as Odoo's `OR()` builds them stay within it.
pub const MAX_NESTING: usize = 32;

/// Fields one dotted path (`move_id.line_ids.account_id.code`) may go
/// through, a related field counting for the steps of its own path.
pub const MAX_PATH_LENGTH: usize = 16;

/// The compiler's own bound on how deeply it recurses (operators, `any`
/// sub-domains, path steps and related fields together): within it, the
/// limits above hold; past it, a domain (or a chain of related fields)
/// would only cost stack.
pub const MAX_COMPILE_DEPTH: usize = 128;

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
        Domain::combine(chain(true, self.root.clone(), other.root.clone()))
    }

    /// Records matching `self` or `other`.
    pub fn or(&self, other: &Domain) -> Domain {
        Domain::combine(chain(false, self.root.clone(), other.root.clone()))
    }

    fn combine(root: Term) -> Domain {
        let mut source = Vec::new();
        term_json(&root, &mut source);
        Domain {
            root,
            source: Value::Array(source),
        }
    }

    /// This domain searched for a user who sees `comodels` of the models
    /// it reaches through relations (see [`Domain::comodels`]).
    pub fn restricted(self, comodels: Comodels) -> Domain {
        Domain {
            root: Term::Restricted(Box::new(self.root), Arc::new(comodels)),
            source: self.source,
        }
    }

    /// This domain searched as Odoo's `_search` searches with `active_test`
    /// on: on a model with an `active` field, archived records are left
    /// out unless the domain has a condition on `active` itself; and so are
    /// archived records in the sub-searches of one2many and many2many
    /// conditions (`line_ids.name`, `any`), unless the sub-domain names
    /// `active`. As in Odoo 19, many2one conditions (`partner_id.name`) and
    /// hierarchies (`child_of`) still reach archived records, and record
    /// rules are applied without it.
    pub fn active_test(self) -> Domain {
        Domain {
            root: Term::ActiveTest(Box::new(self.root)),
            source: self.source,
        }
    }

    /// This domain as a search made under `context` runs it: with
    /// [`Domain::active_test`] unless the context says `active_test: false`.
    pub fn searched_under(self, context: &pulse_schema::Context) -> Domain {
        if context.active_test() {
            self.active_test()
        } else {
            self
        }
    }

    /// Parses JSON text (an empty string is the empty domain).
    pub fn parse_str(text: &str) -> Result<Domain, OrmError> {
        if text.trim().is_empty() {
            return Ok(Domain::all());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| OrmError::value(format!("Invalid domain (not JSON): {e}")))?;
        Domain::parse(&value)
    }

    /// Parses a JSON domain such as `["|", ["a", "=", 1], ["b", "!=", false]]`.
    pub fn parse(value: &Value) -> Result<Domain, OrmError> {
        let mut budget = MAX_TERMS;
        let (root, _) = parse_domain(value, &mut budget)?;
        Ok(Domain {
            root,
            source: match value {
                Value::Array(_) => value.clone(),
                _ => Value::Array(Vec::new()),
            },
        })
    }
}

/// `a` and `b` (or either), with chains of the same operator flattened.
fn chain(and: bool, a: Term, b: Term) -> Term {
    let mut children = Vec::new();
    for term in [a, b] {
        match (and, term) {
            (true, Term::And(more)) | (false, Term::Or(more)) => children.extend(more),
            (_, term) => children.push(term),
        }
    }
    if and {
        Term::And(children)
    } else {
        Term::Or(children)
    }
}

/// A term while parsing, with how deeply its operators nest. Chains of
/// one operator collect their children in a deque, so that both left- and
/// right-nested chains flatten in linear time.
enum Parsed {
    Done(Term, usize),
    Chain {
        and: bool,
        children: VecDeque<Term>,
        depth: usize,
    },
}

impl Parsed {
    fn finish(self) -> (Term, usize) {
        match self {
            Parsed::Done(term, depth) => (term, depth),
            Parsed::Chain {
                and,
                children,
                depth,
            } => {
                let children = Vec::from(children);
                (
                    if and {
                        Term::And(children)
                    } else {
                        Term::Or(children)
                    },
                    depth,
                )
            }
        }
    }

    /// Its children as a child of an `and` (or `or`) chain, with how
    /// deeply they nest inside it.
    fn into_children(self, and: bool) -> (VecDeque<Term>, usize) {
        match self {
            Parsed::Chain {
                and: same,
                children,
                depth,
            } if same == and => (children, depth),
            other => {
                let (term, depth) = other.finish();
                (VecDeque::from([term]), depth + 1)
            }
        }
    }
}

fn too_deep() -> OrmError {
    OrmError::value(format!(
        "Invalid domain: operators nest more than {MAX_NESTING} deep (counting 'any' sub-domains)"
    ))
}

fn too_many_terms(count: usize) -> OrmError {
    OrmError::value(format!(
        "Invalid domain: {count} terms, more than the {MAX_TERMS} allowed (use 'in' for long lists of values)"
    ))
}

/// Parses a JSON domain, spending `budget` terms; the tree and how deeply
/// it nests.
fn parse_domain(value: &Value, budget: &mut usize) -> Result<(Term, usize), OrmError> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Null | Value::Bool(false) => &[],
        other => {
            return Err(OrmError::value(format!(
                "Invalid domain: expected a list, got {}",
                abridged(other)
            )));
        }
    };
    if items.len() > *budget {
        return Err(too_many_terms(MAX_TERMS - *budget + items.len()));
    }
    *budget -= items.len();
    // Prefix notation read right to left: operands are pushed, an operator
    // takes the topmost ones (its first operand on top).
    let mut stack: Vec<Parsed> = Vec::new();
    let missing = || OrmError::value("Invalid domain: an operator is missing its operands");
    for item in items.iter().rev() {
        let parsed = match item {
            Value::String(op) if op == "&" || op == "|" => {
                let and = op == "&";
                let (first, first_depth) = stack.pop().ok_or_else(missing)?.into_children(and);
                let (second, second_depth) = stack.pop().ok_or_else(missing)?.into_children(and);
                let depth = first_depth.max(second_depth).max(1);
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
                let children = if first.len() >= second.len() {
                    let mut children = first;
                    children.extend(second);
                    children
                } else {
                    let mut children = second;
                    for term in first.into_iter().rev() {
                        children.push_front(term);
                    }
                    children
                };
                Parsed::Chain {
                    and,
                    children,
                    depth,
                }
            }
            Value::String(op) if op == "!" => {
                let (term, depth) = stack.pop().ok_or_else(missing)?.finish();
                if depth + 1 > MAX_NESTING {
                    return Err(too_deep());
                }
                Parsed::Done(Term::Not(Box::new(term)), depth + 1)
            }
            Value::Array(leaf) if leaf.len() == 3 => {
                let (term, depth) = parse_leaf(leaf, budget)?;
                Parsed::Done(term, depth)
            }
            other => {
                return Err(OrmError::value(format!(
                    "Invalid domain term {}",
                    abridged(other)
                )));
            }
        };
        stack.push(parsed);
    }
    // Consecutive top-level terms are implicitly AND-ed.
    let mut terms: Vec<(Term, usize)> = stack.into_iter().rev().map(Parsed::finish).collect();
    Ok(match terms.len() {
        0 => (Term::True, 0),
        1 => terms.pop().expect("one term"),
        _ => {
            // An explicit `&` chain among them joins the implicit one.
            let depth = terms
                .iter()
                .map(|(term, d)| {
                    if matches!(term, Term::And(_)) {
                        *d
                    } else {
                        d + 1
                    }
                })
                .max()
                .unwrap_or(1);
            if depth > MAX_NESTING {
                return Err(too_deep());
            }
            let mut children = Vec::with_capacity(terms.len());
            for (term, _) in terms {
                match term {
                    Term::And(more) => children.extend(more),
                    term => children.push(term),
                }
            }
            (Term::And(children), depth)
        }
    })
}

/// A JSON value for an error message, cut short: hostile input can be
/// megabytes long.
fn abridged(value: &Value) -> String {
    /// Characters of a value an error message repeats.
    const SHOWN: usize = 80;
    let text = value.to_string();
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn parse_leaf(leaf: &[Value], budget: &mut usize) -> Result<(Term, usize), OrmError> {
    // Odoo's TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1).
    if let (Some(l), Some("="), Some(1)) = (leaf[0].as_i64(), leaf[1].as_str(), leaf[2].as_i64()) {
        return Ok((if l == 1 { Term::True } else { Term::False }, 0));
    }
    let Value::String(field) = &leaf[0] else {
        return Err(OrmError::value(format!(
            "Invalid leaf {}: the field must be a name",
            abridged(&Value::Array(leaf.to_vec()))
        )));
    };
    let Value::String(operator) = &leaf[1] else {
        return Err(OrmError::value(format!(
            "Invalid leaf {}: the operator must be text",
            abridged(&Value::Array(leaf.to_vec()))
        )));
    };
    let Some((operator, value)) = normalise(&operator.to_lowercase(), &leaf[2]) else {
        return Ok((Term::True, 0));
    };
    if !OPERATORS.contains(&operator.as_str()) {
        return Err(OrmError::value(format!(
            "Invalid operator {} in domain",
            abridged(&leaf[1])
        )));
    }
    check_path_length(field, field.split('.').count())?;
    // A sub-domain is checked now, against the same limits as the domain.
    let depth = if operator == "any" || operator == "not any" {
        let (_, inner) = parse_domain(&value, budget)?;
        if inner + 1 > MAX_NESTING {
            return Err(too_deep());
        }
        inner + 1
    } else {
        0
    };
    Ok((
        Term::Leaf(Leaf {
            field: field.clone(),
            operator,
            value,
        }),
        depth,
    ))
}

/// Odoo's rewrites of a leaf's operator and operand, so that the compiler
/// sees one form: `==` is `=` and `<>` is `!=`; `=` and `!=` against a
/// list are `in` and `not in` (against an empty list, `= False` and
/// `!= False`, as views write "is set"); `in` and `not in` against one
/// value are against a list of it; `=?` holds for any record when its
/// operand is empty (Python's falsy) and is `=` otherwise. `None` is the
/// leaf that always holds.
fn normalise(operator: &str, value: &Value) -> Option<(String, Value)> {
    let operator = match operator {
        "==" => "=",
        "<>" => "!=",
        "=?" if !pulse_schema::is_truthy(value) => return None,
        "=?" => "=",
        other => other,
    };
    Some(match (operator, value) {
        ("=" | "!=", Value::Array(items)) if items.is_empty() => {
            (operator.to_string(), Value::Bool(false))
        }
        ("=", Value::Array(_)) => ("in".to_string(), value.clone()),
        ("!=", Value::Array(_)) => ("not in".to_string(), value.clone()),
        ("in" | "not in", Value::Array(_)) => (operator.to_string(), value.clone()),
        ("in" | "not in", scalar) => (operator.to_string(), Value::Array(vec![scalar.clone()])),
        _ => (operator.to_string(), value.clone()),
    })
}

/// Whether `term` has a condition on the field `field` of the model it is
/// searched on (not through a path, not inside an `any` sub-domain): Odoo
/// then leaves the `active_test` filter to the domain.
pub(crate) fn names_field(term: &Term, field: &str) -> bool {
    let mut stack = vec![term];
    while let Some(term) = stack.pop() {
        match term {
            Term::Leaf(leaf) if leaf.field == field => return true,
            Term::And(terms) | Term::Or(terms) => stack.extend(terms),
            Term::Not(inner) | Term::Restricted(inner, _) | Term::ActiveTest(inner) => {
                stack.push(inner)
            }
            Term::Leaf(_) | Term::True | Term::False => {}
        }
    }
    false
}

/// Refuses a path of more than [`MAX_PATH_LENGTH`] fields.
pub(crate) fn check_path_length(path: &str, length: usize) -> Result<(), OrmError> {
    if length <= MAX_PATH_LENGTH {
        return Ok(());
    }
    /// Characters of a path an error message repeats.
    const SHOWN: usize = 60;
    let shown = match path.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_string(),
    };
    Err(OrmError::value(format!(
        "Invalid domain: the path '{shown}' goes through {length} fields, more than the {MAX_PATH_LENGTH} a path may have"
    )))
}

/// `term` in Odoo's prefix notation, appended to `out`.
fn term_json(term: &Term, out: &mut Vec<Value>) {
    match term {
        Term::True => out.push(serde_json::json!([1, "=", 1])),
        Term::False => out.push(serde_json::json!([0, "=", 1])),
        Term::And(terms) | Term::Or(terms) => {
            let op = if matches!(term, Term::And(_)) {
                "&"
            } else {
                "|"
            };
            match terms.len() {
                0 if op == "&" => term_json(&Term::True, out),
                0 => term_json(&Term::False, out),
                n => out.extend((1..n).map(|_| Value::from(op))),
            }
            for term in terms {
                term_json(term, out);
            }
        }
        Term::Not(a) => {
            out.push(Value::from("!"));
            term_json(a, out);
        }
        Term::Leaf(leaf) => out.push(serde_json::json!([leaf.field, leaf.operator, leaf.value])),
        // The restriction is the searching user's, and the active test
        // the search's, not part of the domain.
        Term::Restricted(inner, _) | Term::ActiveTest(inner) => term_json(inner, out),
    }
}
