//! The unit tests of the host's crates. Each crate keeps them in its own
//! `tests/` folder; they are compiled here, into the one test binary,
//! because a crate's own unit-test harness is a second compilation of the
//! whole crate.

#[path = "../../host/core/tests/core/mod.rs"]
mod core;
