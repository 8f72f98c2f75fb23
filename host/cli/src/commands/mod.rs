//! One module per command group: each owns its arguments, calls the
//! libraries and prints what the user reads. Errors go back to `main` as
//! `anyhow` errors, printed once as `error: …`.

pub mod apikey;
pub mod build;
pub mod check;
pub mod cron;
pub mod grants;
pub mod graph;
pub mod modules;
pub mod serve;
