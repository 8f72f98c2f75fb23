//! Odoo's `read_group`: aggregates grouped by fields, dates by day, week,
//! month, quarter or year.
//!
//! Dates are ISO text on both engines, so SQL groups them by a prefix
//! (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`) and weeks and quarters are merged from
//! days and months here: the same code gives the same groups everywhere.

use std::collections::{BTreeMap, HashMap};

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
#[derive(Debug)]
struct GroupBy<'a> {
    spec: String,
    field: &'a FieldDef,
    granularity: Option<Granularity>,
}

/// One aggregate: `name:function` (or a numeric field's default, `sum`).
#[derive(Debug)]
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

/// What [`Orm::formatted_read_group`] groups and aggregates, and which
/// groups it answers: Odoo 19's `formatted_read_group(domain, groupby,
/// aggregates, having, offset, limit, order)` without the domain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grouping<'a> {
    /// Fields, dates with a granularity (`"date:month"`).
    pub groupby: &'a [String],
    /// `"__count"` and `"field:function"` (`"amount:sum"`).
    pub aggregates: &'a [String],
    /// Conditions on aggregates (`[["__count", ">", 1]]`), all of which a group meets.
    pub having: &'a [Value],
    /// Groups skipped.
    pub offset: usize,
    /// Groups answered at most.
    pub limit: Option<usize>,
    /// `"amount:sum desc, partner_id"`: group specifications or aggregates.
    pub order: Option<&'a str>,
}

/// The value one group has for one `groupby` entry.
#[derive(Debug, Clone)]
enum Key {
    /// A plain value (a many2one's id), or `false`.
    Value(Value),
    /// A period of a date: its first day (ISO), the first day after it, its label.
    Period {
        from: String,
        to: String,
        label: String,
    },
}

/// One group before it is formatted: its keys (one per `groupby`), its
/// record count and its aggregates (one per aggregate asked for).
struct Grouped {
    keys: Vec<Key>,
    count: i64,
    aggregates: Vec<Value>,
}

impl Orm {
    /// Odoo's `read_group(domain, fields, groupby, offset, limit, orderby, lazy)`.
    /// `fields` name aggregates (`"amount:sum"`, `"amount"` for a numeric
    /// field's sum, `"id:count"`); `groupby` fields, dates with a granularity
    /// (`"date:month"`). With `lazy`, only the first `groupby` is used, the
    /// count is `<groupby>_count` and `__context` names the rest, as in Odoo.
    /// `__domain` is `domain`'s own text and the group's condition.
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
        let shown = domain.source().clone();
        let grouping = Grouping {
            groupby,
            aggregates: fields,
            offset,
            limit,
            ..Grouping::default()
        };
        self.read_group_shown(conn, model, domain, &shown, &grouping, lazy)
            .await
    }

    /// [`Orm::read_group`], whose groups' `__domain` start from `shown` (the
    /// domain as the client gave it: `domain` may have been narrowed to
    /// what the user may see). `grouping.aggregates` are `read_group`'s `fields`.
    pub async fn read_group_shown(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
        shown: &Value,
        grouping: &Grouping<'_>,
        lazy: bool,
    ) -> Result<Vec<Map<String, Value>>, OrmError> {
        let model_def = self.registry().require(model)?.clone();
        let used = if lazy {
            &grouping.groupby[..grouping.groupby.len().min(1)]
        } else {
            grouping.groupby
        };
        let groups = used
            .iter()
            .map(|spec| parse_groupby(&model_def, spec))
            .collect::<Result<Vec<_>, _>>()?;
        let aggregates = parse_aggregates(&model_def, grouping.aggregates, &groups)?;
        let mut grouped = self
            .grouped(conn, &model_def, domain, &groups, &aggregates)
            .await?;
        let orderby: Vec<(String, bool)> = order_terms(grouping.order)?
            .into_iter()
            .map(|(spec, desc)| {
                // `read_group` orders aggregates by field name, as it answers them.
                let spec = match aggregates.iter().find(|a| a.name == spec) {
                    Some(a) => format!("{}:{}", a.name, a.function),
                    None => spec,
                };
                (spec, desc)
            })
            .collect();
        let specs: Vec<String> = aggregates
            .iter()
            .map(|a| format!("{}:{}", a.name, a.function))
            .collect();
        sort_groups(&mut grouped, &groups, &specs, &orderby)?;
        let names = self.many2one_names(conn, &groups, &grouped).await?;
        let count_key = match (lazy, groups.first()) {
            (true, Some(g)) => format!("{}_count", g.field.name()),
            _ => "__count".into(),
        };
        let rest: Vec<&String> = grouping.groupby.iter().skip(used.len()).collect();
        let out = grouped
            .into_iter()
            .skip(grouping.offset)
            .take(grouping.limit.unwrap_or(usize::MAX))
            .map(|group| {
                let mut out = Map::new();
                let mut ranges = Map::new();
                let mut conditions = Vec::new();
                for ((g, key), names) in groups.iter().zip(&group.keys).zip(&names) {
                    let value = match key {
                        Key::Period { from, to, label } => {
                            ranges.insert(g.spec.clone(), json!({"from": from, "to": to}));
                            Value::String(label.clone())
                        }
                        Key::Value(v) => many2one_pair(g, v, names),
                    };
                    conditions.push(key_domain(g, key));
                    out.insert(g.spec.clone(), value);
                }
                out.insert(count_key.clone(), json!(group.count));
                for (a, value) in aggregates.iter().zip(group.aggregates) {
                    out.insert(a.name.clone(), value);
                }
                conditions.insert(0, shown.clone());
                out.insert("__domain".into(), and_domains(&conditions));
                if !ranges.is_empty() {
                    out.insert("__range".into(), Value::Object(ranges));
                }
                if lazy && !rest.is_empty() {
                    out.insert("__context".into(), json!({ "group_by": rest }));
                }
                out
            })
            .collect();
        Ok(out)
    }

    /// Odoo 19's `formatted_read_group`: one dictionary per group with its
    /// `groupby` values (many2one `[id, display_name]`, dates `[first day,
    /// label]`), each aggregate under its specification (`"amount:sum"`,
    /// `"__count"`) and `__extra_domain`, the group's condition.
    pub async fn formatted_read_group(
        &self,
        conn: &mut Connection,
        model: &str,
        domain: &Domain,
        grouping: &Grouping<'_>,
    ) -> Result<Vec<Map<String, Value>>, OrmError> {
        let model_def = self.registry().require(model)?.clone();
        let groups = grouping
            .groupby
            .iter()
            .map(|spec| parse_groupby(&model_def, spec))
            .collect::<Result<Vec<_>, _>>()?;
        let mut specs: Vec<String> = Vec::new();
        for spec in grouping.aggregates {
            if !specs.contains(spec) {
                specs.push(spec.clone());
            }
        }
        let having = parse_having(grouping.having)?;
        for (spec, _, _) in &having {
            if !specs.contains(spec) {
                specs.push(spec.clone());
            }
        }
        let mut aggregates = Vec::new();
        for spec in specs.iter().filter(|s| *s != "__count") {
            aggregates.push(parse_aggregate_spec(&model_def, spec)?);
        }
        let mut grouped = self
            .grouped(conn, &model_def, domain, &groups, &aggregates)
            .await?;
        let computed: Vec<&String> = specs.iter().filter(|s| *s != "__count").collect();
        let value_of = |group: &Grouped, spec: &str| -> Value {
            if spec == "__count" {
                return json!(group.count);
            }
            computed
                .iter()
                .position(|s| *s == spec)
                .map_or(Value::Null, |i| group.aggregates[i].clone())
        };
        grouped.retain(|group| {
            having
                .iter()
                .all(|(spec, op, wanted)| meets(&value_of(group, spec), op, wanted))
        });
        let computed_specs: Vec<String> = computed.iter().map(|s| s.to_string()).collect();
        sort_groups(
            &mut grouped,
            &groups,
            &computed_specs,
            &order_terms(grouping.order)?,
        )?;
        let names = self.many2one_names(conn, &groups, &grouped).await?;
        let out = grouped
            .into_iter()
            .skip(grouping.offset)
            .take(grouping.limit.unwrap_or(usize::MAX))
            .map(|group| {
                let mut out = Map::new();
                let mut conditions = Vec::new();
                for ((g, key), names) in groups.iter().zip(&group.keys).zip(&names) {
                    let value = match key {
                        Key::Period { from, label, .. } => json!([from, label]),
                        Key::Value(v) => many2one_pair(g, v, names),
                    };
                    conditions.push(key_domain(g, key));
                    out.insert(g.spec.clone(), value);
                }
                for spec in grouping.aggregates {
                    out.insert(spec.clone(), value_of(&group, spec));
                }
                out.insert("__extra_domain".into(), and_domains(&conditions));
                out
            })
            .collect();
        Ok(out)
    }

    /// The groups of the records of `model_def` matching `domain`, in the
    /// order of their keys (empty last), with their counts and aggregates.
    async fn grouped(
        &self,
        conn: &mut Connection,
        model_def: &ModelDef,
        domain: &Domain,
        groups: &[GroupBy<'_>],
        aggregates: &[Aggregate<'_>],
    ) -> Result<Vec<Grouped>, OrmError> {
        let mut params: Vec<SqlValue> = Vec::new();
        let condition = domain.to_sql(self.registry(), model_def, self.dialect(), &mut params)?;
        let mut select = Vec::new();
        for g in groups {
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
        for a in aggregates {
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
        struct Acc {
            keys: Vec<Key>,
            count: i64,
            sums: Vec<f64>,
            counts: Vec<i64>,
            extremes: Vec<Option<Value>>,
        }
        let mut merged: BTreeMap<Vec<String>, Acc> = BTreeMap::new();
        for row in &rows {
            let mut sort_key = Vec::with_capacity(keys);
            let mut values = Vec::with_capacity(keys);
            for (i, g) in groups.iter().enumerate() {
                let key = match g.granularity {
                    Some(gr) => match row.try_get::<Option<String>, _>(i)? {
                        Some(prefix) => {
                            let period = period(&prefix, gr, g.field.ttype());
                            if let Key::Period { from, .. } = &period {
                                sort_key.push(format!("1{from}"));
                            }
                            period
                        }
                        None => {
                            sort_key.push("2".into());
                            Key::Value(Value::Bool(false))
                        }
                    },
                    None => {
                        let v = from_row(row, i, g.field)?;
                        sort_key.push(sort_text(&v));
                        Key::Value(v)
                    }
                };
                values.push(key);
            }
            let acc = merged.entry(sort_key).or_insert_with(|| Acc {
                keys: values,
                count: 0,
                sums: vec![0.0; aggregates.len()],
                counts: vec![0; aggregates.len()],
                extremes: vec![None; aggregates.len()],
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
                        let better = match (&acc.extremes[i], &v) {
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
                            acc.extremes[i] = Some(v);
                        }
                        column += 1;
                    }
                }
            }
        }
        Ok(merged
            .into_values()
            .map(|acc| Grouped {
                keys: acc.keys,
                count: acc.count,
                aggregates: aggregates
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match a.function {
                        "sum" if a.field.ttype() == FieldType::Integer => {
                            json!(acc.sums[i] as i64)
                        }
                        "sum" => json!(acc.sums[i]),
                        "count" => json!(acc.counts[i]),
                        "avg" if acc.counts[i] > 0 => json!(acc.sums[i] / acc.counts[i] as f64),
                        "avg" => Value::Bool(false),
                        _ => acc.extremes[i].clone().unwrap_or(Value::Bool(false)),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Display names of the many2one groups' records, one query per
    /// `groupby` entry (empty maps for the others).
    async fn many2one_names(
        &self,
        conn: &mut Connection,
        groups: &[GroupBy<'_>],
        grouped: &[Grouped],
    ) -> Result<Vec<HashMap<i64, String>>, OrmError> {
        let mut names = Vec::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            let mut map = HashMap::new();
            if g.field.ttype() == FieldType::Many2one {
                let ids: Vec<i64> = grouped
                    .iter()
                    .filter_map(|group| match &group.keys[i] {
                        Key::Value(v) => v.as_i64(),
                        Key::Period { .. } => None,
                    })
                    .collect();
                let relation = g.field.spec.relation.as_deref().unwrap_or_default();
                if !ids.is_empty() {
                    map = self.display_names(conn, relation, &ids).await?;
                }
            }
            names.push(map);
        }
        Ok(names)
    }
}

/// A many2one group's `[id, display_name]`; other values as they are.
fn many2one_pair(g: &GroupBy<'_>, value: &Value, names: &HashMap<i64, String>) -> Value {
    match (g.field.ttype(), value.as_i64()) {
        (FieldType::Many2one, Some(id)) => {
            json!([id, names.get(&id).cloned().unwrap_or_default()])
        }
        _ => value.clone(),
    }
}

/// The period of granularity `gr` a stored date (its first characters,
/// `prefix`) falls in. Stored text that is no calendar date groups under
/// itself, its own label, rather than failing the request.
fn period(prefix: &str, gr: Granularity, ttype: FieldType) -> Key {
    let first = match gr {
        Granularity::Day | Granularity::Week => crate::values::calendar_date(prefix),
        Granularity::Month | Granularity::Quarter => {
            crate::values::calendar_date(&format!("{prefix}-01"))
        }
        Granularity::Year => crate::values::calendar_date(&format!("{prefix}-01-01")),
    };
    let Some(date) = first else {
        return Key::Period {
            from: prefix.to_string(),
            to: prefix.to_string(),
            label: prefix.to_string(),
        };
    };
    let month_start = |year: i32, month0: i32| {
        let (year, month0) = (year + month0.div_euclid(12), month0.rem_euclid(12));
        let month = time::Month::try_from(month0 as u8 + 1).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(year, month, 1).ok()
    };
    let (year, month0) = (date.year(), i32::from(u8::from(date.month())) - 1);
    let (from, to) = match gr {
        Granularity::Day => (Some(date), date.next_day()),
        Granularity::Week => {
            let monday =
                date - time::Duration::days(i64::from(date.weekday().number_days_from_monday()));
            (Some(monday), Some(monday + time::Duration::days(7)))
        }
        Granularity::Month => (month_start(year, month0), month_start(year, month0 + 1)),
        Granularity::Quarter => {
            let first = month0 - month0 % 3;
            (month_start(year, first), month_start(year, first + 3))
        }
        Granularity::Year => (month_start(year, 0), month_start(year + 1, 0)),
    };
    let (Some(from), Some(to)) = (from, to) else {
        return Key::Period {
            from: prefix.to_string(),
            to: prefix.to_string(),
            label: prefix.to_string(),
        };
    };
    let iso = |d: time::Date| {
        let text = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        // Datetimes are bounded by instants, as Odoo's domains on them are.
        if ttype == FieldType::Datetime {
            format!("{text} 00:00:00")
        } else {
            text
        }
    };
    let from_text = iso(from);
    let label = date_group(&from_text[..gr.prefix()], gr).1;
    Key::Period {
        from: from_text,
        to: iso(to),
        label,
    }
}

/// The condition a group's records meet for one `groupby` entry, as Odoo writes it.
fn key_domain(g: &GroupBy<'_>, key: &Key) -> Value {
    let name = g.field.name();
    match key {
        Key::Period { from, to, .. } => {
            json!(["&", [name, ">=", from], [name, "<", to]])
        }
        Key::Value(value) => json!([[name, "=", value]]),
    }
}

/// Odoo's `normalize_domain`: the implicit `&` between top-level terms written out.
fn normalize_domain(domain: &[Value]) -> Vec<Value> {
    let mut out = Vec::with_capacity(domain.len());
    let mut expected = 1usize;
    for token in domain {
        if expected == 0 {
            out.insert(0, json!("&"));
            expected = 1;
        }
        match token.as_str() {
            Some("&" | "|") => expected += 1,
            Some("!") => {}
            _ => expected -= 1,
        }
        out.push(token.clone());
    }
    out
}

/// Odoo's `AND` of domains (lists of terms): the empty ones left out.
fn and_domains(domains: &[Value]) -> Value {
    let parts: Vec<Vec<Value>> = domains
        .iter()
        .filter_map(Value::as_array)
        .filter(|d| !d.is_empty())
        .map(|d| normalize_domain(d))
        .collect();
    let mut out: Vec<Value> = vec![json!("&"); parts.len().saturating_sub(1)];
    for part in parts {
        out.extend(part);
    }
    Value::Array(out)
}

/// `"amount:sum desc, partner_id"` as (term, descending) pairs.
fn order_terms(order: Option<&str>) -> Result<Vec<(String, bool)>, OrmError> {
    let Some(order) = order else {
        return Ok(Vec::new());
    };
    let mut terms = Vec::new();
    for term in order.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let mut words = term.split_whitespace();
        let spec = words.next().unwrap_or_default().to_string();
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(OrmError::value(format!("Invalid order term '{term}'"))),
        };
        if words.next().is_some() {
            return Err(OrmError::value(format!("Invalid order term '{term}'")));
        }
        terms.push((spec, descending));
    }
    Ok(terms)
}

/// Orders groups by `order` (group specifications, `__count`, aggregates
/// among `specs`), then by their keys.
fn sort_groups(
    grouped: &mut [Grouped],
    groups: &[GroupBy<'_>],
    specs: &[String],
    order: &[(String, bool)],
) -> Result<(), OrmError> {
    enum By {
        Key(usize),
        Count,
        Aggregate(usize),
    }
    let mut terms = Vec::with_capacity(order.len());
    for (spec, descending) in order {
        let by = if spec == "__count" {
            By::Count
        } else if let Some(i) = groups
            .iter()
            .position(|g| g.spec == *spec || g.field.name() == spec)
        {
            By::Key(i)
        } else if let Some(i) = specs.iter().position(|s| s == spec) {
            By::Aggregate(i)
        } else {
            return Err(OrmError::value(format!(
                "Invalid order '{spec}': order groups by a groupby or an aggregate of the call"
            )));
        };
        terms.push((by, *descending));
    }
    if terms.is_empty() {
        return Ok(());
    }
    let key_text = |key: &Key| match key {
        Key::Period { from, .. } => format!("1{from}"),
        Key::Value(v) => sort_text(v),
    };
    grouped.sort_by(|a, b| {
        for (by, descending) in &terms {
            let ord = match by {
                By::Count => a.count.cmp(&b.count),
                By::Key(i) => key_text(&a.keys[*i]).cmp(&key_text(&b.keys[*i])),
                By::Aggregate(i) => compare(&a.aggregates[*i], &b.aggregates[*i]),
            };
            let ord = if *descending { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

/// `having`: `[spec, operator, value]` conditions, all of which hold.
fn parse_having(having: &[Value]) -> Result<Vec<(String, String, Value)>, OrmError> {
    having
        .iter()
        .filter(|term| term.as_str() != Some("&"))
        .map(|term| match term.as_array().map(Vec::as_slice) {
            Some([Value::String(spec), Value::String(op), value])
                if matches!(op.as_str(), "=" | "!=" | "<" | "<=" | ">" | ">=") =>
            {
                Ok((spec.clone(), op.clone(), value.clone()))
            }
            _ => Err(OrmError::value(format!(
                "Invalid having term {term}: expected [aggregate, operator, value] with =, !=, <, <=, > or >="
            ))),
        })
        .collect()
}

/// Whether an aggregate's `value` meets `op wanted`.
fn meets(value: &Value, op: &str, wanted: &Value) -> bool {
    let ord = compare(value, wanted);
    match op {
        "=" => ord.is_eq(),
        "!=" => ord.is_ne(),
        "<" => ord.is_lt(),
        "<=" => ord.is_le(),
        ">" => ord.is_gt(),
        _ => ord.is_ge(),
    }
}

/// An aggregate of `formatted_read_group`: `field:function`, as Odoo 19 names them.
fn parse_aggregate_spec<'a>(model: &'a ModelDef, spec: &str) -> Result<Aggregate<'a>, OrmError> {
    let Some((name, function)) = spec.split_once(':') else {
        return Err(OrmError::value(format!(
            "Invalid aggregate specification '{spec}': expected '__count' or 'field:function'"
        )));
    };
    if function.is_empty() {
        return Err(OrmError::value(format!(
            "Invalid aggregate specification '{spec}'"
        )));
    }
    let mut found = parse_aggregates(model, &[spec.to_string()], &[])?;
    match found.pop() {
        Some(mut aggregate) => {
            aggregate.name = name.to_string();
            Ok(aggregate)
        }
        None => Err(OrmError::value(format!(
            "Invalid aggregate specification '{spec}'"
        ))),
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
