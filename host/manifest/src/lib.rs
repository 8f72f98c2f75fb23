//! Addon manifests (`addon.toml`) and the dependency graph.
//!
//! [`discover`] reads every manifest in the addons paths and reports every
//! problem it finds, each with its file; the [`plan`] functions resolve the
//! install and uninstall closures over a petgraph and order them as Odoo
//! does (dependencies first; ties by depth, then name); [`graph`] draws the
//! graph for `pulse graph` and [`build`] runs the manifests' build commands
//! for `pulse build`. No wasmtime, no SQL.

pub mod build;
pub mod graph;
pub mod plan;
mod validate;

/// Not an API: helpers the unit tests in `host/manifest/tests/` (compiled
/// into the end-to-end test binary, not into this crate) reach.
#[doc(hidden)]
pub mod internals {
    pub use crate::build::one_package_cargo_build;
    pub use crate::validate::{PERMISSION_KEYS, line_of};
}

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use plan::{Action, Plan, PlanError, Step, plan_install, plan_uninstall, plan_upgrade};
pub use validate::{
    KEYS, Problem, check_crate_depends, check_graph, check_manifest, dependency_closure,
    did_you_mean,
};

/// Modules the host provides, always installed: `base` (users, groups,
/// partners, companies, currencies, access rules, …) and `web`. Addons
/// name them in `depends` like any other module; they are never upgraded
/// or uninstalled.
pub const HOST_MODULES: [&str; 2] = ["base", "web"];

/// The Odoo series this host targets.
pub const HOST_SERIES: &str = "19.0";

/// The manifest file name in an addon's folder.
pub const MANIFEST_FILE: &str = "addon.toml";

/// A parsed `addon.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Technical name, `[a-z][a-z0-9_]*`; must match the folder's name.
    pub name: String,
    /// Human name (Odoo's `name`, shown as `shortdesc`).
    #[serde(default)]
    pub title: String,
    /// One line.
    #[serde(default)]
    pub summary: String,
    /// Longer text.
    #[serde(default)]
    pub description: String,
    /// Category path, e.g. `Accounting/Localizations`.
    #[serde(default = "default_category")]
    pub category: String,
    /// Author.
    #[serde(default)]
    pub author: String,
    /// Licence.
    #[serde(default = "default_license")]
    pub license: String,
    /// Web site.
    #[serde(default)]
    pub website: String,
    /// The Apps icon: a web path (Odoo's `icon`, e.g.
    /// `/sale/static/description/icon.png`); empty: the addon's own
    /// `static/description/icon.png` when it has one, else base's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// Semantic version of the addon.
    pub version: semver::Version,
    /// Odoo series the addon targets; another series than the host's makes it uninstallable.
    #[serde(default = "default_series")]
    pub series: String,
    /// Dependencies, each `"name"` or `"name <semver requirement>"`.
    #[serde(default)]
    pub depends: Vec<Dependency>,
    /// `true` (all dependencies trigger), or the list of trigger dependencies.
    #[serde(default)]
    pub auto_install: AutoInstall,
    /// Shown as an App.
    #[serde(default)]
    pub application: bool,
    /// `false` makes the addon uninstallable.
    #[serde(default = "default_true")]
    pub installable: bool,
    /// Addons that cannot be installed together with this one.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Data files, loaded in order.
    #[serde(default)]
    pub data: Vec<String>,
    /// Demo data files, loaded after `data` in databases created with
    /// demo data (`pulse demo`), never in production ones.
    #[serde(default)]
    pub demo: Vec<String>,
    /// Requirement on the version of the WIT API (`pulse:addon`) the
    /// addon's component is built against; any when absent.
    #[serde(default = "default_api")]
    pub api: semver::VersionReq,
    /// What the addon asks to be allowed.
    #[serde(default)]
    pub permissions: Permissions,
    /// How to build the component.
    #[serde(default)]
    pub build: Option<Build>,
    /// The component file, relative to the addon folder (default `<name>.wasm`).
    #[serde(default)]
    pub component: Option<String>,
    /// Ordering in the Apps list (Odoo's `sequence`).
    #[serde(default = "default_sequence")]
    pub sequence: i64,
}

fn default_sequence() -> i64 {
    100
}

fn default_category() -> String {
    "Uncategorized".into()
}
fn default_license() -> String {
    "LGPL-3".into()
}
fn default_series() -> String {
    HOST_SERIES.into()
}
fn default_true() -> bool {
    true
}
/// Any version: the component says which one it is built against.
fn default_api() -> semver::VersionReq {
    semver::VersionReq::STAR
}

/// A dependency on another addon, with an optional version requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The addon depended on.
    pub name: String,
    /// The versions accepted (any when `None`).
    pub req: Option<semver::VersionReq>,
}

impl Dependency {
    /// Parses `"name"` or `"name <requirement>"`, e.g. `"account ^1.2"`.
    pub fn parse(text: &str) -> Result<Dependency, String> {
        let text = text.trim();
        let (name, req) = match text.find(|c: char| c.is_whitespace()) {
            Some(split) => (&text[..split], Some(text[split..].trim())),
            None => (text, None),
        };
        let req = req
            .map(|r| {
                semver::VersionReq::parse(r)
                    .map_err(|e| format!("bad version requirement {r:?} for {name}: {e}"))
            })
            .transpose()?;
        Ok(Dependency {
            name: name.to_string(),
            req,
        })
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.req {
            Some(req) => write!(f, "{} {req}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl Serialize for Dependency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for AutoInstall {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AutoInstall::No => serializer.serialize_bool(false),
            AutoInstall::AllDepends => serializer.serialize_bool(true),
            AutoInstall::Triggers(t) => t.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Dependency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Dependency::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Odoo's `auto_install`: off, on when all dependencies are installed, or on
/// when the listed trigger dependencies are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AutoInstall {
    /// Never installed automatically.
    #[default]
    No,
    /// Installed when all dependencies are.
    AllDepends,
    /// Installed when these dependencies are.
    Triggers(Vec<String>),
}

impl<'de> Deserialize<'de> for AutoInstall {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            List(Vec<String>),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Flag(false) => AutoInstall::No,
            Raw::Flag(true) => AutoInstall::AllDepends,
            Raw::List(list) => AutoInstall::Triggers(list),
        })
    }
}

/// Capabilities an addon asks for; the admin must grant them too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Hosts the addon may call over HTTP.
    #[serde(default)]
    pub outbound_hosts: Vec<String>,
    /// Whether the addon asks to run ORM calls as superuser.
    #[serde(default)]
    pub sudo: bool,
}

/// How `pulse build` builds the component.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Shell command run in the addon folder.
    pub command: String,
    /// Where the command leaves the component; `{cargo_target_dir}` is
    /// replaced by cargo's target directory. Copied to the component path.
    #[serde(default)]
    pub output: Option<String>,
}

impl Manifest {
    /// Parses and checks manifest text; `path` is used in the problems,
    /// which list every mistake found.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, Vec<Problem>> {
        check_manifest(text, path)
    }

    /// Whether this host can install the addon at all.
    pub fn is_installable(&self) -> bool {
        self.installable && self.series == HOST_SERIES
    }

    /// Names of the addons this one depends on.
    pub fn depend_names(&self) -> impl Iterator<Item = &str> {
        self.depends.iter().map(|d| d.name.as_str())
    }

    /// The component's file name relative to the addon folder.
    pub fn component_file(&self) -> String {
        self.component
            .clone()
            .unwrap_or_else(|| format!("{}.wasm", self.name))
    }
}

/// `[a-z][a-z0-9_]*`.
pub fn valid_addon_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// An addon found in an addons path.
#[derive(Debug, Clone, PartialEq)]
pub struct Addon {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its folder.
    pub dir: PathBuf,
}

impl Addon {
    /// The technical name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The component file the host loads.
    pub fn component_path(&self) -> PathBuf {
        self.dir.join(self.manifest.component_file())
    }
}

/// Every addon found in the addons paths, and every problem met.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Valid addons by name; the first addons path wins for a duplicate name.
    pub addons: BTreeMap<String, Addon>,
    /// Manifests that could not be used.
    pub problems: Vec<Problem>,
    /// Things worth knowing that do not stop anything (e.g. shadowed duplicates).
    pub warnings: Vec<String>,
}

/// Scans `paths` (each a folder of addon folders, or an addon folder itself)
/// for `addon.toml` files.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut found = Discovery::default();
    for root in paths {
        let mut dirs = Vec::new();
        if root.join(MANIFEST_FILE).is_file() {
            dirs.push(root.clone());
        } else {
            match std::fs::read_dir(root) {
                Ok(entries) => {
                    dirs.extend(
                        entries
                            .filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|p| p.join(MANIFEST_FILE).is_file()),
                    );
                }
                Err(e) => found.problems.push(Problem {
                    file: root.clone(),
                    field: None,
                    line: None,
                    message: format!("cannot read addons path: {e}"),
                }),
            }
        }
        dirs.sort();
        for dir in dirs {
            let file = dir.join(MANIFEST_FILE);
            let parsed = std::fs::read_to_string(&file)
                .map_err(|e| {
                    vec![Problem {
                        file: file.clone(),
                        field: None,
                        line: None,
                        message: format!("cannot read: {e}"),
                    }]
                })
                .and_then(|text| Manifest::parse(&text, &file));
            let manifest = match parsed {
                Ok(m) => m,
                Err(problems) => {
                    found.problems.extend(problems);
                    continue;
                }
            };
            if let Some(first) = found.addons.get(&manifest.name) {
                found.warnings.push(format!(
                    "addon '{}' in {} is shadowed by the one in {} (the first addons path wins)",
                    manifest.name,
                    dir.display(),
                    first.dir.display()
                ));
                continue;
            }
            found
                .addons
                .insert(manifest.name.clone(), Addon { manifest, dir });
        }
    }
    found
}
