//! `ipai_finance_ssc`: the InsightPulse finance shared service centre.
//!
//! - Agencies (`finance.ssc.agency`) with a Philippine TIN and a lock
//!   date; users are assigned agencies and see only theirs.
//! - Journal entries and items carry their agency (an extension of
//!   `account`'s models); posting into an agency's closed period fails.
//! - Month-end closings walk draft → in progress → review → closed over a
//!   checklist; closing locks the agency through the period's last day.
//! - Consolidation: a period's trial balances across agencies, minus
//!   inter-agency eliminations, as JSON or CSV, also over HTTP.

use account::{Account, Move, MoveLine};
use account_reports::Row as TrialRow;
use account_reports::client::AccountAccount;
use pulse_sdk::prelude::*;
use pulse_sdk::tools::{
    Date, Granularity, RoundingMethod::HalfUp, add_months, end_of, float_round,
};

pub mod bank;
pub mod bir;
mod pdf;
pub mod sync;

/// An agency the centre keeps the books of.
#[derive(Model)]
#[model(name = "finance.ssc.agency", description = "Agency")]
pub struct Agency {
    /// The record id.
    pub id: i64,
    /// Short code, e.g. `DOF`.
    #[field(required, unique, index)]
    pub code: String,
    /// The agency's name.
    #[field(required)]
    pub name: String,
    /// Tax identification number: 9 digits, or 12 with the branch code
    /// (`123-456-789` or `123-456-789-000`).
    #[field(string = "TIN")]
    pub tin: Option<String>,
    /// Archived agencies get no new closings.
    #[field(default = true)]
    pub active: bool,
    /// Nothing dated on or before this day posts for the agency.
    #[field(kind = "date", readonly)]
    pub lock_date: Option<String>,
}

/// The agencies a user works for (added to `res.users`).
#[derive(Model)]
#[model(extends = "res.users")]
pub struct UserAgencies {
    /// The record id.
    pub id: i64,
    /// The agencies the user may see.
    pub agency_ids: Many2many<Agency>,
}

/// The agency of a journal entry (added to `account.move`).
#[derive(Model)]
#[model(extends = "account.move")]
pub struct MoveAgency {
    /// The record id.
    pub id: i64,
    /// The agency the entry belongs to.
    #[field(index, ondelete = "restrict")]
    pub agency_id: Option<Many2one<Agency>>,
}

/// The agency of a journal item, stored from its entry (added to
/// `account.move.line`), so reports and rules filter items by agency.
#[derive(Model)]
#[model(extends = "account.move.line")]
pub struct MoveLineAgency {
    /// The record id.
    pub id: i64,
    /// The entry's agency.
    #[field(compute = "compute_line_agency", depends = "move_id.agency_id", index)]
    pub agency_id: Option<Many2one<Agency>>,
}

/// Where a month-end closing stands.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosingState {
    /// Draft
    Draft,
    /// In Progress
    InProgress,
    /// Review
    Review,
    /// Closed
    Closed,
}

/// A month-end closing of one agency.
#[derive(Model)]
#[model(
    name = "finance.ssc.month_end_closing",
    description = "Month-End Closing"
)]
#[check(
    name = "period_format",
    domain = r#"[["period", "=like", "____-__"]]"#,
    message = "The period of a closing is a month written YYYY-MM, e.g. 2026-03."
)]
pub struct Closing {
    /// The record id.
    pub id: i64,
    /// The agency.
    #[field(ondelete = "cascade", index)]
    pub agency_id: Many2one<Agency>,
    /// The month, `YYYY-MM`.
    #[field(required, index)]
    pub period: String,
    /// Where the closing stands.
    #[field(default = ClosingState::Draft, readonly, copy = false, index)]
    pub state: ClosingState,
    /// The checklist.
    #[field(inverse = "closing_id")]
    pub task_ids: One2many<ClosingTask>,
    /// Whether the closed closing's summary reached Notion.
    #[field(readonly, copy = false)]
    pub notion_synced: bool,
}

/// A task of a closing's checklist.
#[derive(Model)]
#[model(name = "finance.ssc.closing_task", description = "Closing Task")]
pub struct ClosingTask {
    /// The record id.
    pub id: i64,
    /// The closing.
    #[field(ondelete = "cascade")]
    pub closing_id: Many2one<Closing>,
    /// What to do.
    #[field(required)]
    pub name: String,
    /// Whether it is done.
    pub done: bool,
}

/// A consolidation of a period's trial balances across agencies.
#[derive(Model)]
#[model(name = "finance.ssc.consolidation", description = "Consolidation")]
pub struct Consolidation {
    /// The record id.
    pub id: i64,
    /// A title.
    #[field(required)]
    pub name: String,
    /// The period's first day.
    #[field(kind = "date", required)]
    pub date_from: String,
    /// The period's last day.
    #[field(kind = "date", required)]
    pub date_to: String,
    /// The agencies consolidated.
    pub agency_ids: Many2many<Agency>,
    /// Inter-agency balances to eliminate.
    #[field(inverse = "consolidation_id")]
    pub elimination_ids: One2many<Elimination>,
}

/// An inter-agency balance removed from a consolidation.
#[derive(Model)]
#[model(
    name = "finance.ssc.elimination",
    description = "Consolidation Elimination"
)]
pub struct Elimination {
    /// The record id.
    pub id: i64,
    /// The consolidation.
    #[field(ondelete = "cascade")]
    pub consolidation_id: Many2one<Consolidation>,
    /// The account whose closing balance it reduces.
    pub account_id: Many2one<Account>,
    /// The amount, as debit minus credit, taken off the account's balance.
    #[field(digits = "16,2")]
    pub amount: f64,
    /// Why.
    pub name: Option<String>,
}

/// The checklist every new closing starts with.
const CHECKLIST: [&str; 5] = [
    "Post all vendor bills and receipts of the month",
    "Reconcile every bank account",
    "Accrue expenses and defer revenue",
    "Compute and book withholding taxes",
    "Review the trial balance",
];

/// Whether `tin` is a Philippine TIN: 9 digits, or 12 with the branch
/// code, in groups of three separated by dashes or not at all.
pub fn valid_tin(tin: &str) -> bool {
    let digits: String = tin.chars().filter(char::is_ascii_digit).collect();
    let grouped = tin
        .split('-')
        .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()));
    let plain = tin.chars().all(|c| c.is_ascii_digit());
    matches!(digits.len(), 9 | 12) && (plain || grouped)
}

/// Refuses agencies whose TIN is not a Philippine TIN.
#[method(model = "finance.ssc.agency", constrains = "tin")]
pub fn check_tin(env: &Env, ids: &[i64]) -> Result<bool> {
    for agency in env.model::<Agency>().read(ids)? {
        if let Some(tin) = agency.tin.as_deref()
            && !valid_tin(tin)
        {
            return Err(Error::Validation(format!(
                "Agency {}: '{tin}' is not a Philippine TIN (9 digits, or 12 with the branch code, e.g. 123-456-789-000).",
                agency.code
            )));
        }
    }
    Ok(true)
}

/// The agency of each journal item: its entry's.
#[method(model = "account.move.line")]
pub fn compute_line_agency(env: &Env, ids: &[i64]) -> Result<Vec<(i64, Option<i64>)>> {
    let lines = env.model::<MoveLine>().read(ids)?;
    let move_ids: Vec<i64> = lines.iter().map(|l| l.move_id.id()).collect();
    let moves = env.model::<MoveAgency>().read(&move_ids)?;
    Ok(lines
        .iter()
        .map(|l| {
            let agency = moves
                .iter()
                .find(|m| m.id == l.move_id.id())
                .and_then(|m| m.agency_id)
                .map(|a| a.id());
            (l.id, agency)
        })
        .collect())
}

/// Posting checks the agency's lock date first, then `account`'s rules.
#[method(model = "account.move")]
pub fn action_post(env: &Env, ids: &[i64]) -> Result<Value> {
    // `account`'s entry with the agency this addon adds to it, in one read.
    let moves = env.model::<Move>().read_with::<MoveAgency>(ids)?;
    for (entry, extension) in &moves {
        let Some(agency_id) = extension.agency_id.map(|a| a.id()) else {
            continue;
        };
        let date = entry.date.as_str();
        let agency = env
            .model::<Agency>()
            .read(&[agency_id])?
            .pop()
            .ok_or_else(|| Error::Missing(format!("agency {agency_id} does not exist")))?;
        if let Some(lock) = agency.lock_date.as_deref()
            && date <= lock
        {
            return Err(Error::User(format!(
                "Cannot post the entry dated {date} for agency {}: its books are closed through {lock} (month-end closing). Date it after {lock}.",
                agency.code
            )));
        }
    }
    env.call_super(ids, json!([]), json!({}))
}

fn closings(env: &Env, ids: &[i64]) -> Result<Vec<Closing>> {
    let found = env.model::<Closing>().read(ids)?;
    if found.len() != ids.len() {
        return Err(Error::Missing(
            "Some of these closings no longer exist.".into(),
        ));
    }
    Ok(found)
}

fn require_state(closing: &Closing, state: ClosingState, action: &str) -> Result<()> {
    if closing.state == state {
        Ok(())
    } else {
        Err(Error::User(format!(
            "Closing {} can only be {action} from the '{}' state; it is '{}'.",
            closing.period,
            state.value(),
            closing.state.value()
        )))
    }
}

/// Starts closings: draft → in progress, with the standard checklist
/// when they have none.
#[method(model = "finance.ssc.month_end_closing")]
pub fn action_start(env: &Env, ids: &[i64]) -> Result<bool> {
    for closing in closings(env, ids)? {
        require_state(&closing, ClosingState::Draft, "started")?;
        if closing.task_ids.ids().is_empty() {
            let tasks = CHECKLIST.iter().map(|name| {
                ClosingTask::create()
                    .closing_id(closing.id)
                    .name(*name)
                    .done(false)
            });
            env.model::<ClosingTask>().create(tasks)?;
        }
        env.model::<Closing>().write(
            &[closing.id],
            Closing::write().state(ClosingState::InProgress),
        )?;
    }
    Ok(true)
}

/// Sends closings to review once every task is done.
#[method(model = "finance.ssc.month_end_closing")]
pub fn action_submit_review(env: &Env, ids: &[i64]) -> Result<bool> {
    for closing in closings(env, ids)? {
        require_state(&closing, ClosingState::InProgress, "sent to review")?;
        let open: Vec<String> = env
            .model::<ClosingTask>()
            .read(closing.task_ids.ids())?
            .into_iter()
            .filter(|t| !t.done)
            .map(|t| t.name)
            .collect();
        if !open.is_empty() {
            return Err(Error::User(format!(
                "Closing {} has open tasks: {}.",
                closing.period,
                open.join("; ")
            )));
        }
        env.model::<Closing>()
            .write(&[closing.id], Closing::write().state(ClosingState::Review))?;
    }
    Ok(true)
}

/// The last day of a `YYYY-MM` period.
pub fn period_end(period: &str) -> Result<String> {
    let bad = || Error::User(format!("'{period}' is not a period (YYYY-MM)."));
    let first = Date::parse(&format!("{period}-01")).map_err(|_| bad())?;
    Ok(end_of(first, Granularity::Month).to_string())
}

/// Closes reviewed closings and locks each agency through the period's
/// last day (a later lock date stays).
#[method(model = "finance.ssc.month_end_closing")]
pub fn action_close(env: &Env, ids: &[i64]) -> Result<bool> {
    for closing in closings(env, ids)? {
        require_state(&closing, ClosingState::Review, "closed")?;
        let end = period_end(&closing.period)?;
        let agency = env
            .model::<Agency>()
            .read(&[closing.agency_id.id()])?
            .pop()
            .ok_or_else(|| {
                Error::Missing(format!("agency {} does not exist", closing.agency_id.id()))
            })?;
        if agency
            .lock_date
            .as_deref()
            .is_none_or(|lock| lock < end.as_str())
        {
            env.model::<Agency>()
                .write(&[agency.id], Agency::write().lock_date(&end))?;
        }
        env.model::<Closing>()
            .write(&[closing.id], Closing::write().state(ClosingState::Closed))?;
        env.info(&format!(
            "closed {} of agency {}; locked through {end}",
            closing.period, agency.code
        ));
    }
    Ok(true)
}

/// A consolidation report: each agency's trial balance, the
/// eliminations, and the consolidated balance per account.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The consolidation.
    pub name: String,
    /// The period.
    pub date_from: String,
    /// The period.
    pub date_to: String,
    /// Per agency: its code and trial balance.
    pub agencies: Vec<AgencyBalance>,
    /// Per account: the agencies' closing balances summed, the
    /// eliminations, and what remains.
    pub consolidated: Vec<ConsolidatedRow>,
}

/// One agency's part of a consolidation.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct AgencyBalance {
    /// The agency's code.
    pub code: String,
    /// Its trial balance.
    pub rows: Vec<TrialRow>,
}

/// One account of a consolidation.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ConsolidatedRow {
    /// The account code.
    pub code: String,
    /// The account name.
    pub name: String,
    /// The sum of the agencies' closing balances.
    pub total: f64,
    /// The eliminations on the account.
    pub eliminated: f64,
    /// `total - eliminated`.
    pub consolidated: f64,
}

/// The consolidation report of consolidation `id`.
pub fn report(env: &Env, id: i64) -> Result<Report> {
    let consolidation = env
        .model::<Consolidation>()
        .read(&[id])?
        .pop()
        .ok_or_else(|| Error::Missing(format!("Consolidation {id} does not exist.")))?;
    let agencies = env.model::<Agency>().read(consolidation.agency_ids.ids())?;
    let mut parts = Vec::new();
    for agency in &agencies {
        let of_agency = MoveLineAgency::fields().agency_id().eq(agency.id);
        let rows = AccountAccount::trial_balance(
            env,
            &[],
            consolidation.date_from.clone(),
            consolidation.date_to.clone(),
            Some(of_agency.to_value().as_array().cloned().unwrap_or_default()),
        )?;
        parts.push(AgencyBalance {
            code: agency.code.clone(),
            rows,
        });
    }
    let eliminations = env
        .model::<Elimination>()
        .read(consolidation.elimination_ids.ids())?;
    let accounts = env.model::<Account>().read(
        &eliminations
            .iter()
            .map(|e| e.account_id.id())
            .collect::<Vec<_>>(),
    )?;
    let mut rows: Vec<ConsolidatedRow> = Vec::new();
    let mut add = |code: &str, name: &str, total: f64, eliminated: f64| match rows
        .iter_mut()
        .find(|r| r.code == code)
    {
        Some(row) => {
            row.total += total;
            row.eliminated += eliminated;
        }
        None => rows.push(ConsolidatedRow {
            code: code.to_string(),
            name: name.to_string(),
            total,
            eliminated,
            consolidated: 0.0,
        }),
    };
    for part in &parts {
        for row in &part.rows {
            add(&row.code, &row.name, row.closing, 0.0);
        }
    }
    for elimination in &eliminations {
        let account = accounts
            .iter()
            .find(|a| a.id == elimination.account_id.id());
        add(
            account.map_or("", |a| a.code.as_str()),
            account.map_or("", |a| a.name.as_str()),
            0.0,
            elimination.amount,
        );
    }
    for row in &mut rows {
        row.total = float_round(row.total, 2, HalfUp);
        row.eliminated = float_round(row.eliminated, 2, HalfUp);
        row.consolidated = float_round(row.total - row.eliminated, 2, HalfUp);
    }
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Report {
        name: consolidation.name,
        date_from: consolidation.date_from,
        date_to: consolidation.date_to,
        agencies: parts,
        consolidated: rows,
    })
}

/// The consolidation report, as an RPC method.
#[method(model = "finance.ssc.consolidation")]
pub fn get_report(env: &Env, ids: &[i64]) -> Result<Report> {
    let id = *ids
        .first()
        .ok_or_else(|| Error::User("Which consolidation? Pass its id.".into()))?;
    report(env, id)
}

/// The consolidated rows as CSV.
pub fn report_csv(report: &Report) -> String {
    let mut out = String::from("code,name,total,eliminated,consolidated\n");
    for r in &report.consolidated {
        out.push_str(&format!(
            "{},\"{}\",{:.2},{:.2},{:.2}\n",
            r.code,
            r.name.replace('"', "\"\""),
            r.total,
            r.eliminated,
            r.consolidated
        ));
    }
    out
}

/// `GET /finance_ssc/consolidation/report/{id}` (`?format=csv` for CSV).
#[route(
    method = "GET",
    path = "/finance_ssc/consolidation/report/{id}",
    auth = "user"
)]
pub fn consolidation_report(env: &Env, request: &Request) -> Result<Response> {
    let id: i64 = request.param_as("id")?;
    let report = report(env, id)?;
    Ok(match request.query_param("format").as_deref() {
        Some("csv") => Response::bytes("text/csv; charset=utf-8", report_csv(&report).into_bytes()),
        _ => Response::json(&report),
    })
}

#[derive(serde::Deserialize)]
struct Finalize {
    closing_id: i64,
}

/// `POST /finance_ssc/month_end/finalize` with `{"closing_id": N}`:
/// closes a reviewed closing, as the calling user.
#[route(
    method = "POST",
    path = "/finance_ssc/month_end/finalize",
    auth = "user"
)]
pub fn finalize(env: &Env, request: &Request) -> Result<Response> {
    let input: Finalize = request.json()?;
    env.call::<Value>(
        "finance.ssc.month_end_closing",
        "action_close",
        &[input.closing_id],
        json!([]),
        json!({}),
    )?;
    let closing = closings(env, &[input.closing_id])?.remove(0);
    let agency = env.model::<Agency>().read(&[closing.agency_id.id()])?.pop();
    Ok(Response::json(&json!({
        "closing_id": closing.id,
        "period": closing.period,
        "state": closing.state.value(),
        "agency": agency.as_ref().map(|a| a.code.clone()),
        "lock_date": agency.and_then(|a| a.lock_date),
    })))
}

#[derive(serde::Deserialize)]
struct FormId {
    form_id: i64,
}

/// `POST /finance_ssc/bir_form/generate_pdf` with `{"form_id": N}`: the
/// form (its amounts recomputed while it is a draft) as a PDF.
#[route(
    method = "POST",
    path = "/finance_ssc/bir_form/generate_pdf",
    auth = "user"
)]
pub fn generate_pdf(env: &Env, request: &Request) -> Result<Response> {
    let input: FormId = request.json()?;
    let draft = env
        .model::<bir::BirForm>()
        .read(&[input.form_id])?
        .first()
        .is_some_and(|f| f.state == bir::BirState::Draft);
    if draft {
        env.call::<Value>(
            "finance.ssc.bir_form",
            "action_compute",
            &[input.form_id],
            json!([]),
            json!({}),
        )?;
    }
    let (name, bytes) = bir::pdf(env, input.form_id)?;
    Ok(Response::bytes("application/pdf", bytes).with_header(
        "content-disposition",
        &format!("attachment; filename=\"{name}\""),
    ))
}

#[derive(serde::Deserialize)]
struct ReconciliationId {
    reconciliation_id: i64,
}

/// `POST /finance_ssc/bank_recon/auto_match` with `{"reconciliation_id": N}`.
#[route(
    method = "POST",
    path = "/finance_ssc/bank_recon/auto_match",
    auth = "user"
)]
pub fn auto_match(env: &Env, request: &Request) -> Result<Response> {
    let input: ReconciliationId = request.json()?;
    let outcome: bank::Outcome = env.call(
        "finance.ssc.bank_reconciliation",
        "action_auto_match",
        &[input.reconciliation_id],
        json!([]),
        json!({}),
    )?;
    Ok(Response::json(&outcome))
}

/// `POST /finance_ssc/agency/sync_to_supabase`: sends the agencies now.
#[route(
    method = "POST",
    path = "/finance_ssc/agency/sync_to_supabase",
    auth = "user"
)]
pub fn sync_to_supabase(env: &Env, _request: &Request) -> Result<Response> {
    let synced: Option<usize> = env.call(
        "finance.ssc.agency",
        "action_sync_supabase",
        &[],
        json!([]),
        json!({}),
    )?;
    Ok(match synced {
        Some(n) => Response::json(&json!({"synced": n})),
        None => Response::json(&json!({"synced": 0, "configured": false})).with_status(409),
    })
}

/// Sends the agencies to Supabase (the route and the cron call it).
#[method(model = "finance.ssc.agency")]
pub fn action_sync_supabase(env: &Env, _ids: &[i64]) -> Result<Option<usize>> {
    sync::agencies_to_supabase(env)
}

/// Cron: the agencies to Supabase (private: the route and the job are
/// the ways in; the route's users are checked by the route).
#[method(model = "finance.ssc.agency", name = "_cron_sync_supabase")]
pub fn cron_sync_supabase(env: &Env, _ids: &[i64]) -> Result<Option<usize>> {
    sync::agencies_to_supabase(env)
}

/// Cron: closed closings' summaries to Notion (private, as every cron
/// entry point is: RPC clients may not run it, `pulse cron run` may).
#[method(model = "finance.ssc.month_end_closing", name = "_cron_sync_notion")]
pub fn cron_sync_notion(env: &Env, _ids: &[i64]) -> Result<Option<usize>> {
    sync::closings_to_notion(env)
}

/// The date of a cron run's `scheduled` time (`YYYY-MM-DD…`).
fn scheduled_date(date: &str) -> Result<Date> {
    Date::parse(date).map_err(|_| Error::Internal(format!("'{date}' is not a date")))
}

/// The `YYYY-MM` after the month of `date` (`YYYY-MM-DD…`).
pub fn next_month(date: &str) -> Result<String> {
    let next = add_months(scheduled_date(date)?, 1);
    Ok(format!("{:04}-{:02}", next.year(), next.month()))
}

/// Cron: a draft closing of next month for every active agency that has
/// none. `scheduled` is when the run was due (the host passes it).
/// Private: over RPC any accountant could otherwise open closings for
/// agencies that are not theirs.
#[method(
    model = "finance.ssc.month_end_closing",
    name = "_cron_create_closings"
)]
pub fn cron_create_closings(env: &Env, _ids: &[i64], scheduled: String) -> Result<usize> {
    let period = next_month(&scheduled)?;
    let agencies = env.model::<Agency>();
    let active = agencies.search(&Agency::fields().active().eq(true))?;
    let mut created = 0;
    for agency in active {
        let f = Closing::fields();
        let exists = env
            .model::<Closing>()
            .search_count(&(f.agency_id().eq(agency) & f.period().eq(&period)))?;
        if exists == 0 {
            env.model::<Closing>().create_one(
                Closing::create()
                    .agency_id(agency)
                    .period(&period)
                    .state(ClosingState::Draft)
                    .notion_synced(false),
            )?;
            created += 1;
        }
    }
    env.info(&format!("created {created} closing(s) for {period}"));
    Ok(created)
}

/// The previous `YYYY-MM` of `date`'s month, and the quarter (`YYYY-Qn`)
/// that ended with it, if one did.
fn previous_periods(date: &str) -> Result<(String, Option<String>)> {
    let previous = add_months(scheduled_date(date)?, -1);
    let (y, m) = (previous.year(), previous.month());
    let quarter = (m % 3 == 0).then(|| format!("{y:04}-Q{}", previous.quarter()));
    Ok((format!("{y:04}-{m:02}"), quarter))
}

/// Cron: draft BIR forms for the month (and quarter) just ended, for every
/// active agency, with their amounts, ahead of their due dates (private).
#[method(model = "finance.ssc.bir_form", name = "_cron_draft_bir_forms")]
pub fn cron_draft_bir_forms(env: &Env, _ids: &[i64], scheduled: String) -> Result<usize> {
    let (month, quarter) = previous_periods(&scheduled)?;
    use bir::BirFormType::{F0619E, F1601C, F1601EQ, F2307, F2550Q};
    let mut wanted = vec![(F1601C, month.clone())];
    match &quarter {
        Some(q) => wanted.extend([
            (F1601EQ, q.clone()),
            (F2550Q, q.clone()),
            (F2307, q.clone()),
        ]),
        None => wanted.push((F0619E, month.clone())),
    }
    let agencies = env
        .model::<Agency>()
        .search(&Agency::fields().active().eq(true))?;
    let mut created = Vec::new();
    for agency in agencies {
        for (form_type, period) in &wanted {
            let f = bir::BirForm::fields();
            let exists = env.model::<bir::BirForm>().search_count(
                &(f.agency_id().eq(agency)
                    & f.form_type().eq(*form_type)
                    & f.period().eq(period.as_str())),
            )?;
            if exists == 0 {
                let (base, tax, count) = bir::amounts(env, agency, form_type.value(), period)?;
                created.push(
                    env.model::<bir::BirForm>().create_one(
                        bir::BirForm::create()
                            .agency_id(agency)
                            .form_type(*form_type)
                            .period(period.as_str())
                            .tax_base(base)
                            .tax_amount(tax)
                            .item_count(count),
                    )?,
                );
            }
        }
    }
    env.info(&format!(
        "drafted {} BIR form(s) for {month}",
        created.len()
    ));
    Ok(created.len())
}

pulse_sdk::addon! {
    models: [
        Agency, UserAgencies, MoveAgency, MoveLineAgency, Closing, ClosingTask, Consolidation,
        Elimination, bir::BirForm, bank::Reconciliation, bank::StatementLine,
    ],
    methods: [
        check_tin, compute_line_agency, action_post, action_start, action_submit_review,
        action_close, get_report, bir::compute_due_date, bir::check_period, bir::action_compute,
        bir::action_file, bir::bir_summary, bir::bir_summary_csv, bank::action_auto_match, bank::action_match, action_sync_supabase,
 cron_sync_supabase, cron_sync_notion, cron_create_closings, cron_draft_bir_forms,
    ],
    routes: [consolidation_report, finalize, generate_pdf, auto_match, sync_to_supabase],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philippine_tins() {
        assert!(valid_tin("123-456-789"));
        assert!(valid_tin("123-456-789-000"));
        assert!(valid_tin("123456789000"));
        assert!(!valid_tin("123-456-78"));
        assert!(!valid_tin("12-3456-789"));
        assert!(!valid_tin("123-456-789-00"));
        assert!(!valid_tin("ABC-456-789"));
    }

    #[test]
    fn cron_periods() {
        assert_eq!(next_month("2026-12-01 00:00:00").unwrap(), "2027-01");
        assert_eq!(next_month("2026-03-31").unwrap(), "2026-04");
        assert_eq!(
            previous_periods("2026-04-01 06:00:00").unwrap(),
            ("2026-03".into(), Some("2026-Q1".into()))
        );
        assert_eq!(
            previous_periods("2026-01-05").unwrap(),
            ("2025-12".into(), Some("2025-Q4".into()))
        );
        assert_eq!(
            previous_periods("2026-05-01").unwrap(),
            ("2026-04".into(), None)
        );
    }

    #[test]
    fn period_ends() {
        assert_eq!(period_end("2026-02").unwrap(), "2026-02-28");
        assert_eq!(period_end("2024-02").unwrap(), "2024-02-29");
        assert_eq!(period_end("2026-12").unwrap(), "2026-12-31");
        assert!(period_end("2026-13").is_err());
    }
}
