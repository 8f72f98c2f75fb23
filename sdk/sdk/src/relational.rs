//! Relational field types: `Many2one<M>`, `One2many<M>` and `Many2many<M>`.
//! The field's kind and its `relation` come from the type (`M::NAME`), so
//! `#[field(kind = "many2one", relation = "…")]` is only needed for a model
//! whose Rust type the addon does not have (another addon's model).

use std::fmt;
use std::marker::PhantomData;

use pulse_schema::FieldType;
use serde_json::{Value, json};

use crate::domain::{Domain, Field};
use crate::field::{FieldValue, IntoField};
use crate::{Model, ModelFields};

/// A many2one: the id of one record of `M`. Use `Option<Many2one<M>>` for
/// a link that may be empty; a bare `Many2one<M>` makes the field required.
pub struct Many2one<M> {
    id: i64,
    _model: PhantomData<fn() -> M>,
}

impl<M> Many2one<M> {
    /// The link to the record `id`.
    pub fn new(id: i64) -> Self {
        Many2one {
            id,
            _model: PhantomData,
        }
    }

    /// The linked record's id.
    pub fn id(&self) -> i64 {
        self.id
    }
}

// Written by hand: a derive would ask `M` for the traits too.
impl<M> Clone for Many2one<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for Many2one<M> {}
impl<M> PartialEq for Many2one<M> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<M> Eq for Many2one<M> {}
impl<M> fmt::Debug for Many2one<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Many2one({})", self.id)
    }
}
impl<M> From<Many2one<M>> for i64 {
    fn from(link: Many2one<M>) -> i64 {
        link.id
    }
}

impl<M: Model> FieldValue for Many2one<M> {
    type Path = Related<M>;
    fn path(path: String) -> Related<M> {
        Related::new(path)
    }
    const TYPE: FieldType = FieldType::Many2one;
    const NON_EMPTY: bool = true;
    const RELATION: Option<&'static str> = Some(M::NAME);
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .map(Many2one::new)
                .ok_or_else(|| format!("expected a record id, got {n}")),
            // Odoo reads a many2one as `[id, display name]`.
            Value::Array(pair) if pair.len() == 2 => pair[0]
                .as_i64()
                .map(Many2one::new)
                .ok_or_else(|| format!("expected a record id, got {value}")),
            Value::Bool(false) | Value::Null => Err(format!(
                "no {} record is set; read the field as Option<Many2one<…>>",
                M::NAME
            )),
            other => Err(format!("expected a record id, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::from(self.id)
    }
}

impl<M: Model> IntoField<Many2one<M>> for i64 {
    fn into_field(self) -> Many2one<M> {
        Many2one::new(self)
    }
}

impl<M: Model> IntoField<Option<Many2one<M>>> for i64 {
    fn into_field(self) -> Option<Many2one<M>> {
        Some(Many2one::new(self))
    }
}

impl<M: Model> IntoField<Option<Many2one<M>>> for Option<i64> {
    fn into_field(self) -> Option<Many2one<M>> {
        self.map(Many2one::new)
    }
}

macro_rules! x2many {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        pub struct $name<M> {
            ids: Vec<i64>,
            _model: PhantomData<fn() -> M>,
        }

        impl<M> $name<M> {
            /// The records `ids`.
            pub fn new(ids: impl Into<Vec<i64>>) -> Self {
                $name { ids: ids.into(), _model: PhantomData }
            }

            /// The linked records' ids.
            pub fn ids(&self) -> &[i64] {
                &self.ids
            }
        }

        impl<M> Default for $name<M> {
            fn default() -> Self {
                $name::new(Vec::new())
            }
        }
        impl<M> Clone for $name<M> {
            fn clone(&self) -> Self {
                $name::new(self.ids.clone())
            }
        }
        impl<M> PartialEq for $name<M> {
            fn eq(&self, other: &Self) -> bool {
                self.ids == other.ids
            }
        }
        impl<M> Eq for $name<M> {}
        impl<M> fmt::Debug for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.ids)
            }
        }
        impl<M> From<$name<M>> for Vec<i64> {
            fn from(links: $name<M>) -> Vec<i64> {
                links.ids
            }
        }

        impl<M: Model> FieldValue for $name<M> {
            type Path = Related<M>;
            fn path(path: String) -> Related<M> {
                Related::new(path)
            }
            const TYPE: FieldType = FieldType::$kind;
            const RELATION: Option<&'static str> = Some(M::NAME);
            fn from_json(value: &Value) -> Result<Self, String> {
                Vec::<i64>::from_json(value).map($name::new)
            }
            /// Odoo's "replace" command `[[6, 0, ids]]`.
            fn to_json(&self) -> Value {
                json!([[6, 0, self.ids]])
            }
        }

        impl<M: Model> IntoField<$name<M>> for Vec<i64> {
            fn into_field(self) -> $name<M> {
                $name::new(self)
            }
        }

        impl<M: Model> IntoField<$name<M>> for &[i64] {
            fn into_field(self) -> $name<M> {
                $name::new(self.to_vec())
            }
        }
    };
}

x2many!(
    /// A one2many: the records of `M` whose many2one (the field's
    /// `inverse`) points here. Writing it replaces the set.
    One2many,
    One2many
);
x2many!(
    /// A many2many: a set of records of `M`. Writing it replaces the set.
    Many2many,
    Many2many
);

/// A path to a relational field in a typed domain: compare it with ids,
/// or reach the related model's fields through it
/// (`Line::fields().move_id().state()` is `move_id.state`).
pub struct Related<M: Model> {
    field: Field<i64>,
    fields: M::Fields,
}

impl<M: Model> Related<M> {
    fn new(path: String) -> Self {
        let fields = M::Fields::with_prefix(format!("{path}."));
        Related {
            field: Field::new(path),
            fields,
        }
    }

    /// The dotted path, e.g. `move_id`.
    pub fn path(&self) -> &str {
        self.field.path()
    }

    /// Points to the record `id` (for an x2many: contains it).
    #[allow(clippy::should_implement_trait)]
    pub fn eq(&self, id: i64) -> Domain {
        self.field.eq(id)
    }

    /// Does not point to the record `id`.
    pub fn ne(&self, id: i64) -> Domain {
        self.field.ne(id)
    }

    /// Points to one of the records `ids`.
    pub fn is_in(&self, ids: impl IntoIterator<Item = i64>) -> Domain {
        self.field.is_in(ids)
    }

    /// Points to none of the records `ids`.
    pub fn not_in(&self, ids: impl IntoIterator<Item = i64>) -> Domain {
        self.field.not_in(ids)
    }

    /// The related record's display name contains `text`, any case.
    pub fn ilike(&self, text: &str) -> Domain {
        self.field.ilike(text)
    }

    /// Points to some record.
    pub fn is_set(&self) -> Domain {
        self.field.is_set()
    }

    /// Points to no record.
    pub fn is_not_set(&self) -> Domain {
        self.field.is_not_set()
    }
}

impl<M: Model> std::ops::Deref for Related<M> {
    type Target = M::Fields;
    fn deref(&self) -> &M::Fields {
        &self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ModelSpec, Result};
    use serde_json::Map;

    /// A model by hand, as the derive would make it (the derive names
    /// `::pulse_sdk`, which this crate cannot).
    struct Partner;
    struct PartnerFields(String);
    impl PartnerFields {
        fn name(&self) -> Field<String> {
            Field::new(format!("{}name", self.0))
        }
    }
    impl ModelFields for PartnerFields {
        fn with_prefix(prefix: String) -> Self {
            PartnerFields(prefix)
        }
    }
    impl Model for Partner {
        const NAME: &'static str = "res.partner";
        type Create = crate::RawValues;
        type Write = crate::RawValues;
        type Fields = PartnerFields;
        fn spec() -> ModelSpec {
            unimplemented!("not needed here")
        }
        fn field_names() -> Vec<&'static str> {
            Vec::new()
        }
        fn from_record(_record: &Map<String, Value>) -> Result<Self> {
            Ok(Partner)
        }
    }

    #[test]
    fn a_many2one_reads_odoo_pairs_and_refuses_the_rest() {
        type Link = Many2one<Partner>;
        assert_eq!(Link::from_json(&json!([7, "Ana"])).unwrap().id(), 7);
        assert_eq!(Link::from_json(&json!(7)).unwrap(), Link::new(7));
        assert!(
            Link::from_json(&json!(false))
                .unwrap_err()
                .contains("res.partner")
        );
        assert!(Link::from_json(&json!("7")).is_err());
        assert!(Link::from_json(&json!([[1], "x"])).is_err());
        assert_eq!(Option::<Link>::from_json(&json!(false)).unwrap(), None);
        assert_eq!(Link::new(7).to_json(), json!(7));
        assert_eq!(<Option<Link> as FieldValue>::RELATION, Some("res.partner"));
        const { assert!(<Link as FieldValue>::NON_EMPTY && !<Option<Link> as FieldValue>::NON_EMPTY) };
    }

    #[test]
    fn x2many_fields_read_ids_and_write_a_replace_command() {
        let tags = Many2many::<Partner>::from_json(&json!([3, 1])).unwrap();
        assert_eq!(tags.ids(), [3, 1]);
        assert_eq!(tags.to_json(), json!([[6, 0, [3, 1]]]));
        assert!(One2many::<Partner>::from_json(&json!(["x"])).is_err());
        assert_eq!(<One2many<Partner> as FieldValue>::TYPE, FieldType::One2many);
    }

    #[test]
    fn a_relation_path_reaches_the_related_fields() {
        let parent = <Option<Many2one<Partner>> as FieldValue>::path("parent_id".into());
        assert_eq!(parent.eq(3).to_json(), r#"[["parent_id","=",3]]"#);
        assert_eq!(
            parent.name().ilike("ana").to_json(),
            r#"[["parent_id.name","ilike","ana"]]"#
        );
        let grandparent = Related::<Partner>::new("parent_id.parent_id".into());
        assert_eq!(
            grandparent.is_not_set().to_json(),
            r#"[["parent_id.parent_id","=",false]]"#
        );
    }
}
