//! `docs/odoo-compat.md` keeps its word: every row of its tables whose
//! status is "supported" names at least one test, in backticks, and every
//! test a row names exists (a `fn` of that name in the test sources, which
//! this binary compiles and runs). A row naming a test that was renamed or
//! never written fails here, naming the row.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_supported_row_of_the_compat_table_names_a_test_that_exists() {
    let root = pulse_testing::root();
    let doc = std::fs::read_to_string(root.join("docs/odoo-compat.md")).unwrap();
    let functions = test_functions(&root);
    let mut rows = 0;
    let mut problems = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    for line in doc.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells: Vec<&str> = split_row(line);
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ' '))
        {
            continue;
        }
        let Some((status, test)) = columns else {
            // A header: the columns of the status and the test, if any.
            let find = |name: &str| cells.iter().position(|c| c.trim() == name);
            columns = find("status").zip(find("test"));
            if columns.is_none() {
                columns = Some((usize::MAX, usize::MAX));
            }
            continue;
        };
        if status == usize::MAX {
            continue;
        }
        let (Some(state), Some(named)) = (cells.get(status), cells.get(test)) else {
            problems.push(format!("a row with too few cells: {line}"));
            continue;
        };
        if !state.trim().starts_with("supported") {
            continue;
        }
        rows += 1;
        // Backticked paths (`module::…::test`) must each be a test; a bare
        // name counts when it is one (the others name steps of a test).
        let mut found = false;
        for code in named.split('`').skip(1).step_by(2) {
            let name = code.rsplit("::").next().unwrap_or(code);
            if functions.contains(name.trim_end_matches("()")) {
                found = true;
            } else if code.contains("::") {
                problems.push(format!("names `{code}`, which is no test: {line}"));
            }
        }
        if !found {
            problems.push(format!("names no test: {line}"));
        }
    }
    assert!(
        rows > 30,
        "only {rows} supported rows were read: is the table's shape the same?"
    );
    assert!(
        problems.is_empty(),
        "docs/odoo-compat.md:\n{}",
        problems.join("\n")
    );
}

/// A table row's cells, without the outer bars; a `|` inside backticks
/// stays in its cell.
fn split_row(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = Vec::new();
    let (mut start, mut code) = (0, false);
    for (i, ch) in inner.char_indices() {
        match ch {
            '`' => code = !code,
            '|' if !code => {
                cells.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cells.push(&inner[start..]);
    cells
}

/// The names of the functions of every Rust file under the folders tests
/// live in.
fn test_functions(root: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut folders = vec![root.join("tests")];
    for parent in ["host", "addons", "sdk"] {
        for entry in std::fs::read_dir(root.join(parent)).unwrap() {
            let path = entry.unwrap().path();
            folders.push(path.join("tests"));
            folders.push(path.join("src"));
        }
    }
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let line = line.trim_start();
                    // `fn name(` and the `name => body;` lines of `on_both!`.
                    if let Some(rest) = line
                        .strip_prefix("fn ")
                        .or_else(|| line.strip_prefix("pub fn "))
                    {
                        names.insert(rest.split(['(', '<']).next().unwrap().to_string());
                    } else if let Some((name, _)) = line.split_once(" => ")
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        names.insert(name.to_string());
                    }
                }
            }
        }
    }
    names
}
