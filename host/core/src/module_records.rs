//! The module records (`ir_module_module`): one row per addon the host
//! knows, with its state, versions, dependencies and, once installed, what
//! it described itself as. Every read and write of the table is here; the
//! lifecycle decides what to record, this module how. The table itself is
//! created with the host's other tables (`db`).

use std::collections::BTreeMap;

use pulse_manifest::{Addon, Discovery};
use pulse_orm::{Connection, Dialect};
use pulse_runtime::Description;
use serde::Serialize;
use sqlx::Row;

use crate::Error;

/// A lifecycle operation, for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Install addons and what they need.
    Install,
    /// Upgrade installed addons and their dependents.
    Upgrade,
    /// Uninstall addons and their dependents.
    Uninstall,
}

/// A module's state, as Odoo names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ModuleState {
    /// Known and installable, not installed.
    #[serde(rename = "uninstalled")]
    Uninstalled,
    /// Installed.
    #[serde(rename = "installed")]
    Installed,
    /// Cannot be installed on this host.
    #[serde(rename = "uninstallable")]
    Uninstallable,
    /// Marked for install; `pulse apply` installs it.
    #[serde(rename = "to install")]
    ToInstall,
    /// Installed and marked for upgrade.
    #[serde(rename = "to upgrade")]
    ToUpgrade,
    /// Installed and marked for removal.
    #[serde(rename = "to remove")]
    ToRemove,
}

impl ModuleState {
    /// Odoo's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleState::Uninstalled => "uninstalled",
            ModuleState::Installed => "installed",
            ModuleState::Uninstallable => "uninstallable",
            ModuleState::ToInstall => "to install",
            ModuleState::ToUpgrade => "to upgrade",
            ModuleState::ToRemove => "to remove",
        }
    }

    /// Parses Odoo's spelling.
    pub fn parse(text: &str) -> Option<ModuleState> {
        [
            ModuleState::Uninstalled,
            ModuleState::Installed,
            ModuleState::Uninstallable,
            ModuleState::ToInstall,
            ModuleState::ToUpgrade,
            ModuleState::ToRemove,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the module's tables exist (installed, possibly marked).
    pub fn is_installed(self) -> bool {
        matches!(
            self,
            ModuleState::Installed | ModuleState::ToUpgrade | ModuleState::ToRemove
        )
    }
}

/// The states in which a module's schema exists.
const INSTALLED_STATES: [ModuleState; 3] = [
    ModuleState::Installed,
    ModuleState::ToUpgrade,
    ModuleState::ToRemove,
];

/// The pending marks, which `apply_marked` carries out.
const MARK_STATES: [ModuleState; 3] = [
    ModuleState::ToInstall,
    ModuleState::ToUpgrade,
    ModuleState::ToRemove,
];

/// One line of `pulse modules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleInfo {
    /// Technical name.
    pub name: String,
    /// State.
    pub state: ModuleState,
    /// The version installed (Odoo's `latest_version`), if installed.
    pub installed_version: Option<String>,
    /// The version in the addons paths, if the addon is there.
    pub available_version: Option<String>,
    /// Human name.
    pub title: String,
}

/// An installed module as recorded: what the registry and the scopes of
/// the installed addons are built from.
#[derive(Debug, Clone)]
pub struct InstalledModule {
    /// Technical name.
    pub name: String,
    /// The version installed.
    pub version: String,
    /// Its direct dependencies.
    pub depends: Vec<String>,
    /// What it described itself as when installed or upgraded.
    pub description: Description,
    /// Its install order (Odoo's `sequence`).
    pub sequence: i64,
}

/// An installed module's version and the hash of what was installed, for
/// `upgrade --changed`.
pub(crate) struct InstalledHash {
    /// Technical name.
    pub name: String,
    /// The version installed.
    pub version: Option<String>,
    /// The component and data hash recorded at install or upgrade.
    pub hash: Option<String>,
}

/// The dependency list as the records hold it (a JSON array of names).
fn depends_json<'a>(names: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&names.collect::<Vec<_>>()).expect("names serialize")
}

/// The modules whose schema exists (installed, possibly marked), by
/// install sequence, then name.
pub(crate) async fn installed(conn: &mut Connection) -> Result<Vec<InstalledModule>, Error> {
    let rows = sqlx::query(
        "SELECT name, latest_version, depends, description_json, sequence FROM ir_module_module \
         WHERE state IN ($1, $2, $3) ORDER BY sequence, name",
    )
    .bind(INSTALLED_STATES[0].as_str())
    .bind(INSTALLED_STATES[1].as_str())
    .bind(INSTALLED_STATES[2].as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("name")?;
            let depends: String = row.try_get("depends")?;
            let description: Option<String> = row.try_get("description_json")?;
            let bad = |what: &str, e: serde_json::Error| {
                Error::Lifecycle(format!(
                    "module record of '{name}' has a corrupt {what}: {e}"
                ))
            };
            Ok(InstalledModule {
                version: row
                    .try_get::<Option<String>, _>("latest_version")?
                    .unwrap_or_default(),
                sequence: row.try_get("sequence")?,
                depends: serde_json::from_str(&depends).map_err(|e| bad("dependency list", e))?,
                description: match description {
                    Some(text) => serde_json::from_str(&text).map_err(|e| bad("description", e))?,
                    None => Description::default(),
                },
                name,
            })
        })
        .collect()
}

/// The versions and hashes of the modules in state `installed`.
pub(crate) async fn installed_hashes(conn: &mut Connection) -> Result<Vec<InstalledHash>, Error> {
    let rows = sqlx::query(
        "SELECT name, latest_version, component_hash FROM ir_module_module WHERE state = $1",
    )
    .bind(ModuleState::Installed.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InstalledHash {
                name: row.try_get("name")?,
                version: row.try_get("latest_version")?,
                hash: row.try_get("component_hash")?,
            })
        })
        .collect()
}

/// The name of the module record `id`, if there is one.
pub(crate) async fn name_of(conn: &mut Connection, id: i64) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT name FROM ir_module_module WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Modules in a `to …` state.
pub(crate) async fn marks(conn: &mut Connection) -> Result<BTreeMap<String, ModuleState>, Error> {
    let rows = sqlx::query("SELECT name, state FROM ir_module_module WHERE state IN ($1, $2, $3)")
        .bind(MARK_STATES[0].as_str())
        .bind(MARK_STATES[1].as_str())
        .bind(MARK_STATES[2].as_str())
        .fetch_all(&mut *conn)
        .await?;
    let mut marks = BTreeMap::new();
    for row in rows {
        let state: String = row.try_get("state")?;
        marks.insert(
            row.try_get("name")?,
            ModuleState::parse(&state).expect("a mark state"),
        );
    }
    Ok(marks)
}

/// Sets the state of `name`, creating its module record from the manifest when needed.
pub(crate) async fn set_state(
    conn: &mut Connection,
    found: &Discovery,
    name: &str,
    state: ModuleState,
) -> Result<(), Error> {
    let updated = sqlx::query("UPDATE ir_module_module SET state = $1 WHERE name = $2")
        .bind(state.as_str())
        .bind(name)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        let manifest = found.addons.get(name).map(|a| &a.manifest);
        let depends = depends_json(manifest.into_iter().flat_map(|m| m.depend_names()));
        sqlx::query("INSERT INTO ir_module_module (name, state, shortdesc, depends) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(state.as_str())
            .bind(manifest.map(|m| m.title.clone()).unwrap_or_default())
            .bind(depends)
            .execute(&mut *conn)
            .await?;
        if let Some(addon) = found.addons.get(name) {
            record_metadata(conn, addon).await?;
        }
    }
    Ok(())
}

/// The Apps icon of `addon` as a web path (Odoo's `icon`): its manifest's,
/// else its own `static/description/icon.png`, else base's.
fn icon(addon: &Addon) -> String {
    let m = &addon.manifest;
    if !m.icon.is_empty() {
        m.icon.clone()
    } else if addon.dir.join("static/description/icon.png").is_file() {
        format!("/{}/static/description/icon.png", m.name)
    } else {
        "/base/static/description/icon.png".into()
    }
}

/// The external id Odoo gives the category at `path` (its names from the
/// top): `module_category_accounting_localizations` for
/// `["Accounting", "Localizations"]`.
fn category_xmlid(path: &[&str]) -> String {
    let joined: Vec<String> = path.iter().map(|p| p.to_lowercase()).collect();
    format!(
        "module_category_{}",
        joined.join("_").replace('&', "and").replace(' ', "_")
    )
}

/// The id of the module category `category` (a path such as
/// `Accounting/Localizations`), made with its parents when missing, each
/// with Odoo's external id in `base`.
async fn category_id(conn: &mut Connection, category: &str) -> Result<Option<i64>, Error> {
    let parts: Vec<&str> = category
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut parent: Option<i64> = None;
    for depth in 1..=parts.len() {
        let xmlid = category_xmlid(&parts[..depth]);
        let id = match pulse_orm::ledger::external_id(conn, crate::base::BASE, &xmlid).await? {
            Some(known) => known.res_id,
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO ir_module_category (name, parent_id, visible, sequence) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(parts[depth - 1])
                .bind(parent)
                .bind(true)
                .bind(0_i64)
                .fetch_one(&mut *conn)
                .await?;
                pulse_orm::ledger::add_external_id(
                    conn,
                    crate::base::BASE,
                    &xmlid,
                    "ir.module.category",
                    id,
                    true,
                )
                .await?;
                id
            }
        };
        parent = Some(id);
    }
    Ok(parent)
}

/// Records what the Apps list shows of `addon` beyond its name and state:
/// description, website, licence, icon and category (Odoo's columns).
async fn record_metadata(conn: &mut Connection, addon: &Addon) -> Result<(), Error> {
    let m = &addon.manifest;
    let category = category_id(conn, &m.category).await?;
    sqlx::query(
        "UPDATE ir_module_module SET description = $1, website = $2, license = $3, icon = $4, \
         category_id = $5 WHERE name = $6",
    )
    .bind(&m.description)
    .bind(&m.website)
    .bind(&m.license)
    .bind(icon(addon))
    .bind(category)
    .bind(&m.name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops every pending mark (Odoo 19's `button_reset_state`): `to install`
/// becomes `uninstalled`; `to upgrade` and `to remove` become `installed`.
/// Returns how many modules changed.
pub(crate) async fn reset_marks(conn: &mut Connection) -> Result<u64, Error> {
    let mut changed = 0;
    for (from, to) in [
        (ModuleState::ToInstall, ModuleState::Uninstalled),
        (ModuleState::ToUpgrade, ModuleState::Installed),
        (ModuleState::ToRemove, ModuleState::Installed),
    ] {
        changed += sqlx::query("UPDATE ir_module_module SET state = $1 WHERE state = $2")
            .bind(to.as_str())
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(changed)
}

/// Records `addon` installed at its manifest's version, as `description`
/// describes it, with the hash `upgrade --changed` compares and its install
/// sequence.
pub(crate) async fn record_installed(
    conn: &mut Connection,
    addon: &Addon,
    description: &Description,
    component_hash: &str,
    sequence: i64,
) -> Result<(), Error> {
    let m = &addon.manifest;
    let depends = depends_json(m.depend_names());
    let description = serde_json::to_string(description).expect("descriptions serialize");
    let exists = sqlx::query("SELECT COUNT(*) FROM ir_module_module WHERE name = $1")
        .bind(&m.name)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?
        > 0;
    // Same parameters, in the same order, for both statements.
    let sql = if exists {
        "UPDATE ir_module_module SET state = $1, latest_version = $2, shortdesc = $3, summary = $4, \
         author = $5, application = $6, depends = $7, description_json = $8, component_hash = $9, \
         sequence = $10, installed_version = $2 WHERE name = $11"
    } else {
        "INSERT INTO ir_module_module (state, latest_version, shortdesc, summary, author, application, \
         depends, description_json, component_hash, sequence, name, installed_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $2)"
    };
    sqlx::query(sql)
        .bind(ModuleState::Installed.as_str())
        .bind(m.version.to_string())
        .bind(&m.title)
        .bind(&m.summary)
        .bind(&m.author)
        .bind(m.application)
        .bind(&depends)
        .bind(&description)
        .bind(component_hash)
        .bind(sequence)
        .bind(&m.name)
        .execute(&mut *conn)
        .await?;
    record_metadata(conn, addon).await
}

/// Records `name` uninstalled: no version, description or hash any more.
pub(crate) async fn record_uninstalled(conn: &mut Connection, name: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE ir_module_module SET state = $1, latest_version = NULL, description_json = NULL, \
         component_hash = NULL WHERE name = $2",
    )
    .bind(ModuleState::Uninstalled.as_str())
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Odoo's `update_list` over the records: every addon `found` gets a
/// record (new) or has it refreshed from its manifest (known); returns
/// `(updatable, added)` — installed addons with a newer version available,
/// and addons seen for the first time.
pub(crate) async fn record_found(
    conn: &mut Connection,
    found: &Discovery,
) -> Result<(usize, usize), Error> {
    let rows = sqlx::query("SELECT name, state, latest_version FROM ir_module_module")
        .fetch_all(&mut *conn)
        .await?;
    let mut known: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for row in rows {
        known.insert(
            row.try_get("name")?,
            (row.try_get("state")?, row.try_get("latest_version")?),
        );
    }
    let (mut updatable, mut added) = (0, 0);
    for (name, addon) in &found.addons {
        let m = &addon.manifest;
        let depends = depends_json(m.depend_names());
        match known.get(name) {
            Some((state, installed_version)) => {
                let newer = installed_version
                    .as_deref()
                    .and_then(|v| semver::Version::parse(v).ok())
                    .is_some_and(|v| m.version > v);
                updatable += usize::from(newer);
                // Odoo never turns a known module uninstallable here, only back.
                let state = if state == ModuleState::Uninstallable.as_str() && m.is_installable() {
                    ModuleState::Uninstalled.as_str()
                } else {
                    state.as_str()
                };
                sqlx::query(
                    "UPDATE ir_module_module SET state = $1, shortdesc = $2, summary = $3, author = $4, \
                     application = $5, installed_version = $6, depends = $7 WHERE name = $8",
                )
                .bind(state)
                .bind(&m.title)
                .bind(&m.summary)
                .bind(&m.author)
                .bind(m.application)
                .bind(m.version.to_string())
                .bind(&depends)
                .bind(name)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                added += 1;
                let state = if m.is_installable() {
                    ModuleState::Uninstalled
                } else {
                    ModuleState::Uninstallable
                };
                sqlx::query(
                    "INSERT INTO ir_module_module (name, state, shortdesc, summary, author, application, depends, \
                     installed_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(name)
                .bind(state.as_str())
                .bind(&m.title)
                .bind(&m.summary)
                .bind(&m.author)
                .bind(m.application)
                .bind(&depends)
                .bind(m.version.to_string())
                .execute(&mut *conn)
                .await?;
            }
        }
        record_metadata(conn, addon).await?;
    }
    Ok((updatable, added))
}

/// Every addon known from `found` or the records, with its state: the
/// manifest decides whether an unrecorded or uninstalled addon can be
/// installed, the record says what is installed.
pub(crate) async fn list(
    conn: &mut Connection,
    found: &Discovery,
) -> Result<Vec<ModuleInfo>, Error> {
    let rows = sqlx::query("SELECT name, state, latest_version, shortdesc FROM ir_module_module")
        .fetch_all(&mut *conn)
        .await?;
    let mut by_name: BTreeMap<String, ModuleInfo> = BTreeMap::new();
    for (name, addon) in &found.addons {
        by_name.insert(
            name.clone(),
            ModuleInfo {
                name: name.clone(),
                state: if addon.manifest.is_installable() {
                    ModuleState::Uninstalled
                } else {
                    ModuleState::Uninstallable
                },
                installed_version: None,
                available_version: Some(addon.manifest.version.to_string()),
                title: addon.manifest.title.clone(),
            },
        );
    }
    for row in rows {
        let name: String = row.try_get("name")?;
        let state: String = row.try_get("state")?;
        let entry = by_name.entry(name.clone()).or_insert_with(|| ModuleInfo {
            name,
            state: ModuleState::Uninstalled,
            installed_version: None,
            available_version: None,
            title: String::new(),
        });
        match ModuleState::parse(&state) {
            // The manifest knows best whether an uninstalled addon can be installed.
            Some(ModuleState::Uninstalled) | None => {}
            Some(recorded) => {
                entry.state = recorded;
                if recorded.is_installed() {
                    entry.installed_version = row.try_get("latest_version")?;
                }
            }
        }
        if entry.title.is_empty() {
            entry.title = row
                .try_get::<Option<String>, _>("shortdesc")?
                .unwrap_or_default();
        }
    }
    Ok(by_name.into_values().collect())
}

/// Takes the database's lifecycle lock for this transaction, so two
/// operations never interleave. PostgreSQL: an advisory lock, refused at once
/// when held; SQLite: the write lock (taken by a write to the module
/// records that changes nothing), waited for up to the busy timeout.
pub(crate) async fn lock_lifecycle(conn: &mut Connection, dialect: Dialect) -> Result<(), Error> {
    let busy = || {
        Error::Lifecycle(
            "another install, upgrade or uninstall is running on this database; try again when it has finished".into(),
        )
    };
    match dialect {
        Dialect::Postgres => {
            let got: bool = sqlx::query("SELECT pg_try_advisory_xact_lock(7285310001)")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if !got {
                return Err(busy());
            }
        }
        Dialect::Sqlite => {
            // Any write takes SQLite's single write lock until commit.
            sqlx::query("UPDATE ir_module_module SET sequence = sequence WHERE 1 = 0")
                .execute(&mut *conn)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.message().contains("locked") => busy(),
                    _ => Error::Database(e),
                })?;
        }
    }
    Ok(())
}
