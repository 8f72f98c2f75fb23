//! The harness of Pulse's end-to-end tests: it drives the real `pulse`
//! binary (CLI commands and served instances) on a fresh SQLite file or
//! PostgreSQL database, and talks to it over HTTP and Odoo's JSON-RPC.
//! Tests of what the API answers serve the host in their own process
//! instead ([`Pulse::serve_in_process`]): the same host and router, the
//! requests handed to the router without a socket; the same clients.
//!
//! The fixture addons are listed once ([`ADDON_FOLDERS`]) and built once per
//! test run ([`build_addons`]); every `pulse` the harness starts shares one
//! compiled-component cache ([`cache_dir`]), so an addon is compiled by
//! cranelift once per run instead of once per test.

#![warn(missing_docs)]

mod database;
mod fixtures;
pub mod http;
mod in_process;
mod instance;
mod rpc;
mod smtp;
mod wit;

pub use database::Backend;
pub use fixtures::{
    ADDON_FOLDERS, ADDONS, EXAMPLES, FIXTURES, build_addons, cache_dir, pulse_binary, root,
};
pub use instance::{Pulse, Server, client_libraries, python_client_script, python_script, text};
pub use rpc::{Rpc, create_user, groups_named, id, json2, logged_in, login_refusal, ok, refused};
pub use smtp::{Received, SmtpSink};
pub use wit::{FrozenWit, check_frozen, wit_digest};

/// `on_both! { test_name => body; … }`: each body (a `fn(Backend)` of the
/// module the macro is called in) as a test on SQLite, in a module
/// `sqlite`, and one on PostgreSQL, in a module `postgres`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            $(#[test] fn $name() { super::$body($crate::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$body($crate::Backend::Postgres) })*
        }
    };
}
