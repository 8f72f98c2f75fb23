//! Journal entries and invoices: their amounts, their lines' defaults,
//! posting (numbering, the receivable or payable line of an invoice, the
//! balance check), resetting to draft and cancelling, and the guard that
//! keeps posted entries unchanged.

use pulse_sdk::prelude::*;

use crate::{
    Account, AccountType, DisplayType, Journal, Move, MoveLine, MoveState, MoveType, PaymentState,
    create_super, rows_of,
};

/// Rounds an amount to the cent, as the company currency does.
pub(crate) fn cents(amount: f64) -> f64 {
    pulse_sdk::tools::float_round(amount, 2, pulse_sdk::tools::RoundingMethod::HalfUp)
}

/// Today (UTC), for the dates Odoo defaults to today.
pub(crate) fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    pulse_sdk::tools::Date::new(1970, 1, 1)
        .map(|epoch| epoch.add_days(days as i64).to_string())
        .unwrap_or_default()
}

/// The lines of `moves`, read once.
fn lines_of(env: &Env, moves: &[Move]) -> Result<Vec<MoveLine>> {
    let ids: Vec<i64> = moves
        .iter()
        .flat_map(|m| m.line_ids.ids().to_vec())
        .collect();
    env.model::<MoveLine>().read(&ids)
}

/// The untaxed amount of an entry: its product lines' balance for an
/// invoice (unsigned), its debits for an entry.
fn untaxed(entry: &Move, lines: &[MoveLine]) -> f64 {
    let own = lines.iter().filter(|l| l.move_id.id() == entry.id);
    if entry.move_type.is_invoice() {
        cents(
            own.filter(|l| l.display_type == DisplayType::Product)
                .map(|l| l.debit - l.credit)
                .sum::<f64>()
                .abs(),
        )
    } else {
        cents(own.map(|l| l.debit).sum())
    }
}

/// Each move's untaxed amount.
#[method(model = "account.move")]
pub fn compute_amounts(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    let moves = env.model::<Move>().read(ids)?;
    let lines = lines_of(env, &moves)?;
    Ok(moves.iter().map(|m| (m.id, untaxed(m, &lines))).collect())
}

/// Each move's taxes: none, this core has no taxes.
#[method(model = "account.move")]
pub fn compute_amount_tax(_env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    Ok(ids.iter().map(|id| (*id, 0.0)).collect())
}

/// Each move's total: its untaxed amount (no taxes).
#[method(model = "account.move")]
pub fn compute_amount_total(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    compute_amounts(env, ids)
}

/// What is still to pay of each invoice: the open part of its payment
/// term items once posted, its total before; nothing for an entry.
#[method(model = "account.move")]
pub fn compute_amount_residual(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    let moves = env.model::<Move>().read(ids)?;
    let lines = lines_of(env, &moves)?;
    Ok(moves
        .iter()
        .map(|m| {
            if !m.move_type.is_invoice() {
                return (m.id, 0.0);
            }
            if m.state != MoveState::Posted {
                return (m.id, untaxed(m, &lines));
            }
            let open: f64 = lines
                .iter()
                .filter(|l| l.move_id.id() == m.id && l.display_type == DisplayType::PaymentTerm)
                .map(|l| l.amount_residual)
                .sum();
            (m.id, cents(open.abs()))
        })
        .collect())
}

/// The journal type a move of `move_type` goes to by default.
fn journal_type_for(move_type: &str) -> &'static str {
    match move_type {
        "out_invoice" | "out_refund" | "out_receipt" => "sale",
        "in_invoice" | "in_refund" | "in_receipt" => "purchase",
        _ => "general",
    }
}

/// Creates moves with Odoo's defaults: the first journal of the type the
/// move needs, the invoice date (else today) as accounting date, the
/// journal's currency.
#[method(model = "account.move", name = "create")]
pub fn move_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    for row in &mut rows {
        let Some(row) = row.as_object_mut() else {
            continue;
        };
        let move_type = row
            .get("move_type")
            .and_then(Value::as_str)
            .unwrap_or("entry")
            .to_string();
        if row.get("journal_id").is_none_or(|j| !j.is_i64()) {
            let kind = journal_type_for(&move_type);
            let found = env.model_named(Journal::NAME).search(
                &Domain::leaf("type", "=", json!(kind)),
                0,
                Some(1),
                Some("id"),
            )?;
            let journal = found.first().ok_or_else(|| {
                Error::User(format!(
                    "No journal could be found for any of those types: {kind}"
                ))
            })?;
            row.insert("journal_id".into(), json!(journal));
        }
        if row.get("date").is_none_or(|d| !d.is_string()) {
            let date = row
                .get("invoice_date")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(today);
            row.insert("date".into(), json!(date));
        }
        if !row.contains_key("currency_id")
            && let Some(journal) = row.get("journal_id").and_then(Value::as_i64)
            && let Some(journal) = env.model::<Journal>().read(&[journal])?.pop()
            && let Some(currency) = journal.currency_id
        {
            row.insert("currency_id".into(), json!(currency));
        }
    }
    Ok(create_super(env, rows, single)?.0)
}

/// The first account of `account_type`, by code.
fn first_account(env: &Env, account_type: AccountType) -> Result<Option<i64>> {
    Ok(env
        .model_named(Account::NAME)
        .search(
            &Account::fields().account_type().eq(account_type),
            0,
            Some(1),
            Some("code"),
        )?
        .first()
        .copied())
}

/// The receivable or payable account of an invoice's open amount.
pub(crate) fn counterpart_account(env: &Env, customer: bool) -> Result<i64> {
    let (kind, what) = if customer {
        (AccountType::AssetReceivable, "receivable")
    } else {
        (AccountType::LiabilityPayable, "payable")
    };
    first_account(env, kind)?.ok_or_else(|| {
        Error::User(format!(
            "There is no {what} account (account_type \"{}\") to post the open amount on; create one first.",
            kind.value()
        ))
    })
}

/// Gives an invoice its payment term item: the receivable (customer) or
/// payable (vendor) line that balances its product lines, due on the due
/// date. An earlier one (posted, then reset to draft) is replaced.
fn add_payment_term_line(env: &Env, entry: &Move) -> Result<()> {
    let lines = env.model::<MoveLine>().read(entry.line_ids.ids())?;
    let old: Vec<i64> = lines
        .iter()
        .filter(|l| l.display_type == DisplayType::PaymentTerm)
        .map(|l| l.id)
        .collect();
    if !old.is_empty() {
        env.model::<MoveLine>().unlink(&old)?;
    }
    let products: Vec<&MoveLine> = lines
        .iter()
        .filter(|l| l.display_type == DisplayType::Product)
        .collect();
    if products.is_empty() {
        return Err(Error::User("You need to add a line before posting.".into()));
    }
    let balance = cents(products.iter().map(|l| l.debit - l.credit).sum());
    let account = counterpart_account(env, entry.move_type.is_sale())?;
    let due = entry
        .invoice_date_due
        .clone()
        .or_else(|| entry.invoice_date.clone())
        .unwrap_or_else(|| entry.date.clone());
    let mut line = MoveLine::create()
        .move_id(entry.id)
        .account_id(account)
        .display_type(DisplayType::PaymentTerm)
        .name(entry.r#ref.clone().unwrap_or_default())
        .quantity(1.0)
        .debit(if balance < 0.0 { -balance } else { 0.0 })
        .credit(if balance > 0.0 { balance } else { 0.0 })
        .date_maturity(due);
    if let Some(partner) = entry.partner_id {
        line = line.partner_id(partner);
    }
    env.model::<MoveLine>().create_one(line)?;
    Ok(())
}

/// Posts draft entries and invoices. An invoice needs its partner and a
/// line; it gets its invoice date (the accounting date when unset) and its
/// receivable or payable item. Every entry must balance to the cent and
/// be dated after its journal's lock date; it then takes the journal's
/// next number (`INV/2026/00001`, `RINV/…` for a credit note). Returns
/// `true`.
#[method(model = "account.move", public)]
pub fn action_post(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = env.model::<Move>().read(ids)?;
    for entry in &moves {
        match entry.state {
            MoveState::Draft => {}
            MoveState::Posted => {
                return Err(Error::User(format!(
                    "The entry {} (id {}) is already posted.",
                    entry.name, entry.id
                )));
            }
            MoveState::Cancel => {
                return Err(Error::User(format!(
                    "Only draft entries can be posted; {} (id {}) is cancelled.",
                    entry.name, entry.id
                )));
            }
        }
        if entry.move_type.is_invoice() {
            if entry.partner_id.is_none() {
                let (who, what) = if entry.move_type.is_sale() {
                    ("Customer", "Customer Invoice")
                } else {
                    ("Vendor", "Vendor Bill")
                };
                return Err(Error::User(format!(
                    "The field '{who}' is required, please complete it to validate the {what}."
                )));
            }
            let invoice_date = entry
                .invoice_date
                .clone()
                .unwrap_or_else(|| entry.date.clone());
            if entry.invoice_date.as_deref() != Some(invoice_date.as_str())
                || entry.date != invoice_date
            {
                env.model::<Move>().write(
                    &[entry.id],
                    Move::write()
                        .invoice_date(invoice_date.clone())
                        .date(invoice_date),
                )?;
            }
            let entry = env
                .model::<Move>()
                .read(&[entry.id])?
                .pop()
                .ok_or_else(|| Error::Missing(format!("entry {} does not exist", entry.id)))?;
            add_payment_term_line(env, &entry)?;
        }
        let entry = env
            .model::<Move>()
            .read(&[entry.id])?
            .pop()
            .ok_or_else(|| Error::Missing(format!("entry {} does not exist", entry.id)))?;
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
        // Odoo keeps the number of an entry posted before (reset to draft).
        let mut values = Move::write()
            .state(MoveState::Posted)
            .payment_state(PaymentState::NotPaid);
        if entry.name == "/" {
            let year = entry.date.get(..4).unwrap_or("0000");
            let refund = matches!(entry.move_type, MoveType::OutRefund | MoveType::InRefund);
            let prefix = if refund { "R" } else { "" };
            let name = format!(
                "{prefix}{}/{year}/{:05}",
                journal.code, journal.sequence_next
            );
            env.model::<Journal>().write(
                &[journal.id],
                Journal::write().sequence_next(journal.sequence_next + 1),
            )?;
            values = values.name(&name);
        }
        env.model::<Move>().write(&[entry.id], values)?;
        open_items(env, &lines)?;
    }
    Ok(true)
}

/// Opens the items of a posted entry on accounts that reconcile: their
/// whole balance is still to match.
fn open_items(env: &Env, lines: &[MoveLine]) -> Result<()> {
    let mut accounts: Vec<i64> = lines.iter().map(|l| l.account_id.id()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let reconcilable: Vec<i64> = env
        .model::<Account>()
        .read(&accounts)?
        .into_iter()
        .filter(|a| a.reconcile)
        .map(|a| a.id)
        .collect();
    for line in lines
        .iter()
        .filter(|l| reconcilable.contains(&l.account_id.id()))
    {
        let balance = cents(line.debit - line.credit);
        env.model::<MoveLine>().write(
            &[line.id],
            MoveLine::write()
                .amount_residual(balance)
                .reconciled(balance == 0.0),
        )?;
    }
    Ok(())
}

/// Refuses to take back entries a payment was matched with.
fn refuse_paid(moves: &[Move], what: &str) -> Result<()> {
    if let Some(paid) = moves.iter().find(|m| {
        matches!(
            m.payment_state,
            PaymentState::Paid | PaymentState::Partial | PaymentState::InPayment
        )
    }) {
        return Err(Error::User(format!(
            "{} has payments matched with it and cannot be {what}; this core cannot unreconcile payments.",
            paid.name
        )));
    }
    Ok(())
}

/// Resets posted or cancelled entries to draft (Odoo's `button_draft`),
/// keeping their number. Returns `true`.
#[method(model = "account.move", public)]
pub fn button_draft(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = env.model::<Move>().read(ids)?;
    if let Some(draft) = moves.iter().find(|m| m.state == MoveState::Draft) {
        return Err(Error::User(format!(
            "Only posted/cancelled journal entries can be reset to draft; {} (id {}) is a draft.",
            draft.name, draft.id
        )));
    }
    refuse_paid(&moves, "reset to draft")?;
    env.model::<Move>()
        .write(ids, Move::write().state(MoveState::Draft))?;
    Ok(true)
}

/// Cancels entries, draft or posted (Odoo's shortcut from posted to
/// cancelled), unless a payment was matched with them. Returns `true`.
#[method(model = "account.move", public)]
pub fn button_cancel(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = env.model::<Move>().read(ids)?;
    refuse_paid(&moves, "cancelled")?;
    env.model::<Move>()
        .write(ids, Move::write().state(MoveState::Cancel))?;
    Ok(true)
}

/// The fields of a posted entry that may still change: its state (to
/// reset or cancel it), how much of it is paid, and the stored computed
/// amounts.
const POSTED_WRITABLE: [&str; 7] = [
    "state",
    "payment_state",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "amount_residual",
    "internal_group",
];

/// Refuses changes to posted entries, except resetting or cancelling them.
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

/// Sets the debit or credit of invoice product lines from their quantity
/// and unit price (income credited on a customer invoice, an expense
/// debited on a vendor bill).
fn price_product_lines(env: &Env, line_ids: &[i64]) -> Result<()> {
    let lines = env.model::<MoveLine>().read(line_ids)?;
    let move_ids = moves_of(env, line_ids)?;
    let moves = env.model::<Move>().read(&move_ids)?;
    for line in lines
        .iter()
        .filter(|l| l.display_type == DisplayType::Product)
    {
        let Some(entry) = moves.iter().find(|m| m.id == line.move_id.id()) else {
            continue;
        };
        // A line given its debit or credit without a price keeps them.
        let priced_by_hand = line.price_unit == 0.0 && (line.debit != 0.0 || line.credit != 0.0);
        if !entry.move_type.is_invoice() || priced_by_hand {
            continue;
        }
        let signed = cents(line.quantity * line.price_unit) * entry.move_type.product_sign();
        let (debit, credit) = if signed >= 0.0 {
            (signed, 0.0)
        } else {
            (0.0, -signed)
        };
        if line.debit != debit || line.credit != credit {
            env.model::<MoveLine>()
                .write(&[line.id], MoveLine::write().debit(debit).credit(credit))?;
        }
    }
    Ok(())
}

/// Refuses changing the amounts, accounts or entry of posted lines, and
/// prices invoice lines again when their quantity or price changes.
#[method(model = "account.move.line", name = "write")]
pub fn line_write(env: &Env, ids: &[i64], values: Map<String, Value>) -> Result<bool> {
    // What reconciliation and the stored computed fields may change.
    const FREE: [&str; 6] = [
        "reconciled",
        "amount_residual",
        "date",
        "parent_state",
        "price_subtotal",
        "balance",
    ];
    if values.keys().any(|k| !FREE.contains(&k.as_str())) {
        let moves = moves_of(env, ids)?;
        refuse_posted(env, &moves, "changed")?;
        if let Some(target) = values.get("move_id").and_then(Value::as_i64) {
            refuse_posted(env, &[target], "changed")?;
        }
    }
    let reprice = ["quantity", "price_unit", "display_type", "move_id"]
        .iter()
        .any(|k| values.contains_key(*k));
    let done = env.call_super(ids, json!([values]), json!({}))?;
    if reprice {
        price_product_lines(env, ids)?;
    }
    Ok(done)
}

/// Refuses adding lines to posted entries; gives invoice lines their
/// journal's account when they name none, the invoice's partner, and their
/// debit or credit from quantity and price.
#[method(model = "account.move.line", name = "create")]
pub fn line_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    let mut targets: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.get("move_id").and_then(Value::as_i64))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    refuse_posted(env, &targets, "changed")?;
    let moves = env.model::<Move>().read(&targets)?;
    let mut journals: Vec<i64> = moves.iter().map(|m| m.journal_id.id()).collect();
    journals.sort_unstable();
    journals.dedup();
    let journals = env.model::<Journal>().read(&journals)?;
    for row in &mut rows {
        let Some(row) = row.as_object_mut() else {
            continue;
        };
        let Some(entry) = row
            .get("move_id")
            .and_then(Value::as_i64)
            .and_then(|id| moves.iter().find(|m| m.id == id))
        else {
            continue;
        };
        if !entry.move_type.is_invoice() {
            continue;
        }
        if row.get("account_id").is_none_or(|a| !a.is_i64())
            && let Some(account) = journals
                .iter()
                .find(|j| j.id == entry.journal_id.id())
                .and_then(|j| j.default_account_id)
        {
            row.insert("account_id".into(), json!(account.id()));
        }
        if !row.contains_key("partner_id")
            && let Some(partner) = entry.partner_id
        {
            row.insert("partner_id".into(), json!(partner));
        }
    }
    let (created, ids) = create_super(env, rows, single)?;
    if moves.iter().any(|m| m.move_type.is_invoice()) {
        price_product_lines(env, &ids)?;
    }
    Ok(created)
}

/// Refuses deleting lines of posted entries.
#[method(model = "account.move.line", name = "unlink")]
pub fn line_unlink(env: &Env, ids: &[i64]) -> Result<bool> {
    let moves = moves_of(env, ids)?;
    refuse_posted(env, &moves, "deleted")?;
    env.call_super(ids, json!([]), json!({}))
}
