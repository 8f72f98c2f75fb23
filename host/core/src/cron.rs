//! Scheduled jobs, stored as Odoo stores them (`ir.cron`): an addon
//! declares a job in a data file (a model method to call, an interval,
//! the next call), and every serving host runs the jobs that are due.
//!
//! Each run is one transaction that holds the job's row: on PostgreSQL the
//! row is claimed with `FOR NO KEY UPDATE SKIP LOCKED`, so with several
//! hosts on one database each due run happens once. Missed runs collapse
//! into one, as in Odoo. A failing run is rolled back, counted, and after
//! five failures in a row the job is deactivated, with the error logged.
//! The method receives the time it was due as its keyword `scheduled`.
//!
//! A job may instead name a function the addon exports (`#[cron]`, the
//! `cron` interface of `pulse:addon@0.2`): the addon lists it in its
//! description, the lifecycle keeps its `ir.cron` record (external id
//! `<addon>.cron_job_<job>`, so it goes with the addon), and the scheduler
//! calls the export with the job's key and the time it was due.

use std::sync::Arc;
use std::time::Duration;

use pulse_orm::Orm;
use serde_json::{Map, Value};
use sqlx::Row;

use crate::failure::CallFailure;
use crate::utc::{civil_from_days, days_from_civil, format_utc, now, parse_utc};
use crate::{Error, Host, Snapshot, TxOrm, dispatch};

/// Failures in a row after which a job is deactivated.
const MAX_FAILURES: i64 = 5;

/// How often a serving host looks for due jobs.
const POLL: Duration = Duration::from_millis(200);

/// One job, as `pulse cron list` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    /// Its name.
    pub name: String,
    /// `model.method` it calls.
    pub call: String,
    /// Every how many units.
    pub interval_number: i64,
    /// seconds, minutes, hours, days, weeks or months.
    pub interval_type: String,
    /// When it is due next (UTC).
    pub nextcall: Option<String>,
    /// When it last ran (UTC).
    pub lastcall: Option<String>,
    /// Whether it runs.
    pub active: bool,
    /// Failures in a row.
    pub failure_count: i64,
}

/// `at` moved on by `n` units of `unit` (months keep the day of the month
/// where they can).
fn advance(at: i64, n: i64, unit: &str) -> i64 {
    match unit {
        "seconds" => at + n,
        "minutes" => at + 60 * n,
        "hours" => at + 3600 * n,
        "days" => at + 86_400 * n,
        "weeks" => at + 7 * 86_400 * n,
        _ => {
            // months
            let (y, m, d) = civil_from_days(at.div_euclid(86_400));
            let total = y * 12 + (m - 1) + n;
            let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            let last = days_from_civil(
                if m == 12 { y + 1 } else { y },
                if m == 12 { 1 } else { m + 1 },
                1,
            ) - days_from_civil(y, m, 1);
            days_from_civil(y, m, d.min(last)) * 86_400 + at.rem_euclid(86_400)
        }
    }
}

/// The first slot after `now`, stepping from `due` (missed runs collapse).
pub fn next_slot(due: i64, n: i64, unit: &str, now: i64) -> i64 {
    let n = n.max(1);
    let mut next = advance(due, n, unit);
    // Fixed-length intervals jump straight past `now`; months step.
    if unit != "months" && next <= now {
        let step = advance(0, n, unit);
        next += ((now - next) / step + 1) * step;
    }
    while next <= now {
        next = advance(next, n, unit);
    }
    next
}

impl Host {
    /// Every job, in priority order.
    #[crate::boxed]
    pub async fn cron_jobs(&self) -> Result<Vec<Job>, Error> {
        let rows = sqlx::query(
            "SELECT name, model, method, interval_number, interval_type, nextcall, lastcall, active, failure_count, job \
             FROM ir_cron ORDER BY priority, name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Job {
                    name: row.try_get(0)?,
                    call: match row.try_get::<Option<String>, _>(9)? {
                        Some(job) => format!("cron.run({job})"),
                        None => format!(
                            "{}.{}",
                            row.try_get::<String, _>(1)?,
                            row.try_get::<String, _>(2)?
                        ),
                    },
                    interval_number: row.try_get::<Option<i64>, _>(3)?.unwrap_or(1),
                    interval_type: row
                        .try_get::<Option<String>, _>(4)?
                        .unwrap_or_else(|| "minutes".into()),
                    nextcall: row.try_get(5)?,
                    lastcall: row.try_get(6)?,
                    active: pulse_orm::bool_at(row, 7)?.unwrap_or(false),
                    failure_count: row.try_get::<Option<i64>, _>(8)?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// Runs the job `name` now, whether due or not (`pulse cron run`).
    #[crate::boxed]
    pub async fn run_cron(&self, name: &str) -> Result<(), Error> {
        match self.run_job(Some(name)).await? {
            Some(Ok(())) => Ok(()),
            Some(Err(message)) => Err(Error::Lifecycle(format!("job '{name}' failed: {message}"))),
            None => Err(Error::Config(format!("no job named {name:?}"))),
        }
    }

    /// Runs every job that is due; answers how many ran.
    #[crate::boxed]
    pub async fn run_due_jobs(&self) -> Result<usize, Error> {
        let mut ran = 0;
        while self.run_job(None).await?.is_some() {
            ran += 1;
        }
        Ok(ran)
    }

    /// Claims one job (the one named, or the first due) and runs it;
    /// `None` when there is none.
    async fn run_job(&self, named: Option<&str>) -> Result<Option<Result<(), String>>, Error> {
        self.refresh().await?;
        let now_text = format_utc(now());
        let select = "SELECT id, name, model, method, interval_number, interval_type, nextcall, failure_count, job FROM ir_cron";
        let claimed = match named {
            Some(name) => {
                let name = name.to_string();
                self.db
                    .claim_first(&format!("{select} WHERE name = $1"), |q| q.bind(name))
                    .await?
            }
            None => {
                let sql = format!(
                    "{select} WHERE active = $1 AND nextcall <= $2 ORDER BY priority, nextcall"
                );
                let due_by = now_text.clone();
                self.db
                    .claim_first(&sql, |q| q.bind(true).bind(due_by))
                    .await?
            }
        };
        let Some((mut tx, row)) = claimed else {
            return Ok(None);
        };
        let id: i64 = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let model: String = row.try_get(2)?;
        let method: String = row.try_get(3)?;
        let n: i64 = row.try_get::<Option<i64>, _>(4)?.unwrap_or(1);
        let unit: String = row
            .try_get::<Option<String>, _>(5)?
            .unwrap_or_else(|| "minutes".into());
        let due_text: Option<String> = row.try_get(6)?;
        let failures: i64 = row.try_get::<Option<i64>, _>(7)?.unwrap_or(0);
        let job: Option<String> = row.try_get(8)?;
        let due = due_text.as_deref().and_then(parse_utc).unwrap_or_else(now);
        let snapshot = self.snapshot();
        // A job runs as the addon whose data declares it (or, for one an
        // admin made, the addon that defines its model): inside that
        // addon's graph, with its own rights, never as superuser unless
        // its code asks in `env.sudo` and the admin granted `sudo`.
        let owner = job_owner(&mut tx, id, &model).await?;
        let scope = snapshot.scopes.get(&owner).cloned().unwrap_or_else(|| {
            Arc::new(crate::Scope {
                addon: owner.clone(),
                models: crate::base::model_names().into_iter().collect(),
                graph: [owner.clone()].into(),
            })
        });
        if job.is_none()
            && snapshot.registry.get(&model).is_some()
            && !scope.models.contains(&model)
        {
            drop(tx);
            let message = format!(
                "addon '{owner}' may not use model '{model}': neither it nor one of its dependencies defines it"
            );
            let next = format_utc(next_slot(due, n, &unit, now()));
            return self
                .record_failure(id, &name, failures, next, &now_text, message)
                .await
                .map(Some);
        }
        let session = TxOrm::new(
            tx,
            Orm::new(self.db.dialect, snapshot.registry.clone()),
            Some(snapshot.clone()),
        )
        .acting_as(scope, "a cron job")
        .await?;
        let mut kwargs = Map::new();
        kwargs.insert("scheduled".into(), Value::from(format_utc(due)));
        let started = std::time::Instant::now();
        let (outcome, session) = match &job {
            Some(job) => run_export(session, &snapshot, &owner, job, &format_utc(due)).await,
            None => {
                dispatch::call(
                    session,
                    &model,
                    &method,
                    None,
                    Vec::new(),
                    Vec::new(),
                    kwargs,
                )
                .await
            }
        };
        let call = match &job {
            Some(job) => format!("{owner}: cron.run({job})"),
            None => format!("{model}.{method}"),
        };
        crate::metrics::metrics()
            .cron_duration
            .observe(started.elapsed());
        let next = format_utc(next_slot(due, n, &unit, now()));
        match outcome {
            Ok(_) => {
                let mut tx = session.into_tx();
                sqlx::query(
                    "UPDATE ir_cron SET lastcall = $1, nextcall = $2, failure_count = $3, first_failure_date = NULL WHERE id = $4",
                )
                .bind(format_utc(now()))
                .bind(if named.is_some() { due_text.unwrap_or(next) } else { next })
                .bind(0_i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                tracing::info!(job = %name, call = %call, took_ms = started.elapsed().as_millis() as u64, "cron job ran");
                Ok(Some(Ok(())))
            }
            Err(failure) if failure.is_conflict() || session.conflicted() => {
                // Another transaction got in the way: nothing is recorded,
                // the job stays due and the next poll runs it again.
                drop(session);
                tracing::info!(job = %name, "a concurrent transaction got in the way; the job stays due");
                Ok(Some(Err(format!(
                    "{name}: a concurrent transaction got in the way; run it again"
                ))))
            }
            Err(failure) => {
                // The run's work is rolled back; its failure is recorded.
                drop(session);
                self.record_failure(id, &name, failures, next, &now_text, failure.to_string())
                    .await
                    .map(Some)
            }
        }
    }

    /// Records a failed run of job `id` (rolled back already): counted,
    /// and the job deactivated after [`MAX_FAILURES`] in a row.
    async fn record_failure(
        &self,
        id: i64,
        name: &str,
        failures: i64,
        next: String,
        now_text: &str,
        message: String,
    ) -> Result<Result<(), String>, Error> {
        let failures = failures + 1;
        let active = failures < MAX_FAILURES;
        tracing::error!(job = %name, failures, deactivated = !active, error = %message, "cron job failed");
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE ir_cron SET nextcall = $1, failure_count = $2, active = $3, \
             first_failure_date = COALESCE(first_failure_date, $4) WHERE id = $5",
        )
        .bind(next)
        .bind(failures)
        .bind(active)
        .bind(now_text)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Err(message))
    }

    /// Runs due jobs in the background for as long as the host lives.
    pub fn spawn_scheduler(self: &Arc<Host>) -> tokio::task::JoinHandle<()> {
        let host = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(POLL).await;
                if let Err(e) = host.run_due_jobs().await {
                    tracing::error!(error = %e, "the scheduler failed; retrying");
                }
            }
        })
    }
}

/// Runs the job `job` that `owner` exports, due at `scheduled`, then
/// settles what it changed (computed fields, validations).
async fn run_export(
    session: TxOrm,
    snapshot: &Arc<Snapshot>,
    owner: &str,
    job: &str,
    scheduled: &str,
) -> (Result<Value, CallFailure>, TxOrm) {
    let Some(addon) = snapshot.addons.get(owner) else {
        let message = format!("the component of addon '{owner}' is not loaded");
        return (Err(CallFailure::Unavailable(message)), session);
    };
    let context = (*session.context).clone();
    let span = tracing::info_span!("addon_call", addon = %owner, cron = %job);
    let (answer, session) = tracing::Instrument::instrument(
        Box::pin(addon.run_cron(session, &context, job, scheduled)),
        span,
    )
    .await;
    crate::metrics::metrics().addon_call(owner, crate::metrics::outcome(&answer));
    if let Err(e) = answer {
        return (Err(CallFailure::Addon(e)), session);
    }
    let (settled, session) = crate::recompute::flush(session, dispatch::method_call).await;
    (settled.map(|()| Value::Null), session)
}

/// The external id (within its addon) of the record of an exported job.
pub(crate) fn job_external_id(job: &str) -> String {
    format!("cron_job_{job}")
}

/// The `ir.cron` records of the jobs `addon` exports, as data-file
/// records: loaded with the addon's data (created, rewritten on upgrade,
/// deleted when the job is gone or the addon uninstalled). A new job is
/// due at once, as in Odoo; an existing one keeps its schedule and whether
/// it is active.
pub(crate) async fn job_records(
    conn: &mut pulse_orm::Connection,
    addon: &str,
    crons: &[pulse_schema::CronSpec],
) -> Result<Vec<(std::path::PathBuf, crate::data::DataRecord)>, Error> {
    let mut records = Vec::new();
    for spec in crons {
        let id = job_external_id(&spec.job);
        let mut values = toml::Table::new();
        values.insert("name".into(), spec.name.clone().into());
        values.insert("model".into(), "ir.cron".into());
        values.insert("method".into(), spec.job.clone().into());
        values.insert("job".into(), spec.job.clone().into());
        values.insert("interval_number".into(), spec.interval_number.into());
        values.insert("interval_type".into(), spec.interval_type.clone().into());
        if pulse_orm::ledger::external_id(conn, addon, &id)
            .await?
            .is_none()
        {
            values.insert("nextcall".into(), format_utc(now()).into());
        }
        records.push((
            std::path::PathBuf::from(format!("#[cron] {}", spec.job)),
            crate::data::DataRecord {
                id,
                model: "ir.cron".into(),
                noupdate: false,
                values,
            },
        ));
    }
    Ok(records)
}

/// Checks the jobs an addon's description lists: a key of letters, digits
/// and `_` (the function's name), a name, a known unit, a positive number,
/// no key or name twice.
pub(crate) fn validate(addon: &str, crons: &[pulse_schema::CronSpec]) -> Result<(), Error> {
    let fail = |job: &str, why: String| {
        Err(Error::Lifecycle(format!(
            "addon '{addon}': scheduled job '{job}': {why}"
        )))
    };
    let mut seen = std::collections::BTreeSet::new();
    for spec in crons {
        let job = spec.job.as_str();
        if job.is_empty()
            || job.len() > 64
            || !job.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return fail(job, "its key must be 1 to 64 letters, digits or '_'".into());
        }
        if spec.name.trim().is_empty() || spec.name.len() > 256 {
            return fail(job, "its name must be 1 to 256 bytes".into());
        }
        if !pulse_schema::INTERVAL_TYPES.contains(&spec.interval_type.as_str())
            || spec.interval_number < 1
        {
            return fail(
                job,
                format!(
                    "invalid interval {} {}",
                    spec.interval_number, spec.interval_type
                ),
            );
        }
        if !seen.insert(job) || crons.iter().filter(|c| c.name == spec.name).count() > 1 {
            return fail(job, "listed twice (by key or by name)".into());
        }
    }
    Ok(())
}

/// The addon a job belongs to: the one whose data file declares it, else
/// the one that defines the model it calls (`base` for the host's own).
async fn job_owner(tx: &mut pulse_orm::Connection, id: i64, model: &str) -> Result<String, Error> {
    if let Some(module) = pulse_orm::ledger::record_owner(tx, "ir.cron", id).await? {
        return Ok(module);
    }
    let defining = pulse_orm::ledger::model_owner(tx, model).await?;
    Ok(defining.unwrap_or_else(|| crate::base::BASE.to_string()))
}
