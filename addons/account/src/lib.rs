//! `account`: the core of accounting in Odoo 19's vocabulary, small but
//! real. A chart of accounts (`account.account` with Odoo's
//! `account_type`s), journals (`account.journal`, `type`) that number what
//! they post (`INV/2026/00001`), journal entries and customer and vendor
//! invoices (`account.move`, `move_type`) that post only when balanced and
//! never change once posted, a lock date per journal, and payments
//! (`account.payment`, the `account.payment.register` wizard) that mark an
//! invoice paid.
//!
//! Other addons extend it: `ipai_finance_ssc` adds the agency and its own
//! lock date by overriding `action_post`. They depend on this crate with
//! `default-features = false, features = ["client"]`: its model types, and
//! [`client`] for its public methods, without exporting this addon again.

use pulse_sdk::prelude::*;

mod invoice;
mod payment;

pub use invoice::{action_post, button_cancel, button_draft};
pub use payment::{Payment, PaymentRegister, PaymentState as PaymentStatus, PaymentType};

/// Typed calls to this addon's public methods, for the addons that depend
/// on it (the `client` feature).
#[cfg(feature = "client")]
pub mod client {
    /// `account.move`'s public methods.
    pub struct AccountMove;
    /// `account.payment`'s public methods.
    pub struct AccountPayment;
    /// `account.payment.register`'s public methods.
    pub struct AccountPaymentRegister;
}

/// What kind of account it is (Odoo 19's `account_type`); reports group by
/// it, invoices find their receivable and payable accounts by it.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountType {
    /// Receivable
    AssetReceivable,
    /// Bank and Cash
    AssetCash,
    /// Current Assets
    AssetCurrent,
    /// Non-current Assets
    AssetNonCurrent,
    /// Prepayments
    AssetPrepayments,
    /// Fixed Assets
    AssetFixed,
    /// Payable
    LiabilityPayable,
    /// Credit Card
    LiabilityCreditCard,
    /// Current Liabilities
    LiabilityCurrent,
    /// Non-current Liabilities
    LiabilityNonCurrent,
    /// Equity
    Equity,
    /// Current Year Earnings
    EquityUnaffected,
    /// Income
    Income,
    /// Other Income
    IncomeOther,
    /// Expenses
    Expense,
    /// Other Expenses
    ExpenseOther,
    /// Depreciation
    ExpenseDepreciation,
    /// Cost of Revenue
    ExpenseDirectCost,
    /// Off-Balance Sheet
    OffBalance,
}

impl AccountType {
    /// Odoo's `internal_group`: the part of the type before its first `_`
    /// (`off` for off-balance accounts).
    pub fn internal_group(self) -> &'static str {
        let value = self.value();
        value.split('_').next().unwrap_or(value)
    }

    /// Whether Odoo requires the account to allow reconciliation.
    pub fn is_receivable_or_payable(self) -> bool {
        matches!(
            self,
            AccountType::AssetReceivable | AccountType::LiabilityPayable
        )
    }
}

/// The type of a journal (Odoo's `account.journal.type`).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalType {
    /// Sales
    Sale,
    /// Purchase
    Purchase,
    /// Cash
    Cash,
    /// Bank
    Bank,
    /// Credit Card
    Credit,
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

/// What a journal entry is (Odoo's `move_type`).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveType {
    /// Journal Entry
    Entry,
    /// Customer Invoice
    OutInvoice,
    /// Customer Credit Note
    OutRefund,
    /// Vendor Bill
    InInvoice,
    /// Vendor Credit Note
    InRefund,
    /// Sales Receipt
    OutReceipt,
    /// Purchase Receipt
    InReceipt,
}

impl MoveType {
    /// Whether it is a customer document (its open amount is receivable).
    pub fn is_sale(self) -> bool {
        matches!(
            self,
            MoveType::OutInvoice | MoveType::OutRefund | MoveType::OutReceipt
        )
    }

    /// Whether it is a vendor document (its open amount is payable).
    pub fn is_purchase(self) -> bool {
        matches!(
            self,
            MoveType::InInvoice | MoveType::InRefund | MoveType::InReceipt
        )
    }

    /// Whether it is an invoice, credit note or receipt rather than an entry.
    pub fn is_invoice(self) -> bool {
        self != MoveType::Entry
    }

    /// The sign of a product line's balance: income is credited on a
    /// customer invoice, an expense debited on a vendor bill, and the other
    /// way round on credit notes.
    pub fn product_sign(self) -> f64 {
        match self {
            MoveType::OutInvoice | MoveType::OutReceipt | MoveType::InRefund => -1.0,
            MoveType::InInvoice | MoveType::InReceipt | MoveType::OutRefund => 1.0,
            MoveType::Entry => 1.0,
        }
    }
}

/// How much of an invoice is paid (Odoo's `payment_state`).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// Not Paid
    NotPaid,
    /// In Payment
    InPayment,
    /// Paid
    Paid,
    /// Partially Paid
    Partial,
    /// Reversed
    Reversed,
    /// Blocked
    Blocked,
    /// Invoicing App Legacy
    InvoicingLegacy,
}

/// What a journal item is on its entry (Odoo's `display_type`).
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayType {
    /// Product
    Product,
    /// Cost of Goods Sold
    Cogs,
    /// Tax
    Tax,
    /// Discount
    Discount,
    /// Rounding
    Rounding,
    /// Payment Term
    PaymentTerm,
    /// Section
    LineSection,
    /// Subsection
    LineSubsection,
    /// Note
    LineNote,
    /// Early Payment Discount
    Epd,
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
    #[field(required, string = "Account Name")]
    pub name: String,
    /// What kind of account it is (Odoo 19's selection values).
    #[field(index, string = "Type")]
    pub account_type: AccountType,
    /// The part of the type before its first `_`: asset, liability,
    /// equity, income, expense or off.
    #[field(
        kind = "selection",
        selection = "equity:Equity,asset:Asset,liability:Liability,income:Income,expense:Expense,off:Off Balance",
        compute = "compute_internal_group",
        depends = "account_type",
        string = "Internal Group"
    )]
    pub internal_group: Option<String>,
    /// Whether invoices and payments may be matched on this account;
    /// receivable and payable accounts must allow it.
    #[field(string = "Allow Reconciliation")]
    pub reconcile: bool,
    /// The currency every item of the account is in (bank accounts).
    #[field(
        kind = "many2one",
        relation = "res.currency",
        string = "Account Currency"
    )]
    pub currency_id: Option<i64>,
    /// The companies the account belongs to (the user's by default).
    #[field(kind = "many2many", relation = "res.company", string = "Companies")]
    pub company_ids: Vec<i64>,
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
    #[field(required, unique, string = "Short Code")]
    pub code: String,
    /// The journal name.
    #[field(required, string = "Journal Name")]
    pub name: String,
    /// The journal type.
    #[field(string = "Type")]
    pub r#type: JournalType,
    /// The account of the journal: the bank account of a bank journal,
    /// the income or expense account of invoice lines without one.
    #[field(ondelete = "restrict", string = "Default Account")]
    pub default_account_id: Option<Many2one<Account>>,
    /// The journal's currency, when not the company's.
    #[field(kind = "many2one", relation = "res.currency", string = "Currency")]
    pub currency_id: Option<i64>,
    /// The company (the user's by default).
    #[field(kind = "many2one", relation = "res.company", string = "Company")]
    pub company_id: Option<i64>,
    /// The next number of an entry posted in this journal.
    #[field(copy = false, default = 1, readonly)]
    pub sequence_next: i64,
    /// Entries dated on or before this date cannot be posted.
    #[field(kind = "date")]
    pub lock_date: Option<String>,
}

/// A journal entry, an invoice or a credit note.
#[derive(Model)]
#[model(name = "account.move", description = "Journal Entry")]
pub struct Move {
    /// The record id.
    pub id: i64,
    /// The number, `/` until posted.
    #[field(default = "/", readonly, copy = false, string = "Number")]
    pub name: String,
    /// An entry, or which kind of invoice.
    #[field(default = MoveType::Entry, string = "Type", index)]
    pub move_type: MoveType,
    /// The journal (by default the first of the type the move needs).
    #[field(ondelete = "restrict")]
    pub journal_id: Many2one<Journal>,
    /// The accounting date (by default the invoice date).
    #[field(kind = "date", required, index)]
    pub date: String,
    /// The customer or vendor.
    #[field(kind = "many2one", relation = "res.partner", string = "Partner")]
    pub partner_id: Option<i64>,
    /// The invoice date (the accounting date when posted without one).
    #[field(kind = "date", copy = false, string = "Invoice/Bill Date")]
    pub invoice_date: Option<String>,
    /// When the invoice is due (its date when not set).
    #[field(kind = "date", string = "Due Date")]
    pub invoice_date_due: Option<String>,
    /// A reference (the vendor's bill number, a statement line, …).
    #[field(string = "Reference")]
    pub r#ref: Option<String>,
    /// The currency (the journal's, else the company's).
    #[field(kind = "many2one", relation = "res.currency", string = "Currency")]
    pub currency_id: Option<i64>,
    /// Draft, posted or cancelled.
    #[field(default = MoveState::Draft, readonly, copy = false, index, string = "Status")]
    pub state: MoveState,
    /// Every journal item; a copy of the entry copies them, as in Odoo.
    #[field(inverse = "move_id", copy = true, string = "Journal Items")]
    pub line_ids: One2many<MoveLine>,
    /// The invoice lines. Written, they are the product lines of an
    /// invoice; read, they list the entry's items (see docs/odoo-compat.md).
    #[field(inverse = "move_id", copy = false, string = "Invoice lines")]
    pub invoice_line_ids: One2many<MoveLine>,
    /// Untaxed amount: the product lines (the debits of an entry).
    #[field(
        compute = "compute_amounts",
        depends = "move_type,line_ids.debit,line_ids.credit,line_ids.display_type",
        digits = "16,2",
        string = "Untaxed Amount"
    )]
    pub amount_untaxed: f64,
    /// Taxes (none: this core has no taxes).
    #[field(
        compute = "compute_amount_tax",
        depends = "move_type",
        digits = "16,2",
        string = "Tax"
    )]
    pub amount_tax: f64,
    /// The total: untaxed amount and taxes (the debits of an entry).
    #[field(
        compute = "compute_amount_total",
        depends = "move_type,line_ids.debit,line_ids.credit,line_ids.display_type",
        digits = "16,2",
        string = "Total"
    )]
    pub amount_total: f64,
    /// What is still to pay: the open part of the receivable or payable
    /// item once posted, the total before.
    #[field(
        compute = "compute_amount_residual",
        depends = "move_type,line_ids.debit,line_ids.credit,line_ids.display_type,line_ids.amount_residual",
        digits = "16,2",
        string = "Amount Due"
    )]
    pub amount_residual: f64,
    /// How much of it is paid.
    #[field(default = PaymentState::NotPaid, readonly, copy = false, string = "Payment Status")]
    pub payment_state: PaymentState,
}

/// A line of a journal entry (a journal item).
#[derive(Model)]
#[model(name = "account.move.line", description = "Journal Item")]
pub struct MoveLine {
    /// The record id.
    pub id: i64,
    /// The entry.
    #[field(ondelete = "cascade", string = "Journal Entry")]
    pub move_id: Many2one<Move>,
    /// The account (an invoice line's defaults to its journal's account).
    #[field(ondelete = "restrict", index)]
    pub account_id: Many2one<Account>,
    /// The partner.
    #[field(kind = "many2one", relation = "res.partner", string = "Partner")]
    pub partner_id: Option<i64>,
    /// The label.
    #[field(string = "Label")]
    pub name: Option<String>,
    /// A reference to match on (a payment reference).
    #[field(string = "Reference")]
    pub r#ref: Option<String>,
    /// What the line is: a product line, the payment term (receivable or
    /// payable) line an invoice posts, a section or a note.
    #[field(default = DisplayType::Product)]
    pub display_type: DisplayType,
    /// Quantity of an invoice line.
    #[field(default = 1.0, digits = "16,2")]
    pub quantity: f64,
    /// Unit price of an invoice line.
    #[field(digits = "16,2", string = "Unit Price")]
    pub price_unit: f64,
    /// Quantity times unit price.
    #[field(
        compute = "compute_price_subtotal",
        depends = "quantity,price_unit",
        digits = "16,2",
        string = "Subtotal"
    )]
    pub price_subtotal: f64,
    /// Debit.
    #[field(digits = "16,2")]
    pub debit: f64,
    /// Credit.
    #[field(digits = "16,2")]
    pub credit: f64,
    /// Debit minus credit.
    #[field(compute = "compute_balance", depends = "debit,credit", digits = "16,2")]
    pub balance: f64,
    /// What is still open of the balance, on accounts that reconcile.
    #[field(readonly, copy = false, digits = "16,2", string = "Residual Amount")]
    pub amount_residual: f64,
    /// When an invoice's open amount is due.
    #[field(kind = "date", string = "Due Date")]
    pub date_maturity: Option<String>,
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

/// Each account's internal group.
#[method(model = "account.account")]
pub fn compute_internal_group(env: &Env, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    Ok(env
        .model::<Account>()
        .read(ids)?
        .iter()
        .map(|a| (a.id, a.account_type.internal_group().to_string()))
        .collect())
}

/// The company new accounts and journals belong to: the user's, else the
/// first one.
pub(crate) fn default_company(env: &Env) -> Result<Option<i64>> {
    if let Some(company) = env.user()?.company_id {
        return Ok(Some(company));
    }
    Ok(env
        .model_named("res.company")
        .search(&Domain::all(), 0, Some(1), Some("id"))?
        .first()
        .copied())
}

/// The rows of a `create` call, one or many, and whether it was one (Odoo
/// answers a single dict with an id, a list with a list of ids).
pub(crate) fn rows_of(rows: Value) -> (Vec<Value>, bool) {
    match rows {
        Value::Array(rows) => (rows, false),
        one => (vec![one], true),
    }
}

/// Creates `rows` through the rest of the override chain, answering as
/// Odoo does: an id for a single row given as a dict, else the ids.
pub(crate) fn create_super(env: &Env, rows: Vec<Value>, single: bool) -> Result<(Value, Vec<i64>)> {
    let created: Value = env.call_super(&[], json!([rows]), json!({}))?;
    let ids: Vec<i64> = match &created {
        Value::Array(ids) => ids.iter().filter_map(Value::as_i64).collect(),
        one => one.as_i64().into_iter().collect(),
    };
    let answer = match (single, ids.as_slice()) {
        (true, [id]) => json!(id),
        _ => json!(ids),
    };
    Ok((answer, ids))
}

/// Creates accounts: in the user's company unless told, and receivable and
/// payable ones reconcilable, as Odoo's computed defaults make them.
#[method(model = "account.account", name = "create")]
pub fn account_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    let company = default_company(env)?;
    for row in &mut rows {
        let Some(row) = row.as_object_mut() else {
            continue;
        };
        let receivable_or_payable = matches!(
            row.get("account_type").and_then(Value::as_str),
            Some("asset_receivable" | "liability_payable")
        );
        if receivable_or_payable && !row.contains_key("reconcile") {
            row.insert("reconcile".into(), json!(true));
        }
        if !row.contains_key("company_ids")
            && let Some(company) = company
        {
            row.insert("company_ids".into(), json!([[6, 0, [company]]]));
        }
    }
    let (created, ids) = create_super(env, rows, single)?;
    check_reconcile(env, &ids)?;
    Ok(created)
}

/// Keeps receivable and payable accounts reconcilable.
#[method(model = "account.account", name = "write")]
pub fn account_write(env: &Env, ids: &[i64], values: Map<String, Value>) -> Result<bool> {
    let checked = values.contains_key("account_type") || values.contains_key("reconcile");
    let done = env.call_super(ids, json!([values]), json!({}))?;
    if checked {
        check_reconcile(env, ids)?;
    }
    Ok(done)
}

/// Odoo's `_check_reconcile` and `_constrains_reconcile`, by a search so
/// that a write on many accounts reads only the offending ones.
fn check_reconcile(env: &Env, ids: &[i64]) -> Result<()> {
    let f = Account::fields();
    let mine = Domain::leaf("id", "in", json!(ids));
    let open = env.model::<Account>().search(
        &(mine.clone()
            & f.account_type()
                .is_in([AccountType::AssetReceivable, AccountType::LiabilityPayable])
            & f.reconcile().eq(false)),
    )?;
    if let Some(account) = env.model::<Account>().read(&open)?.first() {
        return Err(Error::Validation(format!(
            "You cannot have a receivable/payable account that is not reconcilable. (account code: {})",
            account.code
        )));
    }
    let off_balance = env.model::<Account>().search_count(
        &(mine & f.account_type().eq(AccountType::OffBalance) & f.reconcile().eq(true)),
    )?;
    if off_balance > 0 {
        return Err(Error::User(
            "An Off-Balance account can not be reconcilable".into(),
        ));
    }
    Ok(())
}

/// Creates journals in the user's company unless told.
#[method(model = "account.journal", name = "create")]
pub fn journal_create(env: &Env, _ids: &[i64], rows: Value) -> Result<Value> {
    let (mut rows, single) = rows_of(rows);
    let company = default_company(env)?;
    for row in &mut rows {
        if let Some(row) = row.as_object_mut()
            && !row.contains_key("company_id")
            && let Some(company) = company
        {
            row.insert("company_id".into(), json!(company));
        }
    }
    Ok(create_super(env, rows, single)?.0)
}

/// Each item's quantity times unit price.
#[method(model = "account.move.line")]
pub fn compute_price_subtotal(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    Ok(env
        .model::<MoveLine>()
        .read(ids)?
        .iter()
        .map(|l| {
            (
                l.id,
                pulse_sdk::tools::float_round(
                    l.quantity * l.price_unit,
                    2,
                    pulse_sdk::tools::RoundingMethod::HalfUp,
                ),
            )
        })
        .collect())
}

/// Each item's debit minus credit.
#[method(model = "account.move.line")]
pub fn compute_balance(env: &Env, ids: &[i64]) -> Result<Vec<(i64, f64)>> {
    Ok(env
        .model::<MoveLine>()
        .read(ids)?
        .iter()
        .map(|l| (l.id, l.debit - l.credit))
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

pulse_sdk::addon! {
    exports_if: feature = "addon",
    models: [Account, Journal, Move, MoveLine, Payment, PaymentRegister],
    methods: [
        compute_internal_group, account_create, account_write, journal_create,
        compute_price_subtotal, compute_balance, compute_line_date, compute_parent_state,
        invoice::compute_amounts, invoice::compute_amount_tax, invoice::compute_amount_total,
        invoice::compute_amount_residual, invoice::move_create, action_post, button_draft,
        button_cancel, invoice::write, invoice::unlink, invoice::line_write,
        invoice::line_create, invoice::line_unlink, payment::payment_create,
        payment::action_post_payment, payment::action_cancel_payment,
        payment::register_create, payment::action_create_payments,
    ],
}
