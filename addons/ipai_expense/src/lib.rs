//! `ipai_expense`: employees' expenses. An expense is drafted, submitted,
//! approved by a manager (or rejected with a reason) and posted: posting
//! creates and posts the balanced journal entry, the category's expense
//! account against its payable account.
//!
//! Approval is a right, not a check in code: approving creates an
//! `ipai.expense.approval` record, which only Expense Managers may create.

use account::client::AccountMove;
use account::{Account, Journal, Move, MoveLine};
use hr::Employee;
use pulse_sdk::prelude::*;

/// Where an expense stands.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpenseState {
    /// Draft
    Draft,
    /// Submitted
    Submitted,
    /// Approved
    Approved,
    /// Posted
    Posted,
    /// Rejected
    Rejected,
}

/// What an expense is for, and where it is booked.
#[derive(Model)]
#[model(name = "ipai.expense.category", description = "Expense Category")]
pub struct Category {
    /// The record id.
    pub id: i64,
    /// The category, e.g. Travel.
    #[field(required, unique)]
    pub name: String,
    /// The expense account debited.
    #[field(ondelete = "restrict")]
    pub account_id: Many2one<Account>,
    /// The account credited: what is owed to the employee.
    #[field(ondelete = "restrict")]
    pub payable_account_id: Many2one<Account>,
    /// The journal the entries go to.
    #[field(ondelete = "restrict")]
    pub journal_id: Many2one<Journal>,
}

/// An expense of an employee.
#[derive(Model)]
#[model(name = "ipai.expense", description = "Expense")]
#[check(
    name = "amount_positive",
    domain = r#"[["amount", ">", 0]]"#,
    message = "An expense amount must be positive."
)]
pub struct Expense {
    /// The record id.
    pub id: i64,
    /// What was bought.
    #[field(required)]
    pub name: String,
    /// Who spent it.
    #[field(index)]
    pub employee_id: Many2one<Employee>,
    /// The category.
    pub category_id: Many2one<Category>,
    /// The amount.
    #[field(digits = "16,2")]
    pub amount: f64,
    /// When it was spent.
    #[field(kind = "date", required)]
    pub date: String,
    /// Where it stands.
    #[field(default = ExpenseState::Draft, readonly, copy = false, index)]
    pub state: ExpenseState,
    /// Why it was rejected.
    #[field(readonly, copy = false)]
    pub reject_reason: Option<String>,
    /// The journal entry posting created.
    #[field(readonly, copy = false)]
    pub move_id: Option<Many2one<Move>>,
}

/// A manager's approval of an expense (only managers may create one).
#[derive(Model)]
#[model(name = "ipai.expense.approval", description = "Expense Approval")]
pub struct Approval {
    /// The record id.
    pub id: i64,
    /// The expense approved.
    #[field(ondelete = "cascade")]
    pub expense_id: Many2one<Expense>,
    /// A remark.
    pub name: Option<String>,
}

fn expenses(env: &Env, ids: &[i64]) -> Result<Vec<Expense>> {
    let found = env.model::<Expense>().read(ids)?;
    if found.len() != ids.len() {
        return Err(Error::Missing(
            "Some of these expenses no longer exist.".into(),
        ));
    }
    Ok(found)
}

fn require(expense: &Expense, state: ExpenseState, action: &str) -> Result<()> {
    if expense.state == state {
        Ok(())
    } else {
        Err(Error::User(format!(
            "Expense '{}' can only be {action} when {}; it is {}.",
            expense.name,
            state.value(),
            expense.state.value()
        )))
    }
}

fn set_state(env: &Env, id: i64, values: ExpenseWrite) -> Result<()> {
    env.model::<Expense>().write(&[id], values)
}

/// Submits draft expenses for approval.
#[method(model = "ipai.expense")]
pub fn action_submit(env: &Env, ids: &[i64]) -> Result<bool> {
    for expense in expenses(env, ids)? {
        require(&expense, ExpenseState::Draft, "submitted")?;
        set_state(
            env,
            expense.id,
            Expense::write().state(ExpenseState::Submitted),
        )?;
    }
    Ok(true)
}

/// Approves submitted expenses (Expense Managers only).
#[method(model = "ipai.expense")]
pub fn action_approve(env: &Env, ids: &[i64]) -> Result<bool> {
    for expense in expenses(env, ids)? {
        require(&expense, ExpenseState::Submitted, "approved")?;
        env.model::<Approval>()
            .create_one(Approval::create().expense_id(expense.id))?;
        set_state(
            env,
            expense.id,
            Expense::write().state(ExpenseState::Approved),
        )?;
    }
    Ok(true)
}

/// Rejects submitted expenses with a reason (Expense Managers only).
#[method(model = "ipai.expense")]
pub fn action_reject(env: &Env, ids: &[i64], reason: String) -> Result<bool> {
    if reason.trim().is_empty() {
        return Err(Error::User("Say why the expense is rejected.".into()));
    }
    for expense in expenses(env, ids)? {
        require(&expense, ExpenseState::Submitted, "rejected")?;
        env.model::<Approval>().create_one(
            Approval::create()
                .expense_id(expense.id)
                .name(format!("rejected: {reason}")),
        )?;
        set_state(
            env,
            expense.id,
            Expense::write()
                .state(ExpenseState::Rejected)
                .reject_reason(&reason),
        )?;
    }
    Ok(true)
}

/// Posts approved expenses: one balanced, posted journal entry each.
#[method(model = "ipai.expense")]
pub fn action_post(env: &Env, ids: &[i64]) -> Result<Vec<i64>> {
    let mut moves = Vec::new();
    for expense in expenses(env, ids)? {
        require(&expense, ExpenseState::Approved, "posted")?;
        let category = env
            .model::<Category>()
            .read(&[expense.category_id.id()])?
            .pop()
            .ok_or_else(|| {
                Error::Missing(format!(
                    "category {} does not exist",
                    expense.category_id.id()
                ))
            })?;
        let employee = env
            .model::<Employee>()
            .read(&[expense.employee_id.id()])?
            .pop()
            .map(|e| e.name)
            .unwrap_or_default();
        let label = format!("{employee}: {}", expense.name);
        let move_id = env.model::<Move>().create_one(
            Move::create()
                .journal_id(category.journal_id.id())
                .date(&expense.date)
                .r#ref(format!("EXP/{}", expense.id)),
        )?;
        env.model::<MoveLine>().create([
            MoveLine::create()
                .move_id(move_id)
                .account_id(category.account_id.id())
                .name(&label)
                .debit(expense.amount)
                .credit(0.0),
            MoveLine::create()
                .move_id(move_id)
                .account_id(category.payable_account_id.id())
                .name(&label)
                .debit(0.0)
                .credit(expense.amount),
        ])?;
        AccountMove::action_post(env, &[move_id])?;
        set_state(
            env,
            expense.id,
            Expense::write()
                .state(ExpenseState::Posted)
                .move_id(move_id),
        )?;
        moves.push(move_id);
    }
    Ok(moves)
}

pulse_sdk::addon! {
    models: [Category, Expense, Approval],
    methods: [action_submit, action_approve, action_reject, action_post],
}
