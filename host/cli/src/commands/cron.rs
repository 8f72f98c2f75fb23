//! `pulse cron`: the scheduled jobs (Odoo's ir.cron).

use anyhow::Result;
use pulse_core::Host;

/// The subcommands of `pulse cron`.
#[derive(Debug, clap::Subcommand)]
pub enum CronCommand {
    /// Every job with its schedule and state.
    List,
    /// Run a job now, whether due or not (its next call stays as it is).
    Run {
        /// The job's name.
        name: String,
    },
}

/// `pulse cron list` and `pulse cron run NAME`.
pub async fn run(host: &Host, command: &CronCommand) -> Result<()> {
    match command {
        CronCommand::List => {
            let jobs = host.cron_jobs().await?;
            if jobs.is_empty() {
                println!("no scheduled jobs");
            }
            for job in jobs {
                println!(
                    "{:<32} {:<40} every {} {:<8} next {:<19} last {:<19} {}{}",
                    job.name,
                    job.call,
                    job.interval_number,
                    job.interval_type,
                    job.nextcall.as_deref().unwrap_or("-"),
                    job.lastcall.as_deref().unwrap_or("-"),
                    if job.active { "active" } else { "inactive" },
                    if job.failure_count > 0 {
                        format!(" ({} failures in a row)", job.failure_count)
                    } else {
                        String::new()
                    }
                );
            }
        }
        CronCommand::Run { name } => {
            host.run_cron(name).await?;
            println!("ran: {name}");
        }
    }
    Ok(())
}
