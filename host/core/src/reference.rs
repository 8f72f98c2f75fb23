//! Reference data every database has, as Odoo's `base` ships it:
//! currencies, countries and their states, languages (`reference/*.csv`,
//! Odoo's CSV data-file layout: an `id` column with the external id in
//! `base`, one column per field, `field:id` columns naming another record
//! by external id). Records are created once, `noupdate` (what an admin
//! changes stays); records added to the files later are created at the
//! next start. Also the host's compute methods of `res.currency`.

use std::collections::BTreeMap;

use pulse_orm::{Connection, Orm, OrmError, Record, ledger};
use pulse_schema::FieldType;
use serde_json::{Value, json};

use crate::Error;

/// The files, in load order (a file's references point at earlier ones).
/// Currencies come first: the main company is made in their currency.
const CURRENCIES: (&str, &str) = ("res.currency", include_str!("reference/res.currency.csv"));
const FILES: [(&str, &str); 3] = [
    ("res.country", include_str!("reference/res.country.csv")),
    (
        "res.country.state",
        include_str!("reference/res.country.state.csv"),
    ),
    ("res.lang", include_str!("reference/res.lang.csv")),
];

/// Loads the currencies of the reference data that the database lacks.
#[crate::boxed]
pub async fn load_currencies(conn: &mut Connection, orm: &Orm, module: &str) -> Result<(), Error> {
    let created = load_file(conn, orm, module, CURRENCIES.0, CURRENCIES.1).await?;
    if !created.is_empty() {
        let values = compute_currencies(conn, &created).await?;
        for (id, fields) in values {
            sqlx::query("UPDATE res_currency SET rate = $1, decimal_places = $2 WHERE id = $3")
                .bind(fields["rate"].as_f64().unwrap_or(1.0))
                .bind(fields["decimal_places"].as_i64().unwrap_or(2))
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Loads the countries, states and languages the database lacks.
#[crate::boxed]
pub async fn load(conn: &mut Connection, orm: &Orm, module: &str) -> Result<(), Error> {
    for (model, text) in FILES {
        load_file(conn, orm, module, model, text).await?;
    }
    Ok(())
}

/// Creates the records of one file whose external ids the ledger does not
/// know yet; answers their ids.
async fn load_file(
    conn: &mut Connection,
    orm: &Orm,
    module: &str,
    model: &str,
    text: &str,
) -> Result<Vec<i64>, Error> {
    let bad = |message: String| Error::Lifecycle(format!("reference data of {model}: {message}"));
    let rows = parse_csv(text).map_err(bad)?;
    let Some((header, rows)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    let known: BTreeMap<String, i64> = ledger::named_external_ids_of_model(conn, model)
        .await?
        .into_iter()
        .collect();
    let model_def = orm.registry().require(model)?;
    let mut references: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut names = Vec::new();
    let mut records = Vec::new();
    for row in rows {
        let mut name = None;
        let mut record = Record::new();
        for (column, cell) in header.iter().zip(row) {
            if column == "id" {
                name = Some(cell.strip_prefix("base.").unwrap_or(cell).to_string());
                continue;
            }
            if cell.is_empty() {
                continue;
            }
            let (field_name, by_xmlid) = match column.strip_suffix(":id") {
                Some(field) => (field, true),
                None => (column.as_str(), false),
            };
            let field = model_def.require_field(field_name)?;
            let value = if by_xmlid {
                let target = field
                    .spec
                    .relation
                    .clone()
                    .ok_or_else(|| bad(format!("{column} is no relational field")))?;
                if !references.contains_key(&target) {
                    let ids = ledger::named_external_ids_of_model(conn, &target).await?;
                    references.insert(target.clone(), ids.into_iter().collect());
                }
                let full = if cell.contains('.') {
                    cell.clone()
                } else {
                    format!("{module}.{cell}")
                };
                let id = references[&target]
                    .get(&full)
                    .ok_or_else(|| bad(format!("{column} {cell:?} names no record")))?;
                json!(id)
            } else {
                typed(field.ttype(), cell).map_err(|e| bad(format!("{column}: {e}")))?
            };
            record.insert(field_name.to_string(), value);
        }
        let name = name.ok_or_else(|| bad("a row has no id".into()))?;
        if !known.contains_key(&format!("{module}.{name}")) {
            names.push(name);
            records.push(record);
        }
    }
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let ids = orm.create(conn, model, &records).await?;
    // The reference records are the user's once made, as Odoo's
    // `noupdate` base data.
    let named: Vec<(&str, i64)> = names
        .iter()
        .map(String::as_str)
        .zip(ids.iter().copied())
        .collect();
    ledger::add_external_ids(conn, module, model, &named, true).await?;
    tracing::debug!(model, created = ids.len(), "reference data loaded");
    Ok(ids)
}

/// A CSV cell as the value of a field of type `ttype`.
fn typed(ttype: FieldType, cell: &str) -> Result<Value, String> {
    Ok(match ttype {
        FieldType::Integer => json!(
            cell.parse::<i64>()
                .map_err(|_| format!("{cell:?} is no integer"))?
        ),
        FieldType::Float | FieldType::Monetary => json!(
            cell.parse::<f64>()
                .map_err(|_| format!("{cell:?} is no number"))?
        ),
        FieldType::Boolean => match cell {
            "True" | "true" | "1" => json!(true),
            "False" | "false" | "0" => json!(false),
            _ => return Err(format!("{cell:?} is no boolean")),
        },
        _ => json!(cell),
    })
}

/// The rows of a CSV text, the header first, read by the `csv` crate
/// (RFC 4180 quoting; a row of another width than the first is an error).
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|row| {
            row.map(|row| row.iter().map(str::to_string).collect())
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The values of `res.currency`'s computed fields for the currencies
/// `ids`: `rate`, the latest rate dated today or earlier (1.0 without
/// one), and `decimal_places`, from the rounding factor (0.01: 2).
async fn compute_currencies(
    conn: &mut Connection,
    ids: &[i64],
) -> Result<Vec<(i64, Record)>, OrmError> {
    let today = crate::utc::format_utc(crate::utc::now())[..10].to_string();
    let mut values = Vec::with_capacity(ids.len());
    for &id in ids {
        let rate: Option<f64> = sqlx::query_scalar(
            "SELECT rate FROM res_currency_rate WHERE currency_id = $1 AND name <= $2 \
             ORDER BY name DESC, id DESC LIMIT 1",
        )
        .bind(id)
        .bind(&today)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
        let rounding: Option<f64> =
            sqlx::query_scalar("SELECT rounding FROM res_currency WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
        let mut record = Record::new();
        record.insert("rate".into(), json!(rate.unwrap_or(1.0)));
        record.insert(
            "decimal_places".into(),
            json!(decimal_places(rounding.unwrap_or(0.01))),
        );
        values.push((id, record));
    }
    Ok(values)
}

/// Odoo's `decimal_places`: how many decimals a rounding factor keeps
/// (0.01: 2, 1.0: 0, 0.05: 2).
fn decimal_places(rounding: f64) -> i64 {
    if rounding <= 0.0 || rounding >= 1.0 {
        return 0;
    }
    // Less a hair: 0.01's logarithm is not exactly -2 in binary.
    (-rounding.log10() - 1e-9).ceil().max(0.0) as i64
}

/// `res.currency`'s compute methods, answered by the host (see
/// `model_methods`): `[[id, {field: value}], …]` as an addon's would.
#[crate::boxed]
pub async fn compute_currency_fields(
    conn: &mut Connection,
    method: &str,
    ids: &[i64],
) -> Result<Value, OrmError> {
    let field = match method {
        "_compute_current_rate" => "rate",
        _ => "decimal_places",
    };
    Ok(Value::Array(
        compute_currencies(conn, ids)
            .await?
            .into_iter()
            .map(|(id, record)| json!([id, record[field]]))
            .collect(),
    ))
}
