//! Golden tests of the manifest contract: every valid manifest under
//! `golden/valid` parses to the JSON beside it; every invalid one under
//! `golden/invalid` fails with exactly the problems in the `.err` beside it.
//! Run with `UPDATE_GOLDEN=1` to rewrite the expected files after a
//! deliberate change, then review the diff.

use std::path::{Path, PathBuf};

use pulse_manifest::check_manifest;

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = pulse_testing::root()
        .join("host/manifest/tests/golden")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden cases in {}", dir.display());
    files
}

/// Compares `actual` with the expected file, or rewrites it under UPDATE_GOLDEN.
fn compare(expected_file: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_file, actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_file).map_err(|e| {
        format!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            expected_file.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_file.display()
        ))
    }
}

/// Manifests are checked as `<stem>/addon.toml`, so the folder-name rule applies.
fn check(file: &Path) -> Result<pulse_manifest::Manifest, String> {
    let text = std::fs::read_to_string(file).unwrap();
    let stem = file.file_stem().unwrap().to_str().unwrap();
    check_manifest(&text, &Path::new(stem).join("addon.toml")).map_err(|problems| {
        problems
            .iter()
            .map(|p| format!("{p}\n"))
            .collect::<String>()
    })
}

#[test]
fn valid_manifests_parse_to_their_golden_json() {
    let mut failures = Vec::new();
    for file in cases("valid") {
        match check(&file) {
            Ok(manifest) => {
                let json = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
                if let Err(e) = compare(&file.with_extension("json"), &json) {
                    failures.push(e);
                }
            }
            Err(problems) => {
                failures.push(format!("{} should be valid:\n{problems}", file.display()))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_manifests_fail_with_their_golden_errors() {
    let mut failures = Vec::new();
    for file in cases("invalid") {
        match check(&file) {
            Ok(_) => failures.push(format!("{} should be invalid", file.display())),
            Err(problems) => {
                if let Err(e) = compare(&file.with_extension("err"), &problems) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
