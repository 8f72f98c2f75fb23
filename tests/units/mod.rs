//! The unit tests of the host's crates. Each crate keeps them in its own
//! `tests/` folder; they are compiled here, into the one test binary,
//! because a crate's own unit-test harness is a second compilation of the
//! whole crate (they set `[lib] test = false`, and `autotests = false` so
//! that no file of their `tests/` is a binary of its own). The manifest's
//! golden and random-graph tests are here too. Run one crate's with
//! `cargo test --release --workspace --test e2e -- units::orm::`.

#[path = "../../host/api/tests/api.rs"]
mod api;
#[path = "../../host/core/tests/core/mod.rs"]
mod core;
#[path = "../../host/manifest/tests/manifest.rs"]
mod manifest;
#[path = "../../host/manifest/tests/golden.rs"]
mod manifest_golden;
#[path = "../../host/manifest/tests/random_dags.rs"]
mod manifest_random_dags;
#[path = "../../host/orm/tests/orm.rs"]
mod orm;
#[path = "../../host/smtp/tests/smtp.rs"]
mod smtp;
