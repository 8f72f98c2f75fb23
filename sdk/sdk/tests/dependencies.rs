//! A snapshot of what every guest links: pulse-sdk's normal dependencies
//! for `wasm32-wasip2`, as `cargo tree` prints them, against the
//! checked-in `tests/dependencies.txt`. A new crate, a new version or a
//! newly enabled feature path shows up here as a diff, so no heavy crate
//! slips into every addon unnoticed.

use std::path::Path;
use std::process::Command;

/// The snapshot file, beside this test.
const SNAPSHOT: &str = "tests/dependencies.txt";

/// `cargo tree` of pulse-sdk for the guest target, with the local paths
/// of workspace crates removed (they differ between checkouts).
fn dependency_tree() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "--manifest-path"])
        .arg(&manifest)
        .args([
            "--package",
            "pulse-sdk",
            "--edges",
            "normal",
            "--target",
            "wasm32-wasip2",
            "--prefix",
            "depth",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .map(without_local_path)
        .map(|line| line + "\n")
        .collect()
}

/// `pulse-schema v0.1.0 (/work/x/sdk/schema) (*)` -> `pulse-schema v0.1.0 (*)`.
fn without_local_path(line: &str) -> String {
    match line.find(" (/") {
        Some(start) => {
            let end = line[start..]
                .find(')')
                .map_or(line.len(), |i| start + i + 1);
            format!("{}{}", &line[..start], &line[end..])
        }
        None => line.to_string(),
    }
}

#[test]
fn sdk_dependencies_match_the_snapshot() {
    let actual = dependency_tree();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("PULSE_UPDATE_SNAPSHOT").is_some() {
        std::fs::write(&path, &actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    let expected_lines: Vec<&str> = expected.lines().collect();
    let actual_lines: Vec<&str> = actual.lines().collect();
    let mut diff = String::new();
    for line in &expected_lines {
        if !actual_lines.contains(line) {
            diff.push_str(&format!("- {line}\n"));
        }
    }
    for line in &actual_lines {
        if !expected_lines.contains(line) {
            diff.push_str(&format!("+ {line}\n"));
        }
    }
    if diff.is_empty() {
        diff.push_str("(the same lines, in another order)\n");
    }
    panic!(
        "pulse-sdk's dependencies for wasm32-wasip2 changed (- snapshot, + now):\n{diff}\n\
         Every addon links these. If the change is intended, update the snapshot:\n  \
         PULSE_UPDATE_SNAPSHOT=1 cargo test --release --workspace --test dependencies\n\
         and commit sdk/sdk/{SNAPSHOT}."
    );
}

#[test]
fn local_paths_are_dropped_and_the_rest_kept() {
    assert_eq!(
        without_local_path("1pulse-schema v0.1.0 (/work/x/sdk/schema) (*)"),
        "1pulse-schema v0.1.0 (*)"
    );
    assert_eq!(without_local_path("1serde v1.0.0"), "1serde v1.0.0");
}
