//! JSON-RPC parameters: a `/web/dataset/call_kw` or `/jsonrpc` body taken
//! apart as the server does (JSON, `params`, model, method, ids, args,
//! kwargs), then what a call turns into SQL without a database: the values
//! of `create`/`write` converted for their fields, the domain compiled on
//! both engines and the `order` parsed, against a small registry (an
//! unknown model stands for `res.partner`, so any body reaches them).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::{on_worker_stack, registry};
use pulse_orm::fuzzing::{order_by, value_to_sql};
use pulse_orm::{Dialect, Domain};
use pulse_api::fuzzing::{call_kw_arguments, jsonrpc_arguments};
use pulse_core::fuzzing::argument;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    on_worker_stack(|| {
        let _ = jsonrpc_arguments(data);
        let Ok((model, method, _ids, args, kwargs)) = call_kw_arguments(data) else {
            return;
        };
        let registry = registry();
        let model = registry
            .get(&model)
            .or_else(|| registry.get("res.partner"))
            .expect("res.partner is in the registry");
        let records: Vec<&Map<String, Value>> = match method.as_str() {
            "create" => match argument(&args, &kwargs, 0, "vals_list") {
                Some(Value::Array(rows)) => rows.iter().filter_map(Value::as_object).collect(),
                Some(Value::Object(row)) => vec![row],
                _ => Vec::new(),
            },
            "write" => argument(&args, &kwargs, 0, "vals")
                .and_then(Value::as_object)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for record in records {
            for (name, value) in record {
                if let Some(field) = model.field(name).filter(|f| f.has_column()) {
                    let _ = value_to_sql(model, field, value);
                }
            }
        }
        if let Some(domain) = argument(&args, &kwargs, 0, "domain")
            && let Ok(domain) = Domain::parse(domain)
        {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let _ = domain.to_sql(registry, model, dialect, &mut Vec::new());
            }
        }
        if let Some(Value::String(order)) = kwargs.get("order") {
            let _ = order_by(model, Some(order));
        }
    });
});
