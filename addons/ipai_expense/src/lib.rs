//! `ipai_expense`: employees' expenses. An expense is drafted, submitted,
//! approved by a manager (or rejected with a reason) and posted: posting
//! creates and posts the balanced journal entry, the category's expense
//! account against its payable account.
//!
//! Approval is a right, not a check in code: approving creates an
//! `ipai.expense.approval` record, which only Expense Managers may create.

use pulse_sdk::prelude::*;

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
    #[field(
        kind = "many2one",
        relation = "account.account",
        required,
        ondelete = "restrict"
    )]
    pub account_id: i64,
    /// The account credited: what is owed to the employee.
    #[field(
        kind = "many2one",
        relation = "account.account",
        required,
        ondelete = "restrict"
    )]
    pub payable_account_id: i64,
    /// The journal the entries go to.
    #[field(
        kind = "many2one",
        relation = "account.journal",
        required,
        ondelete = "restrict"
    )]
    pub journal_id: i64,
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
    #[field(kind = "many2one", relation = "hr.employee", required, index)]
    pub employee_id: i64,
    /// The category.
    #[field(kind = "many2one", relation = "ipai.expense.category", required)]
    pub category_id: i64,
    /// The amount.
    #[field(digits = "16,2")]
    pub amount: f64,
    /// When it was spent.
    #[field(kind = "date", required)]
    pub date: String,
    /// Where it stands.
    #[field(
        kind = "selection",
        selection = "draft:Draft,submitted:Submitted,approved:Approved,posted:Posted,rejected:Rejected",
        default = "draft",
        readonly,
        copy = false,
        index
    )]
    pub state: String,
    /// Why it was rejected.
    #[field(readonly, copy = false)]
    pub reject_reason: Option<String>,
    /// The journal entry posting created.
    #[field(kind = "many2one", relation = "account.move", readonly, copy = false)]
    pub move_id: Option<i64>,
}

/// A manager's approval of an expense (only managers may create one).
#[derive(Model)]
#[model(name = "ipai.expense.approval", description = "Expense Approval")]
pub struct Approval {
    /// The record id.
    pub id: i64,
    /// The expense approved.
    #[field(
        kind = "many2one",
        relation = "ipai.expense",
        required,
        ondelete = "cascade"
    )]
    pub expense_id: i64,
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

fn require(expense: &Expense, state: &str, action: &str) -> Result<()> {
    if expense.state == state {
        Ok(())
    } else {
        Err(Error::User(format!(
            "Expense '{}' can only be {action} when {state}; it is {}.",
            expense.name, expense.state
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
        require(&expense, "draft", "submitted")?;
        set_state(env, expense.id, Expense::write().state("submitted"))?;
    }
    Ok(true)
}

/// Approves submitted expenses (Expense Managers only).
#[method(model = "ipai.expense")]
pub fn action_approve(env: &Env, ids: &[i64]) -> Result<bool> {
    for expense in expenses(env, ids)? {
        require(&expense, "submitted", "approved")?;
        env.model::<Approval>()
            .create_one(Approval::create().expense_id(expense.id))?;
        set_state(env, expense.id, Expense::write().state("approved"))?;
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
        require(&expense, "submitted", "rejected")?;
        env.model::<Approval>().create_one(
            Approval::create()
                .expense_id(expense.id)
                .name(format!("rejected: {reason}")),
        )?;
        set_state(
            env,
            expense.id,
            Expense::write().state("rejected").reject_reason(&reason),
        )?;
    }
    Ok(true)
}

/// Posts approved expenses: one balanced, posted journal entry each.
#[method(model = "ipai.expense")]
pub fn action_post(env: &Env, ids: &[i64]) -> Result<Vec<i64>> {
    let mut moves = Vec::new();
    for expense in expenses(env, ids)? {
        require(&expense, "approved", "posted")?;
        let category = env
            .model::<Category>()
            .read(&[expense.category_id])?
            .pop()
            .ok_or_else(|| {
                Error::Missing(format!("category {} does not exist", expense.category_id))
            })?;
        let employee = env
            .model_named("hr.employee")
            .read(&[expense.employee_id], &["name"])?
            .first()
            .and_then(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let label = format!("{employee}: {}", expense.name);
        let created = env.model_named("account.move").create(&[json!({
            "journal_id": category.journal_id,
            "date": expense.date,
            "reference": format!("EXP/{}", expense.id),
            "line_ids": [
                [0, 0, {"account_id": category.account_id, "name": label, "debit": expense.amount, "credit": 0.0}],
                [0, 0, {"account_id": category.payable_account_id, "name": label, "debit": 0.0, "credit": expense.amount}],
            ],
        })
        .as_object()
        .cloned()
        .unwrap_or_default()])?;
        let move_id = created[0];
        env.call::<Value>(
            "account.move",
            "action_post",
            &[move_id],
            json!([]),
            json!({}),
        )?;
        set_state(
            env,
            expense.id,
            Expense::write().state("posted").move_id(move_id),
        )?;
        moves.push(move_id);
    }
    Ok(moves)
}

pulse_sdk::addon! {
    models: [Category, Expense, Approval],
    methods: [action_submit, action_approve, action_reject, action_post],
}
