//! `pulse-core`'s unit tests, compiled into the one end-to-end test binary
//! (`tests/e2e.rs`) rather than into a unit-test harness of the crate: a
//! harness is a second compilation of the whole crate, and this one took a
//! fifth of the suite's build. What they reach that is not the crate's API,
//! `pulse_core::internals` re-exports. Run them with
//! `cargo test --release --workspace --test e2e -- units::core::`.

mod auth;
mod cron;
mod db;
mod events;
mod lifecycle;
mod mail;
mod metrics;
mod migrations;
mod model_methods;
mod routes;
mod schema_sync;
mod scratch;
