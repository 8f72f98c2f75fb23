//! Pulse's end-to-end tests, compiled into one test binary: the CLI, served
//! instances and real databases, against the compiled example, fixture and
//! business addons. One binary means one link, and one build of the
//! fixture addons and one compiled-component cache for every test
//! (`pulse-testing`). A business addon's tests live with the addon, in its
//! `tests/` folder, and are compiled here.

#[macro_use]
extern crate pulse_testing;

mod api_versions;
mod auth_policy;
mod base_models;
mod base_reference;
mod cli_graph;
mod client_libraries;
mod compat_doc;
mod context;
mod cron;
mod domains;
mod e2e_todo;
mod events;
mod hostile;
mod hosts;
mod lifecycle;
mod mail;
mod module_cycles;
mod observability;
mod odoo_clients;
mod orm_fields;
mod orm_methods;
mod routes;
mod security;
mod typed_sdk;
mod units;
mod web_endpoints;

#[path = "../addons/ipai_expense/tests/expenses.rs"]
mod expenses;
#[path = "../addons/ipai_finance_ssc/tests/finance.rs"]
mod finance;
#[path = "../addons/account/tests/invoicing.rs"]
mod invoicing;

/// Cargo compiles only this file's modules (`autotests = false` in the root
/// `Cargo.toml`, in each addon's and in each host crate's with tests), so a
/// test file nobody declares here would silently never run: every one of
/// them (tests/, host/*/tests/, addons/*/tests/) must be.
#[test]
fn every_test_file_is_compiled_into_this_binary() {
    let root = pulse_testing::root();
    let this = include_str!("e2e.rs");
    let declared = |name: &str| this.contains(&format!("\nmod {name};\n"));
    let stem = |path: &std::path::Path| {
        path.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let module = if path.extension().is_some_and(|e| e == "rs") {
            stem(&path)
        } else if path.join("mod.rs").is_file() || path.join("main.rs").is_file() {
            path.file_name().unwrap().to_string_lossy().into_owned()
        } else {
            continue;
        };
        if module != "e2e" && !declared(&module) {
            missing.push(path);
        }
    }
    // Files and folders (with a `mod.rs`) of a host crate's or an addon's
    // `tests/` folder come in by `#[path]`, here or in tests/units/mod.rs,
    // each on the line above the `mod` it is.
    let units = include_str!("units/mod.rs");
    let lines: Vec<&str> = this.lines().chain(units.lines()).map(str::trim).collect();
    let included: Vec<&str> = lines
        .windows(2)
        .filter(|pair| pair[1].starts_with("mod ") || pair[1].starts_with("pub mod "))
        .filter_map(|pair| pair[0].strip_prefix("#[path = \"")?.strip_suffix("\"]"))
        .map(|path| path.trim_start_matches("../"))
        .collect();
    for folder in ["host", "addons"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let Ok(tests) = std::fs::read_dir(entry.unwrap().path().join("tests")) else {
                continue;
            };
            for test in tests {
                let mut path = test.unwrap().path();
                if path.join("mod.rs").is_file() {
                    path.push("mod.rs");
                }
                let relative = path.strip_prefix(&root).unwrap().display().to_string();
                if path.extension().is_some_and(|e| e == "rs")
                    && !included.contains(&relative.as_str())
                {
                    missing.push(path);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "test files no module of tests/e2e.rs declares (so they never run): {missing:?}"
    );
}
