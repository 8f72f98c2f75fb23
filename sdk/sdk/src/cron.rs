//! Scheduled jobs an addon exports: `#[cron(name = "…", interval = "…")]`
//! on a plain function, registered in [`addon!`](crate::addon)'s `crons`.
//! The host keeps one `ir.cron` record per job, owned by the addon (so
//! uninstalling the addon removes it), and calls the function when the job
//! is due.
//!
//! ```
//! use pulse_sdk::prelude::*;
//!
//! /// Runs once a day; `scheduled` is when the run was due (UTC).
//! #[cron(name = "Nightly close", interval = "1 days")]
//! pub fn nightly(env: &Env, scheduled: String) -> Result<()> {
//!     env.info(&format!("closing the day due at {scheduled}"));
//!     Ok(())
//! }
//!
//! pulse_sdk::addon! {
//!     models: [],
//!     crons: [nightly],
//! }
//!
//! # fn main() {
//! use pulse_sdk::Cron;
//! assert_eq!((<nightly as Cron>::JOB, <nightly as Cron>::NAME), ("nightly", "Nightly close"));
//! assert_eq!((<nightly as Cron>::INTERVAL_NUMBER, <nightly as Cron>::INTERVAL_TYPE), (1, "days"));
//! # }
//! ```

use crate::{Env, Result};

/// A scheduled job, implemented by `#[cron(name = "…", interval = "…")]`.
pub trait Cron {
    /// The job's key: the function's name.
    const JOB: &'static str;
    /// The job's name, as `ir.cron` shows it (`pulse cron run NAME`).
    const NAME: &'static str;
    /// Every how many units it runs.
    const INTERVAL_NUMBER: i64;
    /// The unit: `seconds`, `minutes`, `hours`, `days`, `weeks` or `months`.
    const INTERVAL_TYPE: &'static str;
    /// Runs the job; `scheduled` is the time the run was due (UTC).
    fn run(env: &Env, scheduled: String) -> Result<()>;
}
