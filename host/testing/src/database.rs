//! The two database engines, and a fresh PostgreSQL database per instance.

use std::sync::atomic::{AtomicUsize, Ordering};

use pulse_core::test_postgres;

/// The database engines every lifecycle test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in the instance's data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL at `PULSE_TEST_PG`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`). The tests
    /// fail, not skip, when it is unreachable.
    Postgres,
}

/// Runs `future` on a runtime of its own (the harness is blocking).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Creates a PostgreSQL database for one instance; returns its name and URL.
pub(crate) fn create_pg_database() -> (String, String) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("pulse_test_{}_{n}", std::process::id());
    let url = block_on(test_postgres::create(&name)).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for these tests and is unreachable at {}: {e}",
            test_postgres::admin_url()
        )
    });
    (name, url)
}

/// Drops a database [`create_pg_database`] made, ending its connections.
pub(crate) fn drop_pg_database(name: &str) {
    let name = name.to_string();
    // A thread of its own: the caller may be inside a tokio runtime.
    let _ = std::thread::spawn(move || block_on(test_postgres::drop(&name))).join();
}
