//! Odoo's `read_group`: aggregates grouped by fields, dates by day, week,
//! month, quarter or year.
//!
//! Dates are ISO text on both engines, so SQL groups them by a prefix
//! (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`) and weeks and quarters are merged from
//! days and months here: the same code gives the same groups everywhere.

use std::collections::BTreeMap;

use pulse_schema::FieldType;
use serde_json::{Map, Value, json};
use sqlx::Row;

use crate::domain::Domain;
use crate::error::OrmError;
use crate::records::Orm;
use crate::registry::{FieldDef, ModelDef};
use crate::sql::Connection;
use crate::values::{SqlValue, bind, from_row};

/// Date granularities of `groupby` (`"date:month"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Granularity {
    fn parse(text: &str) -> Option<Granularity> {
        Some(match text {
            "day" => Granularity::Day,
            "week" => Granularity::Week,
            "month" => Granularity::Month,
            "quarter" => Granularity::Quarter,
            "year" => Granularity::Year,
            _ => return None,
        })
    }

    /// How many leading characters of the ISO date SQL groups by.
    fn prefix(self) -> usize {
        match self {
            Granularity::Day | Granularity::Week => 10,
            Granularity::Month | Granularity::Quarter => 7,
            Granularity::Year => 4,
        }
    }
}

/// One `groupby` entry.
struct GroupBy<'a> {
    spec: String,
    field: &'a FieldDef,
    granularity: Option<Granularity>,
}

/// One aggregate: `name:function` (or a numeric field's default, `sum`).
struct Aggregate<'a> {
    name: String,
    field: &'a FieldDef,
    function: &'static str,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// ISO week label `W05 2026` of a `YYYY-MM-DD` date.
pub fn iso_week(date: &str) -> Option<String> {
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: i64 = date.get(5..7)?.parse().ok()?;
    let d: i64 = date.get(8..10)?.parse().ok()?;
    // Days since 1970-01-01 (civil-from-days inverse), then ISO weekday.
    let days = |y: i64, m: i64, d: i64| {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    };
    let n = days(y, m, d);
    let weekday = (n + 3).rem_euclid(7) + 1; // Monday = 1
    let thursday = n - weekday + 4;
    let year_of = |n: i64| {
        // The civil year containing day n.
        let mut year = 1970 + n.div_euclid(366);
        while days(year + 1, 1, 1) <= n {
            year += 1;
        }
        while days(year, 1, 1) > n {
            year -= 1;
        }
        year
    };
    let iso_year = year_of(thursday);
    let week = (thursday - days(iso_year, 1, 1)) / 7 + 1;
    Some(format!("W{week:02} {iso_year}"))
}

/// The group key and label of a date prefix at a granularity. Stored text
/// that is no calendar date (a month 13 written before dates were checked,
/// text put in by hand) groups under itself rather than failing the request.
pub fn date_group(prefix: &str, granularity: Granularity) -> (String, String) {
    let raw = || (prefix.to_string(), prefix.to_string());
    let month_name = prefix
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.checked_sub(1)?));
    let year = prefix
        .get(0..4)
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()));
    match granularity {
        Granularity::Day => match (crate::values::calendar_date(prefix), month_name, year) {
            (Some(_), Some(month), Some(year)) => {
                let label = format!("{} {} {year}", &prefix[8..10], &month[..3]);
                (prefix.to_string(), label)
            }
            _ => raw(),
        },
        Granularity::Week => {
            match crate::values::calendar_date(prefix).and_then(|_| iso_week(prefix)) {
                // Sortable key: ISO year then week.
                Some(label) => (format!("{}-{}", &label[4..], &label[1..3]), label),
                None => raw(),
            }
        }
        Granularity::Month => match (month_name, year) {
            (Some(month), Some(year)) => (prefix.to_string(), format!("{month} {year}")),
            _ => raw(),
        },
        Granularity::Quarter => match (month_name, year, prefix.get(5..7)) {
            (Some(_), Some(year), Some(m)) => {
                let q = (m.parse::<usize>().unwrap_or(1) - 1) / 3 + 1;
                (format!("{year}-Q{q}"), format!("Q{q} {year}"))
            }
            _ => raw(),
        },
        Granularity::Year => match year {
            Some(year) => (year.to_string(), year.to_string()),
            None => raw(),
        },
    }
}

impl Orm {
    /// Odoo's `read_group(domain, fields, groupby, offset, limit, orderby, lazy)`.
    /// `fields` name aggregates (`"amount:sum"`, `"amount"` for a numeric
    /// field's sum, `"id:count"`); `groupby` fields, dates with a granularity
    /// (`"date:month"`). With `lazy`, only the first `groupby` is used and the
    /// count is `<groupby>_count`, as in Odoo.
    #[allow(clippy::too_many_arguments)]
    pub async fn read_group(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
        fields: &[String],
        groupby: &[String],
        offset: usize,
        limit: Option<usize>,
        lazy: bool,
    ) -> Result<Vec<Map<String, Value>>, OrmError> {
        let model_def = self.registry().require(model)?.clone();
        let groupby: Vec<&String> = if lazy {
            groupby.iter().take(1).collect()
        } else {
            groupby.iter().collect()
        };
        let groups = groupby
            .iter()
            .map(|spec| parse_groupby(&model_def, spec))
            .collect::<Result<Vec<_>, _>>()?;
        let aggregates = parse_aggregates(&model_def, fields, &groups)?;

        let mut params: Vec<SqlValue> = Vec::new();
        let condition = domain.to_sql(self.registry(), &model_def, self.dialect(), &mut params)?;
        let mut select = Vec::new();
        for g in &groups {
            let column = format!("\"{}\"", g.field.name());
            select.push(match g.granularity {
                Some(gr) => format!("SUBSTR({column}, 1, {})", gr.prefix()),
                None => column,
            });
        }
        let keys = select.len();
        select.push("COUNT(*)".into());
        // Sums as floats: PostgreSQL sums integers into NUMERIC.
        let float = self.dialect().column_type(FieldType::Float);
        for a in &aggregates {
            let column = format!("\"{}\"", a.field.name());
            // Averages are merged from sums and counts, so every engine agrees.
            select.push(match a.function {
                "avg" => format!("CAST(SUM({column}) AS {float}), COUNT({column})"),
                "sum" => format!("CAST(SUM({column}) AS {float})"),
                "count" => format!("COUNT({column})"),
                f => format!("{}({column})", f.to_uppercase()),
            });
        }
        let group_sql = if keys > 0 {
            format!(
                " GROUP BY {}",
                (1..=keys)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {} FROM \"{}\" WHERE {condition}{group_sql}",
            select.join(", "),
            model_def.table
        );
        let mut query = sqlx::query(&sql);
        for p in params {
            query = bind(query, p);
        }
        let rows = query.fetch_all(&mut *conn).await?;

        // Merge SQL groups into the requested ones (weeks, quarters).
        #[derive(Default)]
        struct Acc {
            values: Vec<Value>,
            count: i64,
            sums: Vec<f64>,
            counts: Vec<i64>,
            mins: Vec<Option<Value>>,
        }
        let mut merged: BTreeMap<Vec<String>, Acc> = BTreeMap::new();
        for row in &rows {
            let mut sort_key = Vec::with_capacity(keys);
            let mut values = Vec::with_capacity(keys);
            for (i, g) in groups.iter().enumerate() {
                let value = match g.granularity {
                    Some(gr) => match row.try_get::<Option<String>, _>(i)? {
                        Some(prefix) => {
                            let (key, label) = date_group(&prefix, gr);
                            sort_key.push(format!("1{key}"));
                            Value::String(label)
                        }
                        None => {
                            sort_key.push("2".into());
                            Value::Bool(false)
                        }
                    },
                    None => {
                        let v = from_row(row, i, g.field)?;
                        sort_key.push(sort_text(&v));
                        v
                    }
                };
                values.push(value);
            }
            let acc = merged.entry(sort_key).or_insert_with(|| Acc {
                values,
                sums: vec![0.0; aggregates.len()],
                counts: vec![0; aggregates.len()],
                mins: vec![None; aggregates.len()],
                ..Acc::default()
            });
            acc.count += row.try_get::<i64, _>(keys)?;
            let mut column = keys + 1;
            for (i, a) in aggregates.iter().enumerate() {
                match a.function {
                    "avg" => {
                        acc.sums[i] += number(row, column)?;
                        acc.counts[i] += row.try_get::<i64, _>(column + 1)?;
                        column += 2;
                    }
                    "count" => {
                        acc.counts[i] += row.try_get::<i64, _>(column)?;
                        column += 1;
                    }
                    "sum" => {
                        acc.sums[i] += number(row, column)?;
                        column += 1;
                    }
                    function => {
                        let v = from_row(row, column, a.field)?;
                        let better = match (&acc.mins[i], &v) {
                            (_, Value::Bool(false)) => false,
                            (None, _) => true,
                            (Some(current), v) => {
                                let ord = compare(v, current);
                                if function == "min" {
                                    ord.is_lt()
                                } else {
                                    ord.is_gt()
                                }
                            }
                        };
                        if better {
                            acc.mins[i] = Some(v);
                        }
                        column += 1;
                    }
                }
            }
        }

        let count_key = match (lazy, groups.first()) {
            (true, Some(g)) => format!("{}_count", g.field.name()),
            _ => "__count".into(),
        };
        // Display names of many2one groups: one query per related model.
        let mut names: Vec<std::collections::HashMap<i64, String>> =
            Vec::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            let mut map = std::collections::HashMap::new();
            if g.field.ttype() == FieldType::Many2one {
                let ids: Vec<i64> = merged
                    .values()
                    .filter_map(|acc| acc.values[i].as_i64())
                    .collect();
                let relation = g.field.spec.relation.as_deref().unwrap_or_default();
                if !ids.is_empty() {
                    map = self.display_names(conn, relation, &ids).await?;
                }
            }
            names.push(map);
        }
        let mut out = Vec::with_capacity(merged.len());
        for acc in merged.into_values() {
            let mut group = Map::new();
            let mut group_domain = Vec::new();
            for ((g, value), names) in groups.iter().zip(&acc.values).zip(&names) {
                let value = match (g.field.ttype(), value.as_i64()) {
                    (FieldType::Many2one, Some(id)) => {
                        json!([id, names.get(&id).cloned().unwrap_or_default()])
                    }
                    _ => value.clone(),
                };
                if g.granularity.is_none() {
                    let raw = match &value {
                        Value::Array(pair) => pair[0].clone(),
                        v => v.clone(),
                    };
                    group_domain.push(json!([g.field.name(), "=", raw]));
                }
                group.insert(g.spec.clone(), value);
            }
            group.insert(count_key.clone(), json!(acc.count));
            for (i, a) in aggregates.iter().enumerate() {
                let value = match a.function {
                    "sum" if a.field.ttype() == FieldType::Integer => json!(acc.sums[i] as i64),
                    "sum" => json!(acc.sums[i]),
                    "count" => json!(acc.counts[i]),
                    "avg" if acc.counts[i] > 0 => json!(acc.sums[i] / acc.counts[i] as f64),
                    "avg" => Value::Bool(false),
                    _ => acc.mins[i].clone().unwrap_or(Value::Bool(false)),
                };
                group.insert(a.name.clone(), value);
            }
            group.insert("__domain".into(), Value::Array(group_domain));
            out.push(group);
        }
        let end = limit.map_or(out.len(), |l| (offset + l).min(out.len()));
        Ok(out
            .into_iter()
            .skip(offset)
            .take(end.saturating_sub(offset))
            .collect())
    }
}

fn parse_groupby<'a>(model: &'a ModelDef, spec: &str) -> Result<GroupBy<'a>, OrmError> {
    let (name, granularity) = match spec.split_once(':') {
        Some((name, g)) => {
            let g = Granularity::parse(g).ok_or_else(|| {
                OrmError::value(format!(
                    "Invalid date granularity '{g}' in groupby '{spec}'"
                ))
            })?;
            (name, Some(g))
        }
        None => (spec, None),
    };
    let field = model.require_field(name)?;
    if !field.has_column() {
        let kind = if field.spec.related.is_some() {
            "related"
        } else {
            field.ttype().as_str()
        };
        return Err(OrmError::value(format!(
            "Cannot group by '{name}': it is a {kind} field, not stored"
        )));
    }
    let is_date = matches!(field.ttype(), FieldType::Date | FieldType::Datetime);
    if granularity.is_some() && !is_date {
        return Err(OrmError::value(format!(
            "Field '{name}' is not a date: it cannot be grouped by '{spec}'"
        )));
    }
    let granularity = granularity.or(is_date.then_some(Granularity::Month));
    Ok(GroupBy {
        spec: spec.to_string(),
        field,
        granularity,
    })
}

fn parse_aggregates<'a>(
    model: &'a ModelDef,
    fields: &[String],
    groups: &[GroupBy<'a>],
) -> Result<Vec<Aggregate<'a>>, OrmError> {
    let mut out = Vec::new();
    for spec in fields {
        let (name, function) = match spec.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (spec.as_str(), None),
        };
        if name == "__count"
            || groups
                .iter()
                .any(|g| g.field.name() == name || g.spec == *spec)
        {
            continue;
        }
        let field = model.require_field(name)?;
        if !field.has_column() {
            return Err(OrmError::value(format!(
                "Cannot aggregate '{name}': it is not stored"
            )));
        }
        let numeric = matches!(
            field.ttype(),
            FieldType::Integer | FieldType::Float | FieldType::Monetary
        );
        let function = match function {
            Some("sum") => "sum",
            Some("avg") => "avg",
            Some("min") => "min",
            Some("max") => "max",
            Some("count") => "count",
            Some(other) => {
                return Err(OrmError::value(format!(
                    "Invalid aggregate function '{other}' in '{spec}'"
                )));
            }
            // Like Odoo, fields without an aggregate are left out, numbers are summed.
            None if numeric => "sum",
            None => continue,
        };
        if matches!(function, "sum" | "avg") && !numeric {
            return Err(OrmError::value(format!(
                "Cannot {function} the non-numeric field '{name}'"
            )));
        }
        out.push(Aggregate {
            name: name.to_string(),
            field,
            function,
        });
    }
    Ok(out)
}

/// A SUM that may be NULL, an integer or a float depending on the engine.
fn number(row: &sqlx::any::AnyRow, index: usize) -> Result<f64, sqlx::Error> {
    match row.try_get::<Option<f64>, _>(index) {
        Ok(v) => Ok(v.unwrap_or(0.0)),
        Err(_) => Ok(row.try_get::<Option<i64>, _>(index)?.unwrap_or(0) as f64),
    }
}

/// A text that sorts group values as Odoo orders them: empty last.
fn sort_text(value: &Value) -> String {
    match value {
        Value::Bool(false) | Value::Null => "2".into(),
        Value::Number(n) => match n.as_i64() {
            // Offset into the unsigned range so text order is numeric order.
            Some(i) => format!("1i{:020}", (i as i128 + (1i128 << 63)) as u128),
            None => {
                let bits = n.as_f64().unwrap_or_default().to_bits();
                let key = if bits >> 63 == 1 {
                    !bits
                } else {
                    bits | (1 << 63)
                };
                format!("1f{key:016x}")
            }
        },
        Value::String(s) => format!("1{s}"),
        other => format!("1{other}"),
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}
