//! Bank reconciliation: statement lines matched to the agency's open
//! journal items on the bank account.
//!
//! Auto-match works in two passes. First, an item of exactly the line's
//! amount with the line's reference (on the item or its entry); then an
//! item of exactly the amount dated within the reconciliation's window of
//! the line's date. A line matches only when exactly one open item fits;
//! a line with two candidates or more stays unmatched, with the count in
//! its note, for a person to decide (`action_match`).

use account::{Account, Move, MoveLine};
use pulse_sdk::prelude::*;

use crate::{Agency, MoveLineAgency};

/// A bank statement of one agency's bank account, to reconcile.
#[derive(Model)]
#[model(
    name = "finance.ssc.bank_reconciliation",
    description = "Bank Reconciliation"
)]
pub struct Reconciliation {
    /// The record id.
    pub id: i64,
    /// The statement's name.
    #[field(required)]
    pub name: String,
    /// The agency.
    #[field(ondelete = "cascade", index)]
    pub agency_id: Many2one<Agency>,
    /// The bank account in the chart of accounts.
    pub account_id: Many2one<Account>,
    /// How many days apart a line and an item may be dated in the second pass.
    #[field(default = 3)]
    pub date_window: i64,
    /// The statement lines.
    #[field(inverse = "reconciliation_id")]
    pub line_ids: One2many<StatementLine>,
}

/// A line of a bank statement.
#[derive(Model)]
#[model(
    name = "finance.ssc.bank_statement_line",
    description = "Bank Statement Line"
)]
pub struct StatementLine {
    /// The record id.
    pub id: i64,
    /// The statement.
    #[field(ondelete = "cascade")]
    pub reconciliation_id: Many2one<Reconciliation>,
    /// The value date.
    #[field(kind = "date", required)]
    pub date: String,
    /// The amount: positive in, negative out.
    #[field(digits = "16,2")]
    pub amount: f64,
    /// The bank's reference (often the payer's invoice number).
    pub reference: Option<String>,
    /// The journal item it was matched to.
    #[field(ondelete = "set null", copy = false)]
    pub move_line_id: Option<Many2one<MoveLine>>,
    /// Why it is not matched, when auto-match left it.
    #[field(readonly)]
    pub note: Option<String>,
}

/// An open item: posted, unreconciled, on the account, of the agency.
struct Item {
    id: i64,
    amount: f64,
    date: String,
    references: Vec<String>,
}

fn open_items(env: &Env, reconciliation: &Reconciliation) -> Result<Vec<Item>> {
    let f = MoveLine::fields();
    let open = MoveLineAgency::fields()
        .agency_id()
        .eq(reconciliation.agency_id.id())
        & f.account_id().eq(reconciliation.account_id.id())
        & f.parent_state().eq("posted")
        & f.reconciled().eq(false);
    let ids = env
        .model_named(MoveLine::NAME)
        .search(&open, 0, None, Some("date, id"))?;
    let records = env.model::<MoveLine>().read(&ids)?;
    let move_ids: Vec<i64> = records.iter().map(|r| r.move_id.id()).collect();
    let moves = env.model::<Move>().read(&move_ids)?;
    Ok(records
        .into_iter()
        .map(|r| {
            let entry_ref = moves
                .iter()
                .find(|m| m.id == r.move_id.id())
                .and_then(|m| m.r#ref.clone());
            Item {
                id: r.id,
                amount: r.debit - r.credit,
                date: r.date.unwrap_or_default(),
                references: r.r#ref.into_iter().chain(entry_ref).collect(),
            }
        })
        .collect())
}

/// Days from the epoch of an ISO date (for the date window).
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.get(..10)?.split('-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn same_amount(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

/// What auto-match did.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Lines matched now.
    pub matched: usize,
    /// Lines left, with why.
    pub unmatched: Vec<Value>,
}

/// Matches the unmatched lines of reconciliation `id`.
pub fn auto_match(env: &Env, id: i64) -> Result<Outcome> {
    let reconciliation = env
        .model::<Reconciliation>()
        .read(&[id])?
        .pop()
        .ok_or_else(|| Error::Missing(format!("Bank reconciliation {id} does not exist.")))?;
    let mut items = open_items(env, &reconciliation)?;
    let lines: Vec<StatementLine> = env
        .model::<StatementLine>()
        .read(reconciliation.line_ids.ids())?
        .into_iter()
        .filter(|l| l.move_line_id.is_none())
        .collect();
    let mut outcome = Outcome::default();
    let mut pending: Vec<&StatementLine> = Vec::new();
    let link = |env: &Env, line: &StatementLine, item: i64, items: &mut Vec<Item>| -> Result<()> {
        env.model::<StatementLine>().write(
            &[line.id],
            StatementLine::write()
                .move_line_id(item)
                .note(None::<String>),
        )?;
        env.model::<MoveLine>()
            .write(&[item], MoveLine::write().reconciled(true))?;
        items.retain(|i| i.id != item);
        Ok(())
    };
    // Pass 1: amount and reference.
    for line in &lines {
        let reference = line.reference.as_deref().unwrap_or("");
        let fits: Vec<i64> = items
            .iter()
            .filter(|i| same_amount(i.amount, line.amount))
            .filter(|i| !reference.is_empty() && i.references.iter().any(|r| r == reference))
            .map(|i| i.id)
            .collect();
        if let [item] = fits[..] {
            link(env, line, item, &mut items)?;
            outcome.matched += 1;
        } else {
            pending.push(line);
        }
    }
    // Pass 2: amount within the date window.
    for line in pending {
        let day = day_number(&line.date);
        let fits: Vec<i64> = items
            .iter()
            .filter(|i| same_amount(i.amount, line.amount))
            .filter(|i| match (day, day_number(&i.date)) {
                (Some(a), Some(b)) => (a - b).abs() <= reconciliation.date_window,
                _ => false,
            })
            .map(|i| i.id)
            .collect();
        match fits[..] {
            [item] => {
                link(env, line, item, &mut items)?;
                outcome.matched += 1;
            }
            _ => {
                let note = if fits.is_empty() {
                    "no open item of this amount and reference or date".to_string()
                } else {
                    format!("{} open items fit; match it by hand", fits.len())
                };
                env.model::<StatementLine>()
                    .write(&[line.id], StatementLine::write().note(&note))?;
                outcome.unmatched.push(json!({
                    "line_id": line.id,
                    "amount": line.amount,
                    "reference": line.reference,
                    "candidates": fits,
                    "note": note,
                }));
            }
        }
    }
    Ok(outcome)
}

/// Auto-matches the reconciliations `ids`; answers what it did.
#[method(model = "finance.ssc.bank_reconciliation")]
pub fn action_auto_match(env: &Env, ids: &[i64]) -> Result<Outcome> {
    let mut total = Outcome::default();
    for id in ids {
        let outcome = auto_match(env, *id)?;
        total.matched += outcome.matched;
        total.unmatched.extend(outcome.unmatched);
    }
    Ok(total)
}

/// Matches statement lines by hand to the open item `move_line_id`.
#[method(model = "finance.ssc.bank_statement_line")]
pub fn action_match(env: &Env, ids: &[i64], move_line_id: i64) -> Result<bool> {
    let [id] = ids[..] else {
        return Err(Error::User("Match one statement line at a time.".into()));
    };
    let line = env
        .model::<StatementLine>()
        .read(&[id])?
        .pop()
        .ok_or_else(|| Error::Missing(format!("Statement line {id} does not exist.")))?;
    let reconciliation = env
        .model::<Reconciliation>()
        .read(&[line.reconciliation_id.id()])?
        .pop()
        .ok_or_else(|| Error::Missing("the statement no longer exists".into()))?;
    let items = open_items(env, &reconciliation)?;
    let item = items.iter().find(|i| i.id == move_line_id).ok_or_else(|| {
        Error::User(format!(
            "Journal item {move_line_id} is not an open item of this agency's bank account."
        ))
    })?;
    if !same_amount(item.amount, line.amount) {
        return Err(Error::User(format!(
            "The statement line is {:.2} but the journal item is {:.2}.",
            line.amount, item.amount
        )));
    }
    env.model::<StatementLine>().write(
        &[id],
        StatementLine::write()
            .move_line_id(move_line_id)
            .note(None::<String>),
    )?;
    env.model::<MoveLine>()
        .write(&[move_line_id], MoveLine::write().reconciled(true))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::day_number;

    #[test]
    fn day_numbers_count_days() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(
            day_number("2026-03-01").unwrap() - day_number("2026-02-27").unwrap(),
            2
        );
        assert_eq!(
            day_number("2024-03-01").unwrap() - day_number("2024-02-28").unwrap(),
            2
        );
    }
}
