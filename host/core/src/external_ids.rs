//! `ir.model.data`'s methods RPC clients call on external ids: Odoo 19's
//! `check_object_reference(module, xml_id, raise_on_access_error=False)`,
//! answering `[model, res_id]`, or `[model, false]` when the caller may
//! not see the record. Odoo's `_xmlid_lookup` is private (Odoo refuses
//! RPC calls of methods starting with `_`, and so does Pulse); addons
//! resolve external ids in their data files (`{ ref = "module.name" }`).

use pulse_schema::Context;
use serde_json::{Map, Value, json};

use crate::Host;
use crate::failure::{Failure, Kind};

/// The longest external id echoed back in an error message.
const ECHOED: usize = 200;

/// The argument `position` or `name` of a call, if given.
fn argument<'a>(
    args: &'a [Value],
    kwargs: &'a Map<String, Value>,
    position: usize,
    name: &str,
) -> Option<&'a Value> {
    args.get(position).or_else(|| kwargs.get(name))
}

/// A value as Python's `%s` formats it, as Odoo builds `module.xml_id`.
fn formatted(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// `xmlid` for a message, cut short when it is huge.
fn echoed(xmlid: &str) -> String {
    match xmlid.char_indices().nth(ECHOED) {
        Some((at, _)) => format!("{}…", &xmlid[..at]),
        None => xmlid.to_string(),
    }
}

/// Odoo's `ir.model.data.check_object_reference` for the user `uid`.
#[crate::boxed]
pub async fn check_object_reference(
    host: &Host,
    uid: i64,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, Failure> {
    let missing = |name: &str| {
        Failure::new(
            Kind::TypeError,
            format!(
                "IrModelData.check_object_reference() missing 1 required positional argument: '{name}'"
            ),
        )
    };
    let module = argument(args, kwargs, 0, "module").ok_or_else(|| missing("module"))?;
    let xml_id = argument(args, kwargs, 1, "xml_id").ok_or_else(|| missing("xml_id"))?;
    let raise =
        argument(args, kwargs, 2, "raise_on_access_error").is_some_and(pulse_schema::is_truthy);
    let xmlid = format!("{}.{}", formatted(module), formatted(xml_id));
    let not_found = || {
        Failure::new(
            Kind::ValueError,
            format!("External ID not found in the system: {}", echoed(&xmlid)),
        )
    };
    // Odoo splits at the first dot: ("a.b", "c") names `b.c` of module `a`.
    let (owner, name) = xmlid.split_once('.').ok_or_else(not_found)?;
    host.refresh().await?;
    let mut conn = host.db.pool.acquire().await.map_err(crate::Error::from)?;
    let found = pulse_orm::ledger::external_id(&mut conn, owner, name)
        .await
        .map_err(crate::Error::from)?;
    drop(conn);
    let found = found.ok_or_else(not_found)?;
    if host.snapshot().registry.get(&found.model).is_none() {
        return Err(not_found());
    }
    // Visible to the caller: their access rights and record rules apply,
    // and archived records are not found, as Odoo's `search` does it.
    let visible = host
        .execute_kw(
            uid,
            &found.model,
            "search",
            vec![json!([["id", "=", found.res_id]])],
            Map::new(),
            Context::default(),
        )
        .await?;
    if visible.as_array().is_some_and(|ids| !ids.is_empty()) {
        return Ok(json!([found.model, found.res_id]));
    }
    if raise {
        return Err(Failure::new(
            Kind::AccessError,
            format!(
                "Not enough access rights on the external ID '{}'",
                echoed(&xmlid)
            ),
        ));
    }
    Ok(json!([found.model, false]))
}
