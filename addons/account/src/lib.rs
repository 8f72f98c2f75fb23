//! `account`: the core of accounting, small but real. A chart of accounts,
//! journals that number their entries (`SAL/2026/0001`), journal entries
//! that post only when balanced and never change once posted, and a lock
//! date per journal before which nothing posts.
//!
//! Other addons extend it: `ipai_finance_ssc` adds the agency and its own
//! lock date by overriding `action_post`. They depend on this crate with
//! `default-features = false, features = ["client"]`: its model types, and
//! [`client`] for its public methods, without exporting this addon again.

use pulse_sdk::prelude::*;

/// Typed calls to this addon's public methods, for the addons that depend
/// on it (the `client` feature).
#[cfg(feature = "client")]
pub mod client {
    /// `account.move`'s public methods.
    pub struct AccountMove;
}

/// What kind of account it is; reports group by it.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountType {
    /// Asset
    Asset,
    /// Liability
    Liability,
    /// Equity
    Equity,
    /// Income
    Income,
    /// Expense
    Expense,
}

/// The type of a journal.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalType {
    /// Sales
    Sale,
    /// Purchase
    Purchase,
    /// Bank
    Bank,
    /// Miscellaneous
    General,
}

/// Where a journal entry stands.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveState {
    /// Draft
    Draft,
    /// Posted
    Posted,
    /// Cancelled
    Cancel,
}

/// An account of the chart of accounts.
#[derive(Model)]
#[model(name = "account.account", description = "Account")]
pub struct Account {
    /// The record id.
    pub id: i64,
    /// The account code, e.g. `1010`.
    #[field(required, unique, index)]
    pub code: String,
    /// The account name.
    #[field(required)]
    pub name: String,
    /// What kind of account it is; reports group by it.
    #[field(default = AccountType::Asset)]
    pub account_type: AccountType,
    /// A tax tag reports sum by, e.g. `wtax_compensation` for the
    /// withholding tax on compensation a BIR 1601-C declares.
    pub tax_tag: Option<String>,
}

/// A journal: where entries of one kind are recorded and numbered.
#[derive(Model)]
#[model(name = "account.journal", description = "Journal")]
pub struct Journal {
    /// The record id.
    pub id: i64,
    /// Short code, the prefix of entry numbers.
    #[field(required, unique)]
    pub code: String,
    /// The journal name.
    #[field(required)]
    pub name: String,
    /// The journal type.
    #[field(default = JournalType::General)]
    pub journal_type: JournalType,
    /// The next number of an entry posted in this journal.
    #[field(copy = false, default = 1, readonly)]
    pub sequence_next: i64,
    /// Entries dated on or before this date cannot be posted.
    #[field(kind = "date")]
    pub lock_date: Option<String>,
}

/// A journal entry.
#[derive(Model)]
#[model(name = "account.move", description = "Journal Entry")]
pub struct Move {
    /// The record id.
    pub id: i64,
    /// The number, `/` until posted; a copy is numbered when posted.
    #[field(default = "/", readonly, copy = false)]
    pub name: String,
    /// The journal.
    #[field(ondelete = "restrict")]
    pub journal_id: Many2one<Journal>,
    /// The accounting date.
    #[field(kind = "date", required, index)]
    pub date: String,
    /// A reference (an invoice number, a statement line, …).
    pub reference: Option<String>,
    /// Draft, posted or cancelled.
    #[field(default = MoveState::Draft, readonly, copy = false, index)]
    pub state: MoveState,
    /// The lines; a copy of the entry copies them, as in Odoo.
    #[field(inverse = "move_id", copy = true)]
    pub line_ids: One2many<MoveLine>,
    /// The sum of the debits.
    #[field(
        compute = "compute_amount_total",
        depends = "line_ids.debit",
        digits = "16,2"
    )]
    pub amount_total: f64,
}

/// A line of a journal entry.
#[derive(Model)]
#[model(name = "account.move.line", description = "Journal Item")]
pub struct MoveLine {
    /// The record id.
    pub id: i64,
    /// The entry.
    #[field(ondelete = "cascade")]
    pub move_id: Many2one<Move>,
    /// The account.
    #[field(ondelete = "restrict", index)]
    pub account_id: Many2one<Account>,
    /// The label.
    pub name: Option<String>,
    /// A reference to match on (a payment reference).
    pub reference: Option<String>,
    /// Debit.
    #[field(digits = "16,2")]
    pub debit: f64,
    /// Credit.
    #[field(digits = "16,2")]
    pub credit: f64,
    /// The entry's date, stored for reports.
    #[field(
        kind = "date",
        compute = "compute_line_date",
        depends = "move_id.date",
        index
    )]
    pub date: Option<String>,
    /// The entry's state, stored for reports.
    #[field(compute = "compute_parent_state", depends = "move_id.state", index)]
    pub parent_state: Option<String>,
    /// Whether a reconciliation matched the line.
    #[field(copy = false)]
    pub reconciled: bool,
}

/// The total of each entry: the sum of its debits.
#[method(model = "account.move")]
pub fn compute_amount_total(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    let moves = env.model::<Move>().read(ids)?;
    let line_ids: Vec<i64> = moves
        .iter()
        .flat_map(|m| m.line_ids.ids().to_vec())
        .collect();
    let lines = env.model::<MoveLine>().read(&line_ids)?;
    Ok(moves
        .iter()
        .map(|m| {
            let total = lines
                .iter()
                .filter(|l| l.move_id.id() == m.id)
                .map(|l| l.debit)
                .sum();
            (m.id, total)
        })
        .collect())
}

/// Each line's id with its entry's date and state, for the stored copies.
fn line_moves(env: &Env, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
    let lines = env.model::<MoveLine>().read(ids)?;
    let mut move_ids: Vec<i64> = lines.iter().map(|l| l.move_id.id()).collect();
    move_ids.sort_unstable();
    move_ids.dedup();
    let moves = env.model::<Move>().read(&move_ids)?;
    Ok(lines
        .iter()
        .filter_map(|l| {
            let entry = moves.iter().find(|m| m.id == l.move_id.id())?;
            Some((l.id, entry.date.clone(), entry.state.value().to_string()))
        })
        .collect())
}

/// The date of each line's entry.
#[method(model = "account.move.line")]
pub fn compute_line_date(env: &Env, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    Ok(line_moves(env, ids)?
        .into_iter()
        .map(|(id, date, _)| (id, date))
        .collect())
}

/// The state of each line's entry.
#[method(model = "account.move.line")]
pub fn compute_parent_state(env: &Env, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    Ok(line_moves(env, ids)?
        .into_iter()
        .map(|(id, _, state)| (id, state))
        .collect())
}

/// Posts draft entries: each must have lines, balance to the cent and be
/// dated after its journal's lock date; it then takes the journal's next
/// number. Returns `true`.
#[method(model = "account.move", public)]
pub fn action_post(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = env.model::<Move>().read(ids)?;
    for entry in &moves {
        if entry.state != MoveState::Draft {
            return Err(Error::User(format!(
                "Only draft entries can be posted; {} is {}.",
                entry.name,
                entry.state.value()
            )));
        }
        let lines = env.model::<MoveLine>().read(entry.line_ids.ids())?;
        if lines.is_empty() {
            return Err(Error::User(format!(
                "The entry dated {} has no lines to post.",
                entry.date
            )));
        }
        let debit: f64 = lines.iter().map(|l| l.debit).sum();
        let credit: f64 = lines.iter().map(|l| l.credit).sum();
        if (debit - credit).abs() >= 0.005 {
            return Err(Error::User(format!(
                "The entry dated {} is not balanced: debit {debit:.2}, credit {credit:.2} (difference {:.2}).",
                entry.date,
                debit - credit
            )));
        }
        let journal = env
            .model::<Journal>()
            .read(&[entry.journal_id.id()])?
            .pop()
            .ok_or_else(|| {
                Error::Missing(format!("journal {} does not exist", entry.journal_id.id()))
            })?;
        if let Some(lock) = journal.lock_date.as_deref()
            && entry.date.as_str() <= lock
        {
            return Err(Error::User(format!(
                "The entry dated {} cannot be posted in journal {}: it is locked through {lock}.",
                entry.date, journal.code
            )));
        }
        let year = entry.date.get(..4).unwrap_or("0000");
        let name = format!("{}/{year}/{:04}", journal.code, journal.sequence_next);
        env.model::<Journal>().write(
            &[journal.id],
            Journal::write().sequence_next(journal.sequence_next + 1),
        )?;
        env.model::<Move>().write(
            &[entry.id],
            Move::write().state(MoveState::Posted).name(&name),
        )?;
    }
    Ok(true)
}

/// Cancels entries (posted ones are reversed by cancelling in this core).
#[method(model = "account.move", public)]
pub fn button_cancel(env: &Env, ids: &[i64]) -> Result<bool> {
    env.model::<Move>()
        .write(ids, Move::write().state(MoveState::Cancel))?;
    Ok(true)
}

/// The fields of a posted entry that may still change: its state (to
/// cancel it) and nothing else.
const POSTED_WRITABLE: [&str; 1] = ["state"];

/// Refuses changes to posted entries, except cancelling them.
#[method(model = "account.move")]
pub fn write(env: &Env, ids: &[i64], values: Map<String, Value>) -> Result<bool> {
    let locked = values
        .keys()
        .any(|k| !POSTED_WRITABLE.contains(&k.as_str()));
    if locked {
        refuse_posted(env, ids, "changed")?;
    }
    env.call_super(ids, json!([values]), json!({}))
}

/// Refuses deleting posted entries.
#[method(model = "account.move")]
pub fn unlink(env: &Env, ids: &[i64]) -> Result<bool> {
    refuse_posted(env, ids, "deleted")?;
    env.call_super(ids, json!([]), json!({}))
}

fn refuse_posted(env: &Env, move_ids: &[i64], what: &str) -> Result<()> {
    let posted = env
        .model::<Move>()
        .read(move_ids)?
        .into_iter()
        .filter(|m| m.state == MoveState::Posted)
        .map(|m| m.name)
        .collect::<Vec<_>>();
    if posted.is_empty() {
        Ok(())
    } else {
        Err(Error::User(format!(
            "Posted entries cannot be {what}: {}. Cancel them first.",
            posted.join(", ")
        )))
    }
}

/// The entries of `line_ids`.
fn moves_of(env: &Env, line_ids: &[i64]) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = env
        .model::<MoveLine>()
        .read(line_ids)?
        .iter()
        .map(|l| l.move_id.id())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Refuses changing the amounts, accounts or entry of posted lines.
#[method(model = "account.move.line", name = "write")]
pub fn line_write(env: &Env, ids: &[i64], values: Map<String, Value>) -> Result<bool> {
    // What reconciliation and the stored copies of the entry may change.
    const FREE: [&str; 3] = ["reconciled", "date", "parent_state"];
    if values.keys().any(|k| !FREE.contains(&k.as_str())) {
        let moves = moves_of(env, ids)?;
        refuse_posted(env, &moves, "changed")?;
        if let Some(target) = values.get("move_id").and_then(Value::as_i64) {
            refuse_posted(env, &[target], "changed")?;
        }
    }
    env.call_super(ids, json!([values]), json!({}))
}

/// Refuses adding lines to posted entries.
#[method(model = "account.move.line", name = "create")]
pub fn line_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let rows = match rows {
        Value::Array(rows) => rows,
        one => vec![one],
    };
    let mut targets: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.get("move_id").and_then(Value::as_i64))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    refuse_posted(env, &targets, "changed")?;
    env.call_super(&[], json!([rows]), json!({}))
}

/// Refuses deleting lines of posted entries.
#[method(model = "account.move.line", name = "unlink")]
pub fn line_unlink(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = moves_of(env, ids)?;
    refuse_posted(env, &moves, "deleted")?;
    env.call_super(ids, json!([]), json!({}))
}

pulse_sdk::addon! {
    exports_if: feature = "addon",
    models: [Account, Journal, Move, MoveLine],
    methods: [
        compute_amount_total, compute_line_date, compute_parent_state, action_post,
        button_cancel, write, unlink, line_write, line_create, line_unlink,
    ],
}
