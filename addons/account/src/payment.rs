//! Payments (`account.payment`) and the wizard Odoo's clients register
//! them with (`account.payment.register`): a payment posts a journal entry
//! in a bank or cash journal and matches it with the invoices it pays,
//! whose `payment_state` then reads `paid` (or `partial`).
//!
//! Odoo 19 books a payment on an outstanding receipts/payments account and
//! shows the invoice `in_payment` until a bank statement matches it. This
//! core has no statements: a payment goes straight to the journal's own
//! account (its `default_account_id`), so it is `paid` at once, unless that
//! account allows reconciliation (an outstanding account waiting for its
//! statement), in which case the payment is `in_process` and the invoice
//! `in_payment`, as in Odoo.

use pulse_sdk::prelude::*;

use crate::invoice::{cents, counterpart_account, today};
use crate::{
    Account, DisplayType, Journal, JournalType, Move, MoveLine, MoveState, MoveType,
    PaymentState as InvoicePaymentState, create_super, rows_of,
};

/// Money in or out.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentType {
    /// Receive
    Inbound,
    /// Send
    Outbound,
}

/// Who is paid or pays.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerType {
    /// Customer
    Customer,
    /// Vendor
    Supplier,
}

/// Where a payment stands (Odoo 19's `account.payment.state`).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// Draft
    Draft,
    /// In Process
    InProcess,
    /// Paid
    Paid,
    /// Canceled
    Canceled,
    /// Rejected
    Rejected,
}

/// A payment.
#[derive(Model)]
#[model(name = "account.payment", description = "Payments")]
pub struct Payment {
    /// The record id.
    pub id: i64,
    /// The number of its journal entry, `/` until posted.
    #[field(default = "/", readonly, copy = false, string = "Number")]
    pub name: String,
    /// Money in or out.
    #[field(default = PaymentType::Inbound, string = "Payment Type")]
    pub payment_type: PaymentType,
    /// A customer or a vendor.
    #[field(default = PartnerType::Customer, string = "Partner Type")]
    pub partner_type: PartnerType,
    /// The amount, positive.
    #[field(digits = "16,2")]
    pub amount: f64,
    /// The bank or cash journal (the first one by default).
    #[field(ondelete = "restrict", string = "Journal")]
    pub journal_id: Many2one<Journal>,
    /// The payment date (today by default).
    #[field(kind = "date")]
    pub date: Option<String>,
    /// The customer or vendor.
    #[field(
        kind = "many2one",
        relation = "res.partner",
        string = "Customer/Vendor"
    )]
    pub partner_id: Option<i64>,
    /// A memo, the reference of its journal entry.
    pub memo: Option<String>,
    /// The currency.
    #[field(kind = "many2one", relation = "res.currency", string = "Currency")]
    pub currency_id: Option<i64>,
    /// Draft, in process, paid, canceled or rejected.
    #[field(default = PaymentState::Draft, readonly, copy = false, string = "Status")]
    pub state: PaymentState,
    /// Its journal entry, once posted.
    #[field(
        readonly,
        copy = false,
        ondelete = "restrict",
        string = "Journal Entry"
    )]
    pub move_id: Option<Many2one<Move>>,
    /// The invoices it pays.
    #[field(copy = false, string = "Invoices")]
    pub invoice_ids: Many2many<Move>,
    /// Whether all of it was matched with invoices.
    #[field(readonly, copy = false, string = "Is Reconciled")]
    pub is_reconciled: bool,
}

/// The register-payment wizard, created with the invoices in the context
/// (`active_model`, `active_ids`) as Odoo's clients do.
#[derive(Model)]
#[model(name = "account.payment.register", description = "Pay")]
pub struct PaymentRegister {
    /// The record id.
    pub id: i64,
    /// The receivable and payable items to pay.
    #[field(string = "Journal items")]
    pub line_ids: Many2many<MoveLine>,
    /// The bank or cash journal (the first one by default).
    #[field(string = "Journal")]
    pub journal_id: Option<Many2one<Journal>>,
    /// The payment date (today by default).
    #[field(kind = "date", string = "Payment Date")]
    pub payment_date: Option<String>,
    /// The amount (what is left to pay by default).
    #[field(digits = "16,2")]
    pub amount: f64,
    /// The memo of the payment (the invoices' numbers by default).
    #[field(string = "Memo")]
    pub communication: Option<String>,
    /// The customer or vendor.
    #[field(
        kind = "many2one",
        relation = "res.partner",
        string = "Customer/Vendor"
    )]
    pub partner_id: Option<i64>,
    /// Money in or out.
    #[field(default = PaymentType::Inbound, string = "Payment Type")]
    pub payment_type: PaymentType,
    /// A customer or a vendor.
    #[field(default = PartnerType::Customer, string = "Partner Type")]
    pub partner_type: PartnerType,
    /// The currency.
    #[field(kind = "many2one", relation = "res.currency", string = "Currency")]
    pub currency_id: Option<i64>,
}

/// The first bank or cash journal.
fn default_payment_journal(env: &Env) -> Result<Option<i64>> {
    Ok(env
        .model_named(Journal::NAME)
        .search(
            &Journal::fields()
                .r#type()
                .is_in([JournalType::Bank, JournalType::Cash]),
            0,
            Some(1),
            Some("id"),
        )?
        .first()
        .copied())
}

/// Creates payments with Odoo's defaults: today, the first bank or cash
/// journal.
#[method(model = "account.payment", name = "create")]
pub fn payment_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    for row in &mut rows {
        let Some(row) = row.as_object_mut() else {
            continue;
        };
        if !row.contains_key("date") {
            row.insert("date".into(), json!(today()));
        }
        if row.get("journal_id").is_none_or(|j| !j.is_i64())
            && let Some(journal) = default_payment_journal(env)?
        {
            row.insert("journal_id".into(), json!(journal));
        }
        if let Some(amount) = row.get("amount").and_then(Value::as_f64)
            && amount < 0.0
        {
            return Err(Error::Validation(
                "The payment amount cannot be negative.".into(),
            ));
        }
    }
    Ok(create_super(env, rows, single)?.0)
}

/// The payment term items of `moves` (their receivable or payable lines).
fn term_lines(env: &Env, moves: &[Move]) -> Result<Vec<MoveLine>> {
    let ids: Vec<i64> = moves
        .iter()
        .flat_map(|m| m.line_ids.ids().to_vec())
        .collect();
    Ok(env
        .model::<MoveLine>()
        .read(&ids)?
        .into_iter()
        .filter(|l| l.display_type == DisplayType::PaymentTerm)
        .collect())
}

/// Refuses paying entries that are not posted (Odoo ≤ 17's rule; see
/// docs/odoo-compat.md).
fn refuse_unposted(moves: &[Move]) -> Result<()> {
    if let Some(entry) = moves.iter().find(|m| m.state != MoveState::Posted) {
        return Err(Error::User(format!(
            "You can only register payment for posted journal entries; {} (id {}) is {}.",
            entry.name,
            entry.id,
            entry.state.value()
        )));
    }
    Ok(())
}

/// Posts draft payments: each books a journal entry in its bank or cash
/// journal (the journal's account against the receivable or payable
/// account), posts it and matches it with the invoices it pays, oldest
/// first. Returns `true`.
#[method(model = "account.payment", name = "action_post", public)]
pub fn action_post_payment(env: &Env, ids: &[i64]) -> Result<bool> {
    for payment in env.model::<Payment>().read(ids)? {
        if payment.state != PaymentState::Draft {
            return Err(Error::User(format!(
                "Only a draft payment can be posted; {} (id {}) is {}.",
                payment.name,
                payment.id,
                payment.state.value()
            )));
        }
        if payment.amount <= 0.0 {
            return Err(Error::User(format!(
                "The payment {} has no amount to pay.",
                payment.id
            )));
        }
        let journal = env
            .model::<Journal>()
            .read(&[payment.journal_id.id()])?
            .pop()
            .ok_or_else(|| Error::Missing("the payment's journal does not exist".into()))?;
        if !matches!(journal.r#type, JournalType::Bank | JournalType::Cash) {
            return Err(Error::User(format!(
                "A payment must belong to a bank or cash journal; {} is a {} journal.",
                journal.code,
                journal.r#type.value()
            )));
        }
        let liquidity = journal.default_account_id.ok_or_else(|| {
            Error::User(format!(
                "The journal {} has no account (default_account_id) to book the payment on.",
                journal.code
            ))
        })?;
        let invoices = env.model::<Move>().read(payment.invoice_ids.ids())?;
        refuse_unposted(&invoices)?;
        let mut open = term_lines(env, &invoices)?;
        open.retain(|l| l.amount_residual != 0.0);
        open.sort_by(|a, b| a.date_maturity.cmp(&b.date_maturity).then(a.id.cmp(&b.id)));
        let customer = payment.partner_type == PartnerType::Customer;
        let counterpart = match open.first() {
            Some(line) => line.account_id.id(),
            None => counterpart_account(env, customer)?,
        };
        let amount = cents(payment.amount);
        // Money in debits the bank and credits the receivable.
        let inbound = payment.payment_type == PaymentType::Inbound;
        let (bank_debit, bank_credit) = if inbound {
            (amount, 0.0)
        } else {
            (0.0, amount)
        };
        let date = payment.date.clone().unwrap_or_else(today);
        let mut entry = Move::create()
            .move_type(MoveType::Entry)
            .journal_id(journal.id)
            .date(date);
        if let Some(partner) = payment.partner_id {
            entry = entry.partner_id(partner);
        }
        if let Some(memo) = &payment.memo {
            entry = entry.r#ref(memo.as_str());
        }
        let move_id = env.model::<Move>().create_one(entry)?;
        let label = payment.memo.clone().unwrap_or_else(|| "Payment".into());
        let line = |account: i64, debit: f64, credit: f64| {
            let mut line = MoveLine::create()
                .move_id(move_id)
                .account_id(account)
                .name(label.as_str())
                .debit(debit)
                .credit(credit);
            if let Some(partner) = payment.partner_id {
                line = line.partner_id(partner);
            }
            line
        };
        let created = env.model::<MoveLine>().create([
            line(liquidity.id(), bank_debit, bank_credit),
            line(counterpart, bank_credit, bank_debit),
        ])?;
        env.call::<bool>(Move::NAME, "action_post", &[move_id], json!([]), json!({}))?;
        let counterpart_line = created[1];
        // Match the payment's counterpart with the invoices' open items.
        let mut left = amount;
        let mut touched: Vec<i64> = Vec::new();
        for item in &open {
            if left <= 0.0 {
                break;
            }
            // Only items the payment settles: receivables (positive) by money in.
            if (item.amount_residual > 0.0) != inbound {
                continue;
            }
            let applied = left.min(item.amount_residual.abs());
            let residual = cents(item.amount_residual - item.amount_residual.signum() * applied);
            env.model::<MoveLine>().write(
                &[item.id],
                MoveLine::write()
                    .amount_residual(residual)
                    .reconciled(residual == 0.0),
            )?;
            left = cents(left - applied);
            touched.push(item.move_id.id());
        }
        let counterpart_open = if inbound { -left } else { left };
        let reconcilable = env
            .model::<Account>()
            .read(&[counterpart])?
            .first()
            .is_some_and(|a| a.reconcile);
        if reconcilable {
            env.model::<MoveLine>().write(
                &[counterpart_line],
                MoveLine::write()
                    .amount_residual(counterpart_open)
                    .reconciled(counterpart_open == 0.0),
            )?;
        }
        // A payment waiting on an outstanding account is in process.
        let waits_for_statement = env
            .model::<Account>()
            .read(&[liquidity.id()])?
            .first()
            .is_some_and(|a| a.reconcile);
        touched.sort_unstable();
        touched.dedup();
        for invoice in env.model::<Move>().read(&touched)? {
            let residual: f64 = term_lines(env, std::slice::from_ref(&invoice))?
                .iter()
                .map(|l| l.amount_residual)
                .sum();
            let state = if cents(residual) != 0.0 {
                InvoicePaymentState::Partial
            } else if waits_for_statement {
                InvoicePaymentState::InPayment
            } else {
                InvoicePaymentState::Paid
            };
            env.model::<Move>()
                .write(&[invoice.id], Move::write().payment_state(state))?;
        }
        let posted_name = env
            .model::<Move>()
            .read(&[move_id])?
            .pop()
            .map(|m| m.name)
            .unwrap_or_default();
        let state = if waits_for_statement {
            PaymentState::InProcess
        } else {
            PaymentState::Paid
        };
        env.model::<Payment>().write(
            &[payment.id],
            Payment::write()
                .state(state)
                .name(posted_name)
                .move_id(move_id)
                .is_reconciled(left == 0.0),
        )?;
    }
    Ok(true)
}

/// Cancels draft payments. A posted payment stays: this core cannot
/// unmatch it from its invoices. Returns `true`.
#[method(model = "account.payment", name = "action_cancel", public)]
pub fn action_cancel_payment(env: &Env, ids: &[i64]) -> Result<bool> {
    let payments = env.model::<Payment>().read(ids)?;
    if let Some(posted) = payments.iter().find(|p| p.state != PaymentState::Draft) {
        return Err(Error::User(format!(
            "Only draft payments can be cancelled here; {} (id {}) is {}.",
            posted.name,
            posted.id,
            posted.state.value()
        )));
    }
    env.model::<Payment>()
        .write(ids, Payment::write().state(PaymentState::Canceled))?;
    Ok(true)
}

/// The ids in the context's `active_ids`.
fn active_ids(env: &Env) -> Vec<i64> {
    match env.context().extra.get("active_ids") {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
        Some(id) => id.as_i64().into_iter().collect(),
        None => Vec::new(),
    }
}

/// The ids an x2many value names: `[[6, 0, ids]]`, `[[4, id]]` or a bare
/// list of ids.
fn command_ids(value: &Value) -> Vec<i64> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for item in items {
        match item {
            Value::Number(n) => ids.extend(n.as_i64()),
            Value::Array(command) => match command.first().and_then(Value::as_i64) {
                Some(6) => ids.extend(
                    command
                        .get(2)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_i64),
                ),
                Some(4) => ids.extend(command.get(1).and_then(Value::as_i64)),
                _ => {}
            },
            _ => {}
        }
    }
    ids
}

/// The open receivable and payable items the wizard pays: those of the
/// context's invoices (`active_model` `account.move`) or items
/// (`account.move.line`), else those it is given.
fn wizard_lines(env: &Env, row: &Map<String, Value>) -> Result<Vec<MoveLine>> {
    let model = env
        .context()
        .extra
        .get("active_model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let given = row.get("line_ids").map(command_ids).unwrap_or_default();
    let lines = if !given.is_empty() {
        env.model::<MoveLine>().read(&given)?
    } else if model == Move::NAME {
        let moves = env.model::<Move>().read(&active_ids(env))?;
        refuse_unposted(&moves)?;
        term_lines(env, &moves)?
    } else if model == MoveLine::NAME {
        env.model::<MoveLine>().read(&active_ids(env))?
    } else {
        return Err(Error::User(
            "The register payment wizard should only be called on account.move or account.move.line records.".into(),
        ));
    };
    let moves = env.model::<Move>().read(&{
        let mut ids: Vec<i64> = lines.iter().map(|l| l.move_id.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    })?;
    refuse_unposted(&moves)?;
    let open: Vec<MoveLine> = lines
        .into_iter()
        .filter(|l| l.display_type == DisplayType::PaymentTerm && l.amount_residual != 0.0)
        .collect();
    if open.is_empty() {
        return Err(Error::User(
            "You can't register a payment because there is nothing left to pay on the selected journal items.".into(),
        ));
    }
    Ok(open)
}

/// Creates the wizard with what Odoo's `default_get` fills from the
/// context: the open items, the amount left to pay, the partner, the
/// payment and partner types, the memo, today and the first bank or cash
/// journal.
#[method(model = "account.payment.register", name = "create")]
pub fn register_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    for row in &mut rows {
        let Some(row) = row.as_object_mut() else {
            continue;
        };
        let lines = wizard_lines(env, row)?;
        let residual: f64 = lines.iter().map(|l| l.amount_residual).sum();
        let line_ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
        row.insert("line_ids".into(), json!([[6, 0, line_ids]]));
        let receivable = residual > 0.0;
        let defaults = [
            ("amount", json!(cents(residual.abs()))),
            (
                "payment_type",
                json!(if receivable { "inbound" } else { "outbound" }),
            ),
            (
                "partner_type",
                json!(if receivable { "customer" } else { "supplier" }),
            ),
            ("payment_date", json!(today())),
        ];
        for (key, value) in defaults {
            row.entry(key).or_insert(value);
        }
        if !row.contains_key("partner_id")
            && let Some(partner) = lines.iter().find_map(|l| l.partner_id)
        {
            row.insert("partner_id".into(), json!(partner));
        }
        if !row.contains_key("communication") {
            let mut moves: Vec<i64> = lines.iter().map(|l| l.move_id.id()).collect();
            moves.sort_unstable();
            moves.dedup();
            let names: Vec<String> = env
                .model::<Move>()
                .read(&moves)?
                .into_iter()
                .map(|m| m.name)
                .collect();
            row.insert("communication".into(), json!(names.join(" ")));
        }
        if row.get("journal_id").is_none_or(|j| !j.is_i64())
            && let Some(journal) = default_payment_journal(env)?
        {
            row.insert("journal_id".into(), json!(journal));
        }
    }
    Ok(create_super(env, rows, single)?.0)
}

/// Creates and posts the payment of each wizard, matched with its items'
/// invoices. Returns Odoo's window action on the payment, or `true` with
/// `dont_redirect_to_payments` in the context.
#[method(model = "account.payment.register", public)]
pub fn action_create_payments(env: &Env, ids: &[i64]) -> Result<Value> {
    let mut payments = Vec::new();
    for wizard in env.model::<PaymentRegister>().read(ids)? {
        let lines = env.model::<MoveLine>().read(wizard.line_ids.ids())?;
        let mut moves: Vec<i64> = lines.iter().map(|l| l.move_id.id()).collect();
        moves.sort_unstable();
        moves.dedup();
        refuse_unposted(&env.model::<Move>().read(&moves)?)?;
        let journal = match wizard.journal_id {
            Some(journal) => journal.id(),
            None => default_payment_journal(env)?.ok_or_else(|| {
                Error::User(
                    "There is no bank or cash journal to pay with; create one first.".into(),
                )
            })?,
        };
        let mut payment = Payment::create()
            .payment_type(wizard.payment_type)
            .partner_type(wizard.partner_type)
            .amount(wizard.amount)
            .journal_id(journal)
            .date(wizard.payment_date.clone().unwrap_or_else(today))
            .invoice_ids(moves);
        if let Some(partner) = wizard.partner_id {
            payment = payment.partner_id(partner);
        }
        if let Some(memo) = &wizard.communication {
            payment = payment.memo(memo.as_str());
        }
        if let Some(currency) = wizard.currency_id {
            payment = payment.currency_id(currency);
        }
        payments.push(env.model::<Payment>().create_one(payment)?);
    }
    env.call::<bool>(
        Payment::NAME,
        "action_post",
        &payments,
        json!([]),
        json!({}),
    )?;
    if env
        .context()
        .extra
        .get("dont_redirect_to_payments")
        .is_some_and(|v| v.as_bool().unwrap_or(false))
    {
        return Ok(json!(true));
    }
    let mut action = json!({
        "name": "Payments",
        "type": "ir.actions.act_window",
        "res_model": Payment::NAME,
        "context": {"create": false},
    });
    if let [payment] = payments.as_slice() {
        action["view_mode"] = json!("form");
        action["res_id"] = json!(payment);
    } else {
        action["view_mode"] = json!("list,form");
        action["domain"] = json!([["id", "in", payments]]);
    }
    Ok(action)
}
