//! Philippine BIR returns of an agency, drafted from its posted entries.
//!
//! | form | what | period | tax tag summed | due |
//! | --- | --- | --- | --- | --- |
//! | 1601-C | withholding tax on compensation | month | `wtax_compensation` | the 10th of the next month (January 15 for December) |
//! | 0619-E | expanded withholding, monthly remittance | month | `wtax_expanded` | the 10th of the next month |
//! | 1601-EQ | expanded withholding, quarterly return | quarter | `wtax_expanded` | the last day of the month after the quarter |
//! | 2550Q | quarterly VAT | quarter | `vat_output` less `vat_input` | the 25th day after the quarter |
//! | 2307 | certificate of creditable tax withheld | quarter | `wtax_expanded` | the 20th day after the quarter |
//!
//! The tax withheld is the credit balance of the agency's posted items on
//! accounts with the form's tag in the period; the tax base is the debit of
//! the expense accounts of the same entries.

use pulse_sdk::prelude::*;
use pulse_sdk::tools::{RoundingMethod::HalfUp, days_in_month, float_round};

use account::{Account, AccountType, MoveLine};

use crate::{Agency, MoveLineAgency};

/// Which BIR form: the value is the form's code, the label as the BIR
/// writes it.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirFormType {
    /// Withholding tax on compensation, monthly.
    #[selection(value = "1601C", label = "1601-C")]
    F1601C,
    /// Expanded withholding, monthly remittance.
    #[selection(value = "0619E", label = "0619-E")]
    F0619E,
    /// Expanded withholding, quarterly return.
    #[selection(value = "1601EQ", label = "1601-EQ")]
    F1601EQ,
    /// Quarterly VAT.
    #[selection(value = "2550Q", label = "2550Q")]
    F2550Q,
    /// Certificate of creditable tax withheld.
    #[selection(value = "2307", label = "2307")]
    F2307,
}

/// Whether a BIR form is filed.
#[derive(Selection, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirState {
    /// Draft
    Draft,
    /// Filed
    Filed,
}

/// A BIR form of one agency and period.
#[derive(Model)]
#[model(name = "finance.ssc.bir_form", description = "BIR Form")]
pub struct BirForm {
    /// The record id.
    pub id: i64,
    /// The agency filing it.
    #[field(ondelete = "cascade", index)]
    pub agency_id: Many2one<Agency>,
    /// Which form.
    pub form_type: BirFormType,
    /// The filing period: `YYYY-MM` for monthly forms, `YYYY-Qn` for quarterly ones.
    #[field(required, index)]
    pub period: String,
    /// When it must be filed.
    #[field(
        kind = "date",
        compute = "compute_due_date",
        depends = "form_type, period"
    )]
    pub due_date: Option<String>,
    /// The base the tax was withheld on.
    #[field(digits = "16,2", readonly)]
    pub tax_base: f64,
    /// The tax withheld (or due, for VAT).
    #[field(digits = "16,2", readonly)]
    pub tax_amount: f64,
    /// How many journal items it was drafted from.
    #[field(readonly)]
    pub item_count: i64,
    /// Draft or filed.
    #[field(default = BirState::Draft, readonly, copy = false)]
    pub state: BirState,
    /// When it was filed.
    #[field(kind = "date", readonly, copy = false)]
    pub filed_date: Option<String>,
}

/// The forms and their rules.
struct Rule {
    code: &'static str,
    label: &'static str,
    quarterly: bool,
    tags: &'static [(&'static str, f64)],
}

const RULES: [Rule; 5] = [
    Rule {
        code: "1601C",
        label: "1601-C",
        quarterly: false,
        tags: &[("wtax_compensation", 1.0)],
    },
    Rule {
        code: "0619E",
        label: "0619-E",
        quarterly: false,
        tags: &[("wtax_expanded", 1.0)],
    },
    Rule {
        code: "1601EQ",
        label: "1601-EQ",
        quarterly: true,
        tags: &[("wtax_expanded", 1.0)],
    },
    Rule {
        code: "2550Q",
        label: "2550Q",
        quarterly: true,
        tags: &[("vat_output", 1.0), ("vat_input", -1.0)],
    },
    Rule {
        code: "2307",
        label: "2307",
        quarterly: true,
        tags: &[("wtax_expanded", 1.0)],
    },
];

fn rule(code: &str) -> Result<&'static Rule> {
    RULES.iter().find(|r| r.code == code).ok_or_else(|| {
        Error::User(format!(
            "'{code}' is not a BIR form this addon knows (1601C, 0619E, 1601EQ, 2550Q, 2307)."
        ))
    })
}

/// The first and last day of a form's period, and its last month.
pub fn period_bounds(form_type: &str, period: &str) -> Result<(String, String, i32, u32)> {
    let rule = rule(form_type)?;
    let bad = || {
        Error::Validation(format!(
            "BIR {}: the period '{period}' must be written {}.",
            rule.label,
            if rule.quarterly {
                "YYYY-Qn, e.g. 2026-Q1"
            } else {
                "YYYY-MM, e.g. 2026-03"
            }
        ))
    };
    let (year, rest) = period.split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let (first, last) = if rule.quarterly {
        let q: u32 = rest
            .strip_prefix('Q')
            .and_then(|q| q.parse().ok())
            .ok_or_else(bad)?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        (3 * q - 2, 3 * q)
    } else {
        let m: u32 = rest.parse().map_err(|_| bad())?;
        if rest.len() != 2 || !(1..=12).contains(&m) {
            return Err(bad());
        }
        (m, m)
    };
    Ok((
        format!("{year:04}-{first:02}-01"),
        format!("{year:04}-{last:02}-{:02}", days_in_month(year, last)),
        year,
        last,
    ))
}

/// The due date of a form for a period.
pub fn due_date(form_type: &str, period: &str) -> Result<String> {
    let (_, _, year, last) = period_bounds(form_type, period)?;
    let (year, month) = if last == 12 {
        (year + 1, 1)
    } else {
        (year, last + 1)
    };
    let day = match form_type {
        "1601C" if last == 12 => 15,
        "1601C" | "0619E" => 10,
        "1601EQ" => days_in_month(year, month),
        "2550Q" => 25,
        _ => 20,
    };
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// Each form's due date.
#[method(model = "finance.ssc.bir_form")]
pub fn compute_due_date(env: &Env, ids: &[i64]) -> Result<Vec<(i64, Option<String>)>> {
    Ok(env
        .model::<BirForm>()
        .read(ids)?
        .iter()
        .map(|f| (f.id, due_date(f.form_type.value(), &f.period).ok()))
        .collect())
}

/// Refuses periods not written as the form asks, and a second form of
/// one type for one agency and period.
#[method(
    model = "finance.ssc.bir_form",
    constrains = "agency_id, form_type, period"
)]
pub fn check_period(env: &Env, ids: &[i64]) -> Result<bool> {
    for form in env.model::<BirForm>().read(ids)? {
        period_bounds(form.form_type.value(), &form.period)?;
        let f = BirForm::fields();
        let same = env.model::<BirForm>().search_count(
            &(f.agency_id().eq(form.agency_id.id())
                & f.form_type().eq(form.form_type)
                & f.period().eq(form.period.as_str())),
        )?;
        if same > 1 {
            return Err(Error::Validation(format!(
                "The agency already has a BIR {} for {}.",
                form.form_type.label(),
                form.period
            )));
        }
    }
    Ok(true)
}

/// The base, the tax and the item count of a form, from posted entries.
pub fn amounts(env: &Env, agency: i64, form_type: &str, period: &str) -> Result<(f64, f64, i64)> {
    let rule = rule(form_type)?;
    let (from, to, _, _) = period_bounds(form_type, period)?;
    let tags: Vec<&str> = rule.tags.iter().map(|(t, _)| *t).collect();
    let accounts = env
        .model::<Account>()
        .search_read(&Account::fields().tax_tag().is_in(tags))?;
    if accounts.is_empty() {
        return Ok((0.0, 0.0, 0));
    }
    let sign_of = |account: i64| {
        accounts
            .iter()
            .find(|a| a.id == account)
            .and_then(|a| a.tax_tag.as_deref())
            .and_then(|tag| rule.tags.iter().find(|(t, _)| *t == tag))
            .map(|(_, sign)| *sign)
    };
    let lines = env.model::<MoveLine>();
    let f = MoveLine::fields();
    let period = MoveLineAgency::fields().agency_id().eq(agency)
        & f.parent_state().eq("posted")
        & f.date().ge(from.as_str())
        & f.date().le(to.as_str());
    let tax_lines =
        lines.search_read(&(period & f.account_id().is_in(accounts.iter().map(|a| a.id))))?;
    let mut tax = 0.0;
    let mut moves = Vec::new();
    for line in &tax_lines {
        tax += sign_of(line.account_id.id()).unwrap_or(0.0) * (line.credit - line.debit);
        moves.push(line.move_id.id());
    }
    moves.sort_unstable();
    moves.dedup();
    let expense_accounts =
        env.model::<Account>()
            .search(&Account::fields().account_type().is_in([
                AccountType::Expense,
                AccountType::ExpenseOther,
                AccountType::ExpenseDepreciation,
                AccountType::ExpenseDirectCost,
            ]))?;
    let base: f64 = lines
        .search_read(&(f.move_id().is_in(moves) & f.account_id().is_in(expense_accounts)))?
        .iter()
        .map(|l| l.debit)
        .sum();
    Ok((
        float_round(base, 2, HalfUp),
        float_round(tax, 2, HalfUp),
        tax_lines.len() as i64,
    ))
}

/// Recomputes the amounts of draft forms from the posted entries.
#[method(model = "finance.ssc.bir_form")]
pub fn action_compute(env: &Env, ids: &[i64]) -> Result<bool> {
    for form in env.model::<BirForm>().read(ids)? {
        if form.state != BirState::Draft {
            return Err(Error::User(format!(
                "BIR {} {} is filed; its amounts no longer change.",
                form.form_type.label(),
                form.period
            )));
        }
        let (base, tax, count) = amounts(
            env,
            form.agency_id.id(),
            form.form_type.value(),
            &form.period,
        )?;
        env.model::<BirForm>().write(
            &[form.id],
            BirForm::write()
                .tax_base(base)
                .tax_amount(tax)
                .item_count(count),
        )?;
    }
    Ok(true)
}

/// Marks forms filed on `date` (today's date from the caller).
#[method(model = "finance.ssc.bir_form")]
pub fn action_file(env: &Env, ids: &[i64], date: String) -> Result<bool> {
    for form in env.model::<BirForm>().read(ids)? {
        if form.state != BirState::Draft {
            return Err(Error::User(format!(
                "BIR {} {} is already filed.",
                form.form_type.value(),
                form.period
            )));
        }
    }
    env.model::<BirForm>().write(
        ids,
        BirForm::write().state(BirState::Filed).filed_date(&date),
    )?;
    Ok(true)
}

/// One line of the BIR forms summary.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SummaryRow {
    /// The agency's code.
    pub agency: String,
    /// The form, as the BIR writes it (`1601-C`).
    pub form: String,
    /// The period.
    pub period: String,
    /// The due date.
    pub due_date: String,
    /// The tax base.
    pub tax_base: f64,
    /// The tax.
    pub tax_amount: f64,
    /// Draft or filed.
    pub state: String,
}

/// The forms matching `domain`, by due date, then agency and form.
pub fn summary(env: &Env, domain: &[Value]) -> Result<Vec<SummaryRow>> {
    let forms = env.model::<BirForm>();
    let mut query = Domain::all();
    for leaf in domain {
        let leaf = leaf.as_array().filter(|l| l.len() == 3).ok_or_else(|| {
            Error::User(format!(
                "{leaf} is not a domain leaf [field, operator, value]"
            ))
        })?;
        query = query.and(
            leaf[0].as_str().unwrap_or_default(),
            leaf[1].as_str().unwrap_or_default(),
            leaf[2].clone(),
        );
    }
    let found = forms.read(&forms.search(&query)?)?;
    let mut agency_ids: Vec<i64> = found.iter().map(|f| f.agency_id.id()).collect();
    agency_ids.sort_unstable();
    agency_ids.dedup();
    let agencies = env.model::<Agency>().read(&agency_ids)?;
    let mut rows = found
        .iter()
        .map(|f| {
            Ok(SummaryRow {
                agency: agencies
                    .iter()
                    .find(|a| a.id == f.agency_id.id())
                    .map(|a| a.code.clone())
                    .unwrap_or_default(),
                form: f.form_type.label().to_string(),
                period: f.period.clone(),
                due_date: f.due_date.clone().unwrap_or_default(),
                tax_base: f.tax_base,
                tax_amount: f.tax_amount,
                state: f.state.value().to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    rows.sort_by(|a, b| (&a.due_date, &a.agency, &a.form).cmp(&(&b.due_date, &b.agency, &b.form)));
    Ok(rows)
}

/// The BIR forms summary as JSON rows (`domain` narrows the forms).
#[method(model = "finance.ssc.bir_form")]
pub fn bir_summary(env: &Env, _ids: &[i64], domain: Option<Vec<Value>>) -> Result<Vec<SummaryRow>> {
    summary(env, &domain.unwrap_or_default())
}

/// The BIR forms summary as CSV.
#[method(model = "finance.ssc.bir_form")]
pub fn bir_summary_csv(env: &Env, _ids: &[i64], domain: Option<Vec<Value>>) -> Result<String> {
    let mut out = String::from("agency,form,period,due_date,tax_base,tax_amount,state\n");
    for r in summary(env, &domain.unwrap_or_default())? {
        out.push_str(&format!(
            "{},{},{},{},{:.2},{:.2},{}\n",
            r.agency, r.form, r.period, r.due_date, r.tax_base, r.tax_amount, r.state
        ));
    }
    Ok(out)
}

fn money(x: f64) -> String {
    let cents = (x.abs() * 100.0).round() as i64;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{frac:02}", if x < 0.0 { "-" } else { "" })
}

/// The form as a one-page PDF.
pub fn pdf(env: &Env, id: i64) -> Result<(String, Vec<u8>)> {
    let form = env
        .model::<BirForm>()
        .read(&[id])?
        .pop()
        .ok_or_else(|| Error::Missing(format!("BIR form {id} does not exist.")))?;
    let agency: Agency = env
        .model::<Agency>()
        .read(&[form.agency_id.id()])?
        .pop()
        .ok_or_else(|| Error::Missing(format!("agency {} does not exist", form.agency_id.id())))?;
    let label = form.form_type.label();
    let (from, to, _, _) = period_bounds(form.form_type.value(), &form.period)?;
    use crate::pdf::Line;
    let lines = [
        Line::heading(format!("BIR Form {label}")),
        Line::text("Republic of the Philippines - Bureau of Internal Revenue"),
        Line::text(""),
        Line::text(format!(
            "Withholding agent: {} ({})",
            agency.name, agency.code
        )),
        Line::text(format!(
            "TIN: {}",
            agency.tin.clone().unwrap_or_else(|| "-".into())
        )),
        Line::text(format!("Period: {} ({from} to {to})", form.period)),
        Line::text(format!(
            "Due date: {}",
            form.due_date.clone().unwrap_or_default()
        )),
        Line::text(""),
        Line::text(format!("Tax base: PHP {}", money(form.tax_base))),
        Line::text(format!("Tax withheld: PHP {}", money(form.tax_amount))),
        Line::text(format!("Total amount due: PHP {}", money(form.tax_amount))),
        Line::text(format!("Journal items: {}", form.item_count)),
        Line::text(format!(
            "Status: {}",
            if form.state == BirState::Filed {
                "Filed"
            } else {
                "Draft"
            }
        )),
    ];
    let name = format!("BIR-{label}-{}-{}.pdf", agency.code, form.period);
    Ok((name.clone(), crate::pdf::document(&name, &lines)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_follow_each_form() {
        assert_eq!(due_date("1601C", "2026-03").unwrap(), "2026-04-10");
        assert_eq!(due_date("1601C", "2025-12").unwrap(), "2026-01-15");
        assert_eq!(due_date("0619E", "2026-01").unwrap(), "2026-02-10");
        assert_eq!(due_date("1601EQ", "2026-Q1").unwrap(), "2026-04-30");
        assert_eq!(due_date("2550Q", "2026-Q4").unwrap(), "2027-01-25");
        assert_eq!(due_date("2307", "2026-Q2").unwrap(), "2026-07-20");
        assert!(due_date("1601C", "2026-Q1").is_err());
        assert!(due_date("1601EQ", "2026-05").is_err());
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(1234567.5), "1,234,567.50");
        assert_eq!(money(12.0), "12.00");
        assert_eq!(money(-1000.0), "-1,000.00");
    }
}
