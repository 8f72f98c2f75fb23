//! Validation that reports every problem, each with its file, field and line.
//!
//! A manifest is checked key by key before serde sees it, so one run lists
//! every mistake in it rather than the first; [`check_graph`] then checks
//! what only the whole set can show (unknown dependencies, versions, cycles,
//! exclusions).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::{Addon, Dependency, Manifest, valid_addon_name};

/// A problem with one manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The manifest file.
    pub file: PathBuf,
    /// The key concerned, dotted for nested tables (`build.command`).
    pub field: Option<String>,
    /// 1-based line of the key, where it can be found.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(
        file: &Path,
        field: Option<&str>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.to_path_buf(),
            field: field.map(str::to_string),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Top-level keys of `addon.toml`.
pub const KEYS: [&str; 22] = [
    "name",
    "title",
    "summary",
    "description",
    "category",
    "author",
    "license",
    "website",
    "version",
    "series",
    "depends",
    "auto_install",
    "application",
    "installable",
    "excludes",
    "data",
    "demo",
    "api",
    "permissions",
    "build",
    "component",
    "sequence",
];

pub const PERMISSION_KEYS: [&str; 2] = ["outbound_hosts", "sudo"];
const BUILD_KEYS: [&str; 2] = ["command", "output"];

/// The line of `key` (inside `[table]` when given), found by reading the text.
pub fn line_of(text: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[') {
            let name = header.trim_end_matches([']', ' ']).trim_start_matches('[');
            current = Some(name.trim().to_string());
            if table.is_none() && name.trim() == key {
                return Some(i + 1);
            }
            continue;
        }
        let Some((lhs, _)) = line.split_once('=') else {
            continue;
        };
        let lhs = lhs.trim().trim_matches('"');
        let here = match (table, &current) {
            (None, None) => lhs == key,
            (None, Some(_)) => false,
            (Some(t), Some(c)) => c == t && lhs == key,
            (Some(t), None) => lhs == format!("{t}.{key}"),
        };
        if here {
            return Some(i + 1);
        }
    }
    None
}

pub use pulse_schema::did_you_mean;

fn unknown_key(key: &str, known: &[&str]) -> String {
    match did_you_mean(key, known) {
        Some(hint) => format!("unknown key `{key}`; did you mean `{hint}`?"),
        None => format!("unknown key `{key}`; expected one of {}", known.join(", ")),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn strings(value: &Value) -> Result<Vec<&str>, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str().ok_or_else(|| {
                    format!("expected an array of strings, found {} in it", type_name(v))
                })
            })
            .collect(),
        other => Err(format!(
            "expected an array of strings, found {}",
            type_name(other)
        )),
    }
}

/// Checks one key's value; returns what is wrong with it.
fn check_value(key: &str, value: &Value) -> Result<(), String> {
    let string = || {
        value
            .as_str()
            .ok_or_else(|| format!("expected a string, found {}", type_name(value)))
    };
    match key {
        "name" => {
            let name = string()?;
            if !valid_addon_name(name) {
                return Err(format!(
                    "{name:?} is not a valid technical name (expected [a-z][a-z0-9_]*, e.g. \"sale_stock\")"
                ));
            }
        }
        "version" => {
            let text = string()?;
            semver::Version::parse(text)
                .map_err(|e| format!("{text:?} is not a semantic version like \"1.2.0\": {e}"))?;
        }
        "series" => {
            let text = string()?;
            let ok =
                text.split('.').count() == 2 && text.split('.').all(|p| p.parse::<u32>().is_ok());
            if !ok {
                return Err(format!("{text:?} is not an Odoo series like \"19.0\""));
            }
        }
        "api" => {
            let text = string()?;
            semver::VersionReq::parse(text)
                .map_err(|e| format!("{text:?} is not a version requirement like \"^0.1\": {e}"))?;
        }
        "depends" => {
            let mut problems = Vec::new();
            for text in strings(value)? {
                let name = text.split_whitespace().next().unwrap_or_default();
                if !valid_addon_name(name) {
                    problems.push(format!(
                        "{text:?}: {name:?} is not a valid addon name (write \"name\" or \"name <requirement>\")"
                    ));
                } else if let Err(e) = Dependency::parse(text) {
                    problems.push(e);
                }
            }
            if !problems.is_empty() {
                return Err(problems.join("; "));
            }
        }
        "excludes" | "data" | "demo" => {
            strings(value)?;
        }
        "auto_install" => match value {
            Value::Boolean(_) => {}
            Value::Array(_) => {
                strings(value)?;
            }
            other => {
                return Err(format!(
                    "expected true, false or an array of dependency names, found {}",
                    type_name(other)
                ));
            }
        },
        "application" | "installable" => {
            value
                .as_bool()
                .ok_or_else(|| format!("expected true or false, found {}", type_name(value)))?;
        }
        "sequence" => {
            value
                .as_integer()
                .ok_or_else(|| format!("expected an integer, found {}", type_name(value)))?;
        }
        _ => {
            string()?;
        }
    }
    Ok(())
}

/// Checks a nested table (`[permissions]`, `[build]`) against its keys.
fn check_table(
    name: &str,
    value: &Value,
    keys: &[&str],
    required: &[&str],
    text: &str,
    file: &Path,
    problems: &mut Vec<Problem>,
) {
    let Some(table) = value.as_table() else {
        problems.push(Problem::new(
            file,
            Some(name),
            line_of(text, None, name),
            format!("expected a table [{name}], found {}", type_name(value)),
        ));
        return;
    };
    for (key, value) in table {
        let field = format!("{name}.{key}");
        let line = line_of(text, Some(name), key);
        let outcome = match key.as_str() {
            "outbound_hosts" if name == "permissions" => strings(value).map(|_| ()),
            "sudo" if name == "permissions" => value
                .as_bool()
                .map(|_| ())
                .ok_or_else(|| format!("expected true or false, found {}", type_name(value))),
            "command" | "output" if name == "build" => value
                .as_str()
                .map(|_| ())
                .ok_or_else(|| format!("expected a string, found {}", type_name(value))),
            _ => Err(unknown_key(key, keys)),
        };
        if let Err(message) = outcome {
            problems.push(Problem::new(file, Some(&field), line, message));
        }
    }
    for key in required {
        if !table.contains_key(*key) {
            problems.push(Problem::new(
                file,
                Some(&format!("{name}.{key}")),
                line_of(text, None, name),
                "missing required key",
            ));
        }
    }
}

/// Parses and checks one manifest, returning every problem in it.
pub fn check_manifest(text: &str, file: &Path) -> Result<Manifest, Vec<Problem>> {
    let table: Table = match text.parse() {
        Ok(table) => table,
        Err(e) => {
            let e: toml::de::Error = e;
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            return Err(vec![Problem::new(
                file,
                None,
                line,
                format!("invalid TOML: {}", e.message()),
            )]);
        }
    };
    let mut problems = Vec::new();
    for (key, value) in &table {
        let line = line_of(text, None, key);
        match key.as_str() {
            "permissions" => {
                check_table(key, value, &PERMISSION_KEYS, &[], text, file, &mut problems)
            }
            "build" => check_table(
                key,
                value,
                &BUILD_KEYS,
                &["command"],
                text,
                file,
                &mut problems,
            ),
            k if KEYS.contains(&k) => {
                if let Err(message) = check_value(k, value) {
                    problems.push(Problem::new(file, Some(k), line, message));
                }
            }
            other => problems.push(Problem::new(
                file,
                Some(other),
                line,
                unknown_key(other, &KEYS),
            )),
        }
    }
    for key in ["name", "version"] {
        if !table.contains_key(key) {
            problems.push(Problem::new(file, Some(key), None, "missing required key"));
        }
    }
    if !problems.is_empty() {
        // In file order; keys without a line (missing ones) last.
        problems.sort_by_key(|p| (p.line.is_none(), p.line, p.field.clone()));
        return Err(problems);
    }
    let manifest: Manifest = match table.try_into() {
        Ok(m) => m,
        Err(e) => return Err(vec![Problem::new(file, None, None, e.to_string())]),
    };
    let mut problems = Vec::new();
    for dep in &manifest.depends {
        if dep.name == manifest.name {
            problems.push(Problem::new(
                file,
                Some("depends"),
                line_of(text, None, "depends"),
                format!("{} depends on itself", manifest.name),
            ));
        }
    }
    if let crate::AutoInstall::Triggers(triggers) = &manifest.auto_install {
        for t in triggers
            .iter()
            .filter(|t| !manifest.depends.iter().any(|d| &d.name == *t))
        {
            problems.push(Problem::new(
                file,
                Some("auto_install"),
                line_of(text, None, "auto_install"),
                format!("trigger {t:?} is not one of the dependencies (auto_install triggers must be dependencies)"),
            ));
        }
    }
    if let Some(folder) = file
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        && valid_addon_name(folder)
        && folder != manifest.name
    {
        problems.push(Problem::new(
            file,
            Some("name"),
            line_of(text, None, "name"),
            format!(
                "{:?} does not match the addon's folder name {folder:?}",
                manifest.name
            ),
        ));
    }
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(problems)
    }
}

/// Problems only the whole set shows: dependencies on unknown addons,
/// version requirements nothing meets, exclusions of one's own
/// dependencies, and cycles (each with its full path).
pub fn check_graph(addons: &BTreeMap<String, Addon>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let manifest_line = |addon: &Addon, key: &str| {
        std::fs::read_to_string(addon.dir.join(crate::MANIFEST_FILE))
            .ok()
            .and_then(|text| line_of(&text, None, key))
    };
    for addon in addons.values() {
        let file = addon.dir.join(crate::MANIFEST_FILE);
        problems.extend(check_crate_depends(addon, addons));
        for dep in &addon.manifest.depends {
            match addons.get(&dep.name) {
                // Provided by the host, always installed.
                None if crate::HOST_MODULES.contains(&dep.name.as_str()) => {}
                None => problems.push(Problem::new(
                    &file,
                    Some("depends"),
                    manifest_line(addon, "depends"),
                    format!("depends on {:?}, which is in no addons path", dep.name),
                )),
                Some(found) => {
                    if let Some(req) = &dep.req
                        && !req.matches(&found.manifest.version)
                    {
                        problems.push(Problem::new(
                            &file,
                            Some("depends"),
                            manifest_line(addon, "depends"),
                            format!(
                                "requires {} {req}, but the available version is {}",
                                dep.name, found.manifest.version
                            ),
                        ));
                    }
                }
            }
        }
        if addon.manifest.excludes.is_empty() {
            continue;
        }
        let closure = dependency_closure(addons, addon.name());
        for excluded in &addon.manifest.excludes {
            if excluded == addon.name() || closure.contains(excluded.as_str()) {
                problems.push(Problem::new(
                    &file,
                    Some("excludes"),
                    manifest_line(addon, "excludes"),
                    format!(
                        "excludes {excluded:?}, which it needs itself, so it can never be installed"
                    ),
                ));
            }
        }
    }
    let deps: BTreeMap<&str, Vec<&str>> = addons
        .iter()
        .map(|(n, a)| (n.as_str(), a.manifest.depend_names().collect()))
        .collect();
    for cycle in crate::plan::cycles(&deps) {
        let first = &addons[&cycle[0]];
        problems.push(Problem::new(
            &first.dir.join(crate::MANIFEST_FILE),
            Some("depends"),
            manifest_line(first, "depends"),
            format!("dependency cycle: {}", cycle.join(" -> ")),
        ));
    }
    problems
}

/// Problems of an addon crate's dependencies on other addons' crates (their
/// model types and typed clients): each such dependency must be listed in
/// the manifest's `depends`, as the host installs and loads addons by it,
/// and must be taken with `default-features = false` (the `client`
/// feature), so the dependent's component does not carry the other addon.
/// An addon without a `Cargo.toml` (or whose file does not parse; cargo
/// reports that) has none.
pub fn check_crate_depends(addon: &Addon, addons: &BTreeMap<String, Addon>) -> Vec<Problem> {
    let cargo_file = addon.dir.join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&cargo_file) else {
        return Vec::new();
    };
    let Ok(cargo) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(dependencies) = cargo.get("dependencies").and_then(toml::Value::as_table) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (key, spec) in dependencies {
        // The package a dependency names (`package = "…"` renames it).
        let package = spec
            .get("package")
            .and_then(toml::Value::as_str)
            .unwrap_or(key);
        if package == addon.name() || !addons.contains_key(package) {
            continue;
        }
        let line = line_of(&text, Some("dependencies"), key);
        if !addon.manifest.depends.iter().any(|d| d.name == package) {
            problems.push(Problem::new(
                &cargo_file,
                Some(&format!("dependencies.{key}")),
                line,
                format!(
                    "the crate depends on addon {package:?} (its models and client), but {} does not list it in `depends`; add \"{package}\" to `depends`",
                    crate::MANIFEST_FILE
                ),
            ));
        }
        let without_defaults =
            spec.get("default-features").and_then(toml::Value::as_bool) == Some(false);
        if !without_defaults {
            problems.push(Problem::new(
                &cargo_file,
                Some(&format!("dependencies.{key}")),
                line,
                format!(
                    "addon {package:?} is a dependency with its default features, which export it as an addon; take it with `default-features = false, features = [\"client\"]`"
                ),
            ));
        }
    }
    problems
}

/// Every addon `name` depends on, directly or not (not `name` itself).
pub fn dependency_closure<'a>(
    addons: &'a BTreeMap<String, Addon>,
    name: &str,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = addons
        .get(name)
        .map(|a| a.manifest.depend_names().collect())
        .unwrap_or_default();
    while let Some(next) = stack.pop() {
        if let Some((key, addon)) = addons.get_key_value(next)
            && seen.insert(key.as_str())
        {
            stack.extend(addon.manifest.depend_names());
        }
    }
    seen
}
