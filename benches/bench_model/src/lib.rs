//! The addon the lifecycle benchmark installs twenty times: one model with
//! a few fields, named at compile time by `PULSE_BENCH_MODEL` so that each
//! build is a distinct addon.

use pulse_sdk::{FieldSpec, FieldType, Map, Model, ModelSpec, RawValues, Result, Value};

/// The model name this build describes.
const MODEL: &str = match option_env!("PULSE_BENCH_MODEL") {
    Some(name) => name,
    None => "bench.model",
};

/// A record with a handful of typical fields.
pub struct Record;

fn field(name: &str, ttype: FieldType) -> FieldSpec {
    FieldSpec::new(name, ttype)
}

impl Model for Record {
    const NAME: &'static str = MODEL;
    type Create = RawValues;
    type Write = RawValues;
    type Fields = ();

    fn spec() -> ModelSpec {
        ModelSpec {
            name: MODEL.into(),
            description: "Benchmark record".into(),
            fields: vec![
                field("name", FieldType::Char),
                field("amount", FieldType::Float),
                field("quantity", FieldType::Integer),
                field("active", FieldType::Boolean),
                field("date", FieldType::Date),
                field("notes", FieldType::Text),
            ],
            extends: false,
            checks: Vec::new(),
        }
    }

    fn field_names() -> Vec<&'static str> {
        vec!["name", "amount", "quantity", "active", "date", "notes"]
    }

    fn from_record(_record: &Map<String, Value>) -> Result<Self> {
        Ok(Record)
    }
}

pulse_sdk::addon! {
    models: [Record],
}
