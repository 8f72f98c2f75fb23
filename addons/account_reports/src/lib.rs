//! `account_reports`: the trial balance, per account, from posted journal
//! items: the opening balance before the period, the period's debit and
//! credit, and the closing balance. The database sums (`read_group`); the
//! addon only arranges the rows.
//!
//! `account.account.trial_balance(date_from, date_to, domain)` answers the
//! rows as JSON; `trial_balance_csv` the same as CSV. `domain` narrows the
//! journal items (e.g. to one agency's). Other addons call both through
//! [`client::AccountAccount`] (the `client` feature).

use account::{Account, MoveLine};
use pulse_sdk::prelude::*;
use pulse_sdk::tools::{RoundingMethod::HalfUp, float_round};

/// Typed calls to this addon's public methods, for the addons that depend
/// on it (the `client` feature).
#[cfg(feature = "client")]
pub mod client {
    /// `account.account`'s public methods (those this addon adds).
    pub struct AccountAccount;
}

/// One row of a trial balance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// The account.
    pub account_id: i64,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Debit minus credit before `date_from`.
    pub opening: f64,
    /// Debit within the period.
    pub debit: f64,
    /// Credit within the period.
    pub credit: f64,
    /// `opening + debit - credit`.
    pub closing: f64,
}

/// Sums of debit and credit per account over the posted items matching
/// `domain` (Odoo JSON: callers narrow the items with their own leaves).
fn sums(env: &Env, domain: Value) -> Result<Vec<(i64, f64, f64)>> {
    let groups: Vec<Map<String, Value>> = env.call(
        MoveLine::NAME,
        "read_group",
        &[],
        json!([domain, ["debit:sum", "credit:sum"], ["account_id"]]),
        json!({"lazy": false}),
    )?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            let account = g.get("account_id")?.as_array()?;
            Some((
                account.first()?.as_i64()?,
                g.get("debit").and_then(Value::as_f64).unwrap_or(0.0),
                g.get("credit").and_then(Value::as_f64).unwrap_or(0.0),
            ))
        })
        .collect())
}

/// The trial balance from `date_from` to `date_to` (inclusive, ISO dates)
/// over the posted journal items matching `domain` (all when empty), one
/// row per account that has any, ordered by account code.
pub fn compute(env: &Env, date_from: &str, date_to: &str, domain: &[Value]) -> Result<Vec<Row>> {
    if date_from > date_to {
        return Err(Error::User(format!(
            "The period starts ({date_from}) after it ends ({date_to})."
        )));
    }
    let base = |extra: Vec<Value>| {
        let mut leaves = vec![json!(["parent_state", "=", "posted"])];
        leaves.extend(domain.iter().cloned());
        leaves.extend(extra);
        Value::Array(leaves)
    };
    let before = sums(env, base(vec![json!(["date", "<", date_from])]))?;
    let within = sums(
        env,
        base(vec![
            json!(["date", ">=", date_from]),
            json!(["date", "<=", date_to]),
        ]),
    )?;
    let mut ids: Vec<i64> = before.iter().chain(&within).map(|s| s.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let accounts = env.model::<Account>().read(&ids)?;
    let mut rows: Vec<Row> = accounts
        .into_iter()
        .map(|account| {
            let id = account.id;
            let opening = before
                .iter()
                .find(|s| s.0 == id)
                .map(|s| s.1 - s.2)
                .unwrap_or(0.0);
            let (debit, credit) = within
                .iter()
                .find(|s| s.0 == id)
                .map(|s| (s.1, s.2))
                .unwrap_or((0.0, 0.0));
            Row {
                account_id: id,
                code: account.code,
                name: account.name,
                opening: float_round(opening, 2, HalfUp),
                debit: float_round(debit, 2, HalfUp),
                credit: float_round(credit, 2, HalfUp),
                closing: float_round(opening + debit - credit, 2, HalfUp),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(rows)
}

/// The rows as CSV, with a header line.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from("code,name,opening,debit,credit,closing\n");
    for r in rows {
        let name = if r.name.contains([',', '"', '\n']) {
            format!("\"{}\"", r.name.replace('"', "\"\""))
        } else {
            r.name.clone()
        };
        out.push_str(&format!(
            "{},{name},{:.2},{:.2},{:.2},{:.2}\n",
            r.code, r.opening, r.debit, r.credit, r.closing
        ));
    }
    out
}

/// The trial balance as JSON rows.
#[method(model = "account.account", public)]
pub fn trial_balance(
    env: &Env,
    _ids: &[i64],
    date_from: String,
    date_to: String,
    domain: Option<Vec<Value>>,
) -> Result<Vec<Row>> {
    compute(env, &date_from, &date_to, &domain.unwrap_or_default())
}

/// The trial balance as CSV text.
#[method(model = "account.account", public)]
pub fn trial_balance_csv(
    env: &Env,
    _ids: &[i64],
    date_from: String,
    date_to: String,
    domain: Option<Vec<Value>>,
) -> Result<String> {
    Ok(to_csv(&compute(
        env,
        &date_from,
        &date_to,
        &domain.unwrap_or_default(),
    )?))
}

pulse_sdk::addon! {
    exports_if: feature = "addon",
    models: [],
    methods: [trial_balance, trial_balance_csv],
}
