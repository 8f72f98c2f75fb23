//! The Apps lifecycle: install and uninstall as one transaction per plan,
//! module records (`ir_module_module`) and the ownership ledger
//! (`ir_model`, `ir_model_fields`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use pulse_manifest::plan::Installed;
use pulse_manifest::{Action, Plan, PlanError};
use pulse_manifest::{Addon, Discovery, discover, plan_install, plan_uninstall, plan_upgrade};
use pulse_orm::{Connection, Orm, Registry};
use pulse_runtime::{CallError, Description, Hook, LoadedAddon};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::failure::CallFailure;
use crate::{Error, Host, Snapshot, TxOrm, data, recompute, schema_sync};

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
const INSTALLED_STATES: [&str; 3] = ["installed", "to upgrade", "to remove"];

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

/// What a plan does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new table.
    CreateTable,
    /// A new column.
    AddColumn,
    /// A column whose type changes (refused while it holds data).
    ChangeType,
    /// A column dropped.
    DropColumn,
    /// A table dropped.
    DropTable,
}

impl ChangeKind {
    fn drop(column: &Option<String>) -> ChangeKind {
        if column.is_some() {
            ChangeKind::DropColumn
        } else {
            ChangeKind::DropTable
        }
    }

    /// Words for people.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::CreateTable => "create table",
            ChangeKind::AddColumn => "add column",
            ChangeKind::ChangeType => "change type of",
            ChangeKind::DropColumn => "drop column",
            ChangeKind::DropTable => "drop table",
        }
    }
}

/// One schema change of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    /// The addon the change belongs to.
    pub addon: String,
    /// What happens.
    pub kind: ChangeKind,
    /// The table.
    pub table: String,
    /// The column, for column changes.
    pub column: Option<String>,
    /// Rows holding data the change touches (rows of a dropped table,
    /// values of a dropped or retyped column).
    pub rows: i64,
}

/// What an operation would do: its steps, in order, and every schema change
/// with the data it touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    /// The operation.
    pub operation: Operation,
    /// The addons asked for.
    pub targets: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<pulse_manifest::Step>,
    /// Tables and columns created, changed and dropped.
    pub changes: Vec<SchemaChange>,
    /// What the plan could not work out (e.g. an addon not built yet).
    pub notes: Vec<String>,
    /// What the addons installed or upgraded ask for beyond the sandbox,
    /// and whether the admin granted it.
    pub permissions: Vec<PermissionRequest>,
}

/// A permission an addon's manifest asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionRequest {
    /// The addon.
    pub addon: String,
    /// `sudo` or `http:HOST`.
    pub permission: String,
    /// Whether the admin granted it (`pulse grant`).
    pub granted: bool,
}

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

/// An installed module as recorded in the database.
struct InstalledModule {
    name: String,
    version: String,
    depends: Vec<String>,
    description: Description,
    sequence: i64,
}

async fn installed_modules(conn: &mut Connection) -> Result<Vec<InstalledModule>, Error> {
    let rows = sqlx::query(
        "SELECT name, latest_version, depends, description_json, sequence FROM ir_module_module \
         WHERE state IN ($1, $2, $3) ORDER BY sequence, name",
    )
    .bind(INSTALLED_STATES[0])
    .bind(INSTALLED_STATES[1])
    .bind(INSTALLED_STATES[2])
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

fn installed_map(modules: &[InstalledModule]) -> Installed {
    let mut installed: Installed = modules
        .iter()
        .map(|m| (m.name.clone(), m.depends.clone()))
        .collect();
    // The host's own modules are always there, depending on nothing.
    for module in pulse_manifest::HOST_MODULES {
        installed.entry(module.to_string()).or_default();
    }
    installed
}

/// The registry of `modules`, applied in dependency order (whatever their
/// install sequence), so an addon always extends models already defined.
fn registry_of(modules: &[InstalledModule]) -> Result<Registry, Error> {
    let mut registry = Registry::new();
    crate::base::apply(&mut registry)?;
    for module in load_order(modules)? {
        // Every model's problems at once, not just the first model's.
        let problems: Vec<String> = module
            .description
            .models
            .iter()
            .filter_map(|spec| registry.apply(spec, &module.name).err())
            .map(|e| e.to_string())
            .collect();
        if !problems.is_empty() {
            return Err(pulse_orm::OrmError::Validation(problems.join("\n")).into());
        }
    }
    registry.validate()?;
    Ok(registry)
}

/// What each installed addon's code may reach: the models it or one of its
/// transitive dependencies defines or extends.
fn scopes_of(modules: &[InstalledModule]) -> HashMap<String, Arc<crate::Scope>> {
    let by_name: HashMap<&str, &InstalledModule> =
        modules.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut scopes = HashMap::new();
    for module in modules {
        // Every addon may use the base models (its users' rights still apply).
        let mut models: std::collections::HashSet<String> =
            crate::base::model_names().into_iter().collect();
        let mut seen = BTreeSet::new();
        let mut stack = vec![module.name.as_str()];
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(m) = by_name.get(name) {
                models.extend(m.description.models.iter().map(|spec| spec.name.clone()));
                stack.extend(m.depends.iter().map(String::as_str));
            }
        }
        scopes.insert(
            module.name.clone(),
            Arc::new(crate::Scope {
                addon: module.name.clone(),
                models,
                graph: seen.iter().map(|name| name.to_string()).collect(),
            }),
        );
    }
    scopes
}

/// `modules` in load order: dependencies first, then by depth and name.
fn load_order(modules: &[InstalledModule]) -> Result<Vec<&InstalledModule>, Error> {
    let deps: HashMap<&str, Vec<&str>> = modules
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.depends.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let names: BTreeSet<&str> = deps.keys().copied().collect();
    let order = pulse_manifest::plan::order_by_depth(&deps, &names)?;
    Ok(order
        .iter()
        .filter_map(|name| modules.iter().find(|m| &m.name == name))
        .collect())
}

/// Runs one call into an addon with the plan's transaction and gives the
/// transaction back, or the error naming the addon and the step. The
/// addon acts on its own (`scope`: its graph, its own rights), or with
/// no rights at all when `scope` is `None` (describing itself).
#[allow(clippy::too_many_arguments)]
async fn with_tx<T>(
    tx: Transaction<'static, Any>,
    registry: &Registry,
    snapshot: Option<&Arc<Snapshot>>,
    scope: Option<&Arc<crate::Scope>>,
    host: &Host,
    addon: &str,
    step: &str,
    call: impl AsyncFnOnce(TxOrm) -> (Result<T, CallError>, TxOrm),
) -> Result<(T, Transaction<'static, Any>), Error> {
    let orm = Orm::new(host.db.dialect, Arc::new(registry.clone()));
    let session = TxOrm::new(tx, orm, snapshot.cloned());
    let session = match scope {
        Some(scope) => session.acting_as(scope.clone(), step).await?,
        None => session.with_no_rights(addon),
    };
    let (result, backend) = call(session).await;
    match result {
        Ok(value) => Ok((value, backend.into_tx())),
        // Dropping the transaction rolls the whole plan back.
        Err(source) => Err(Error::Addon {
            addon: addon.to_string(),
            step: step.to_string(),
            source,
        }),
    }
}

/// The scope of `addon` in `snapshot` (its graph's models), or, when the
/// snapshot does not hold it yet, one with only its dependencies' models.
fn scope_in(snapshot: &Snapshot, addon: &str) -> Arc<crate::Scope> {
    snapshot.scopes.get(addon).cloned().unwrap_or_else(|| {
        Arc::new(crate::Scope {
            addon: addon.to_string(),
            ..crate::Scope::default()
        })
    })
}

/// Refuses the methods `addon` registers on models outside its
/// dependency graph (an override of another addon's model needs that
/// addon among its dependencies; the host's models are everyone's),
/// naming each model and method.
fn check_overrides(
    addon: &str,
    depends: &[String],
    description: &Description,
    modules: &[InstalledModule],
    registry: &Registry,
) -> Result<(), Error> {
    let by_name: HashMap<&str, &InstalledModule> =
        modules.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut models: std::collections::HashSet<String> =
        crate::base::model_names().into_iter().collect();
    models.extend(description.models.iter().map(|m| m.name.clone()));
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = depends.iter().map(String::as_str).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(m) = by_name.get(name) {
            models.extend(m.description.models.iter().map(|spec| spec.name.clone()));
            stack.extend(m.depends.iter().map(String::as_str));
        }
    }
    let problems: Vec<String> = description
        .methods
        .iter()
        .filter(|m| !models.contains(&m.model))
        .map(|m| {
            let owner = match registry.get(&m.model) {
                Some(model) => format!(
                    "model '{}' belongs to addon '{}', which is not among its dependencies",
                    m.model, model.module
                ),
                None => format!(
                    "no addon of its dependency graph defines model '{}'",
                    m.model
                ),
            };
            format!(
                "addon '{addon}' may not define or override {}.{}: {owner}",
                m.model, m.name
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Lifecycle(problems.join("\n")))
    }
}

/// The scope of `addon` before it is installed: the host's models and
/// those of its dependencies' graphs.
fn scope_of_dependencies(
    snapshot: &Snapshot,
    addon: &str,
    depends: &[String],
) -> Arc<crate::Scope> {
    let mut scope = crate::Scope {
        addon: addon.to_string(),
        models: crate::base::model_names().into_iter().collect(),
        graph: BTreeSet::from([addon.to_string()]),
    };
    for dependency in depends.iter().filter_map(|d| snapshot.scopes.get(d)) {
        scope.models.extend(dependency.models.iter().cloned());
        scope.graph.extend(dependency.graph.iter().cloned());
    }
    Arc::new(scope)
}

/// Recomputes and validates what a step's own ORM work (data files)
/// marked, the addon's code acting with its own rights.
async fn settle(
    tx: Transaction<'static, Any>,
    orm: Orm,
    snapshot: &Arc<Snapshot>,
    addon: &str,
    step: &str,
) -> Result<Transaction<'static, Any>, Error> {
    let session = TxOrm::new(tx, orm, Some(snapshot.clone()))
        .acting_as(scope_in(snapshot, addon), step)
        .await?;
    let (outcome, orm) = recompute::flush(session, crate::dispatch::method_call).await;
    outcome.map_err(|failure| step_failed(addon, step, failure))?;
    Ok(orm.into_tx())
}

/// Computes the computed fields a step adds to models that already hold
/// records, in batches, logging progress.
async fn compute_added(
    mut tx: Transaction<'static, Any>,
    dialect: pulse_orm::Dialect,
    registry: &Registry,
    snapshot: &Arc<Snapshot>,
    addon: &str,
    diff: &schema_sync::SchemaDiff,
    progress: &str,
) -> Result<Transaction<'static, Any>, Error> {
    let mut methods = BTreeSet::new();
    for (model, field) in &diff.added_fields {
        if let Some(method) = &field.compute {
            methods.insert((model.clone(), method.clone()));
        }
    }
    for (model, method) in methods {
        let orm = Orm::new(dialect, Arc::new(registry.clone()));
        let mut session = TxOrm::new(tx, orm, Some(snapshot.clone()))
            .acting_as(scope_in(snapshot, addon), progress)
            .await?;
        let ids = match session.parts() {
            Ok((conn, orm)) => orm
                .search(conn, &model, &pulse_orm::Domain::all(), &Default::default())
                .await
                .map_err(Error::Orm),
            Err(e) => Err(Error::Lifecycle(e)),
        }?;
        if !ids.is_empty() {
            tracing::info!(addon = %addon, step = %progress, model = %model, method = %method, records = ids.len(), "computing a new field of existing records");
        }
        let outcome;
        (outcome, session) = recompute::compute(
            session,
            crate::dispatch::method_call,
            &model,
            &method,
            &ids,
            Some(progress),
        )
        .await;
        let step = format!("computing {model} with {method}");
        outcome.map_err(|failure| step_failed(addon, &step, failure))?;
        let flushed;
        (flushed, session) = recompute::flush(session, crate::dispatch::method_call).await;
        flushed.map_err(|failure| step_failed(addon, &step, failure))?;
        tx = session.into_tx();
    }
    Ok(tx)
}

/// A failed call during a lifecycle step, naming the addon and the step.
fn step_failed(addon: &str, step: &str, failure: CallFailure) -> Error {
    match failure {
        CallFailure::Addon(source) => Error::Addon {
            addon: addon.to_string(),
            step: step.to_string(),
            source,
        },
        other => Error::Lifecycle(format!("addon '{addon}' failed in {step}: {other}")),
    }
}

impl Host {
    fn discover(&self) -> Discovery {
        let found = discover(&self.config.addons_paths);
        for w in &found.warnings {
            tracing::warn!("{w}");
        }
        for p in &found.problems {
            tracing::warn!("{p}");
        }
        found
    }

    fn load_component(&self, addon: &Addon) -> Result<LoadedAddon<TxOrm>, Error> {
        let provided =
            semver::Version::parse(pulse_runtime::WIT_VERSION).expect("a valid WIT version");
        if !addon.manifest.api.matches(&provided) {
            return Err(Error::Lifecycle(format!(
                "addon '{}' needs the WIT API pulse:addon {}, but this host provides {provided}",
                addon.name(),
                addon.manifest.api
            )));
        }
        let path = addon.component_path();
        if !path.is_file() {
            return Err(Error::Lifecycle(format!(
                "addon '{}': component {} not found; build it with `pulse build {}`",
                addon.name(),
                path.display(),
                addon.name()
            )));
        }
        let limits = self
            .config
            .addon_limits
            .get(addon.name())
            .copied()
            .unwrap_or(self.config.limits);
        Ok(self.runtime.load(addon.name(), &path, limits)?)
    }

    /// The snapshot of `modules`: their registry, and the components
    /// `loaded` holds (loading those it lacks), with the method chains.
    fn snapshot_of(
        &self,
        modules: &[InstalledModule],
        registry: &Registry,
        found: &Discovery,
        grants: &HashMap<String, BTreeSet<String>>,
        loaded: &mut HashMap<String, LoadedAddon<TxOrm>>,
    ) -> Result<Snapshot, Error> {
        let mut addons = HashMap::new();
        let none = BTreeSet::new();
        let permissions = modules
            .iter()
            .filter_map(|m| found.addons.get(&m.name))
            .map(|a| {
                let granted = grants.get(a.name()).unwrap_or(&none);
                (
                    a.name().to_string(),
                    crate::grants::Permissions::of(&a.manifest.permissions, granted),
                )
            })
            .collect();
        let mut methods = HashMap::new();
        let mut validators: HashMap<String, Vec<(String, Vec<String>)>> = HashMap::new();
        let order = load_order(modules)?;
        for module in &order {
            if !loaded.contains_key(&module.name) {
                let Some(addon) = found.addons.get(&module.name) else {
                    tracing::warn!(addon = %module.name, "installed addon is missing from the addons paths; its methods are unavailable");
                    continue;
                };
                match self.load_component(addon) {
                    Ok(component) => {
                        loaded.insert(module.name.clone(), component);
                    }
                    Err(e) => {
                        tracing::warn!(addon = %module.name, error = %e, "cannot load installed addon");
                        continue;
                    }
                }
            }
            addons.insert(module.name.clone(), loaded[&module.name].clone());
            for m in &module.description.methods {
                // Later addons in load order override earlier ones.
                methods
                    .entry((m.model.clone(), m.name.clone()))
                    .or_insert_with(Vec::new)
                    .push(module.name.clone());
                if !m.constrains.is_empty() {
                    let list = validators.entry(m.model.clone()).or_default();
                    list.retain(|(name, _)| name != &m.name);
                    list.push((m.name.clone(), m.constrains.clone()));
                }
            }
        }
        for model in registry.models() {
            for field in model.fields() {
                if let Some(method) = &field.spec.compute
                    && !methods.contains_key(&(model.name.clone(), method.clone()))
                {
                    tracing::warn!(
                        model = %model.name,
                        field = %field.name(),
                        "the compute method '{method}' is not implemented by any loaded addon"
                    );
                }
            }
        }
        let routes = crate::routes::RouteTable::build(
            order
                .iter()
                .filter(|m| addons.contains_key(&m.name))
                .map(|m| (m.name.as_str(), m.description.routes.as_slice())),
        );
        Ok(Snapshot {
            routes,
            registry: Arc::new(registry.clone()),
            addons,
            methods,
            scopes: scopes_of(modules),
            validators,
            permissions,
            outbound: self.config.outbound.clone(),
        })
    }

    /// Rebuilds the snapshot from the database and swaps it in.
    pub async fn reload(&self) -> Result<(), Error> {
        let mut conn = self.db.pool.acquire().await?;
        // Read the version first: a change committed meanwhile is seen next time.
        let version = crate::db::registry_version(&mut conn).await?;
        let modules = installed_modules(&mut conn).await?;
        let grants = crate::grants::load(&mut conn).await?;
        drop(conn);
        let registry = registry_of(&modules)?;
        let found = self.discover();
        let snapshot =
            self.snapshot_of(&modules, &registry, &found, &grants, &mut HashMap::new())?;
        *self.current.write().expect("snapshot lock") = Arc::new(snapshot);
        self.version
            .store(version, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Installs `names` and every dependency not yet installed (with the
    /// auto-install glue they trigger), in order, as one transaction.
    /// Returns the addons installed.
    pub async fn install(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Install, names).await
    }

    /// Upgrades `names` and every installed addon that depends on them, as
    /// one transaction: new tables and columns first, then each addon's
    /// migrate hook (which sees old and new fields), then removals, refused
    /// where they would lose data. Returns the addons upgraded or installed.
    pub async fn upgrade(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Upgrade, names).await
    }

    /// Uninstalls `names` and every installed addon that depends on them,
    /// dependents first, as one transaction: runs each uninstall hook, drops
    /// what the ledger says the addon owns (its tables, and its columns on
    /// other addons' tables), and marks it uninstalled. Works when an addon's
    /// folder is gone (its hook is then skipped).
    pub async fn uninstall(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Uninstall, names).await
    }

    /// Installed addons whose component changed since they were installed
    /// or upgraded (by content hash), or whose available version differs.
    pub async fn changed(&self) -> Result<Vec<String>, Error> {
        let found = self.discover();
        let rows = sqlx::query(
            "SELECT name, latest_version, component_hash FROM ir_module_module WHERE state = $1",
        )
        .bind(ModuleState::Installed.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        let mut changed = Vec::new();
        for row in rows {
            let name: String = row.try_get("name")?;
            let Some(addon) = found.addons.get(&name) else {
                continue;
            };
            let version: Option<String> = row.try_get("latest_version")?;
            let hash: Option<String> = row.try_get("component_hash")?;
            let current = std::fs::read(addon.component_path())
                .ok()
                .map(|b| change_hash(addon, &pulse_runtime::content_hash(&b)));
            if version.as_deref() != Some(addon.manifest.version.to_string().as_str())
                || current != hash
            {
                changed.push(name);
            }
        }
        Ok(changed)
    }

    /// Marks `names` (and what the operation pulls in) `to install`, `to
    /// upgrade` or `to remove`, like Odoo's `button_install`,
    /// `button_upgrade` and `button_uninstall`, and returns the plan. Marks
    /// block nothing: `apply_marked` carries them out, `reset_marks` drops them.
    pub async fn mark(&self, operation: Operation, names: &[String]) -> Result<Plan, Error> {
        let found = self.discover();
        let mut tx = self.db.pool.begin().await?;
        let modules = installed_modules(&mut tx).await?;
        let plan = plan_for(operation, &found, &installed_map(&modules), names)?;
        for step in &plan.steps {
            let state = match step.action {
                Action::Install => ModuleState::ToInstall,
                Action::Upgrade => ModuleState::ToUpgrade,
                Action::Uninstall => ModuleState::ToRemove,
            };
            set_state(&mut tx, &found, &step.addon, state).await?;
        }
        tx.commit().await?;
        Ok(plan)
    }

    /// Carries out every pending mark in one transaction (Odoo's
    /// `base.module.upgrade`): removals first, then upgrades, then installs.
    pub async fn apply_marked(&self) -> Result<Vec<String>, Error> {
        self.execute(|found, installed, marks| {
            let of = |state: ModuleState| -> Vec<String> {
                marks
                    .iter()
                    .filter(|(_, s)| **s == state)
                    .map(|(n, _)| n.clone())
                    .collect()
            };
            let mut steps = plan_uninstall(installed, &of(ModuleState::ToRemove))?.steps;
            let mut remaining = installed.clone();
            for step in &steps {
                remaining.remove(&step.addon);
            }
            let upgrade = of(ModuleState::ToUpgrade);
            let upgrade: Vec<String> = upgrade
                .into_iter()
                .filter(|n| remaining.contains_key(n))
                .collect();
            let upgrading = plan_upgrade(&found.addons, &remaining, &upgrade)?.steps;
            let mut after = remaining.clone();
            for step in &upgrading {
                if let Some(addon) = found.addons.get(&step.addon) {
                    after.insert(
                        step.addon.clone(),
                        addon.manifest.depend_names().map(str::to_string).collect(),
                    );
                }
            }
            steps.extend(upgrading);
            steps.extend(plan_install(&found.addons, &after, &of(ModuleState::ToInstall))?.steps);
            Ok(Plan { steps })
        })
        .await
    }

    /// Drops every pending mark (Odoo 19's `button_reset_state`): `to install`
    /// becomes `uninstalled`; `to upgrade` and `to remove` become `installed`.
    /// Returns how many modules changed.
    pub async fn reset_marks(&self) -> Result<u64, Error> {
        let mut tx = self.db.pool.begin().await?;
        let mut changed = 0;
        for (from, to) in [
            (ModuleState::ToInstall, ModuleState::Uninstalled),
            (ModuleState::ToUpgrade, ModuleState::Installed),
            (ModuleState::ToRemove, ModuleState::Installed),
        ] {
            changed += sqlx::query("UPDATE ir_module_module SET state = $1 WHERE state = $2")
                .bind(to.as_str())
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn apply(&self, operation: Operation, names: &[String]) -> Result<Vec<String>, Error> {
        self.execute(|found, installed, _| plan_for(operation, found, installed, names))
            .await
    }

    /// Runs the plan `make_plan` draws up (from the addons found, the
    /// installed addons and the pending marks) as one transaction, under the
    /// lifecycle lock; on success every module of the plan ends in its final
    /// state and the registry is swapped.
    async fn execute(
        &self,
        make_plan: impl FnOnce(
            &Discovery,
            &Installed,
            &BTreeMap<String, ModuleState>,
        ) -> Result<Plan, PlanError>,
    ) -> Result<Vec<String>, Error> {
        let found = self.discover();
        let mut tx = self.db.pool.begin().await?;
        lock_lifecycle(&mut tx, self.db.dialect).await?;
        let mut modules = installed_modules(&mut tx).await?;
        let marks = marks(&mut tx).await?;
        let grants = crate::grants::load(&mut tx).await?;
        let with_demo = crate::db::with_demo(&mut tx).await?;
        let plan = make_plan(&found, &installed_map(&modules), &marks)?;
        let dialect = self.db.dialect;
        let total = plan.steps.len();
        // Components loaded so far; hooks, compute and validation methods
        // run with every installed addon's methods available.
        let mut loaded = HashMap::new();
        for (index, step) in plan.steps.iter().enumerate() {
            let name = &step.addon;
            // Progress for long plans: every step logs "k/n".
            let progress = format!("{}/{total}", index + 1);
            let registry = registry_of(&modules)?;
            if step.action == Action::Uninstall {
                let snapshot = Arc::new(self.snapshot_of(
                    &modules,
                    &registry,
                    &found,
                    &grants,
                    &mut loaded,
                )?);
                // snapshot_of loaded the component (or logged why it could not).
                match loaded.get(name) {
                    Some(component) => {
                        ((), tx) = with_tx(
                            tx,
                            &registry,
                            Some(&snapshot),
                            Some(&scope_in(&snapshot, name)),
                            self,
                            name,
                            "the uninstall hook",
                            async |orm| component.run_hook(Hook::Uninstall, orm).await,
                        )
                        .await?;
                    }
                    None => {
                        tracing::warn!(addon = %name, "no component to run; uninstall hook skipped")
                    }
                }
                let orm = Orm::new(dialect, Arc::new(registry.clone()));
                data::remove(&mut tx, &orm, name, None).await?;
                tx = settle(tx, orm, &snapshot, name, "removing its data").await?;
                schema_sync::drop_owned(&mut tx, dialect, name).await?;
                sqlx::query(
                    "UPDATE ir_module_module SET state = $1, latest_version = NULL, description_json = NULL, \
                     component_hash = NULL WHERE name = $2",
                )
                .bind(ModuleState::Uninstalled.as_str())
                .bind(name)
                .execute(&mut *tx)
                .await?;
                modules.retain(|m| &m.name != name);
                loaded.remove(name);
                tracing::info!(addon = %name, step = %progress, "uninstalled");
                continue;
            }
            let addon = &found.addons[name];
            let component = self.load_component(addon)?;
            let records = data::read(addon, with_demo)?;
            let version = addon.manifest.version.to_string();
            let description;
            (description, tx) = with_tx(
                tx,
                &registry,
                None,
                None,
                self,
                name,
                "describe",
                async |orm| component.describe(orm).await,
            )
            .await?;
            crate::routes::validate(name, &description.routes)?;
            let depends: Vec<String> = addon.manifest.depend_names().map(str::to_string).collect();
            check_overrides(name, &depends, &description, &modules, &registry)?;
            // From here on the step sees its new component.
            loaded.insert(name.clone(), component.clone());
            let old = modules.iter().position(|m| &m.name == name);
            let sequence = match old {
                Some(i) => modules[i].sequence,
                None => modules.iter().map(|m| m.sequence).max().unwrap_or(0) + 1,
            };
            match old {
                None => {
                    tracing::info!(addon = %name, %version, step = %progress, "installing");
                    let before = Arc::new(self.snapshot_of(
                        &modules,
                        &registry,
                        &found,
                        &grants,
                        &mut loaded,
                    )?);
                    // Before its own models exist: those of its dependencies.
                    let scope = scope_of_dependencies(&before, name, &depends);
                    ((), tx) = with_tx(
                        tx,
                        &registry,
                        Some(&before),
                        Some(&scope),
                        self,
                        name,
                        "the pre-init hook",
                        async |orm| component.run_hook(Hook::PreInit, orm).await,
                    )
                    .await?;
                    let diff = schema_sync::diff(&Description::default(), &description);
                    modules.push(InstalledModule {
                        name: name.clone(),
                        version: version.clone(),
                        depends,
                        description: description.clone(),
                        sequence,
                    });
                    let registry = registry_of(&modules)?;
                    schema_sync::apply_additions(&mut tx, dialect, &registry, name, &diff).await?;
                    let snapshot = Arc::new(self.snapshot_of(
                        &modules,
                        &registry,
                        &found,
                        &grants,
                        &mut loaded,
                    )?);
                    let orm = Orm::new(dialect, Arc::new(registry.clone()));
                    data::load(&mut tx, &orm, name, &records).await?;
                    tx = settle(tx, orm, &snapshot, name, "loading its data").await?;
                    tx = compute_added(tx, dialect, &registry, &snapshot, name, &diff, &progress)
                        .await?;
                    ((), tx) = with_tx(
                        tx,
                        &registry,
                        Some(&snapshot),
                        Some(&scope_in(&snapshot, name)),
                        self,
                        name,
                        "the post-init hook",
                        async |orm| component.run_hook(Hook::PostInit, orm).await,
                    )
                    .await?;
                }
                Some(i) => {
                    let from = modules[i].version.clone();
                    tracing::info!(addon = %name, %from, to = %version, step = %progress, "upgrading");
                    let diff = schema_sync::diff(&modules[i].description, &description);
                    // The migrate hook sees old and new fields together.
                    modules[i].description =
                        schema_sync::union(&modules[i].description, &description);
                    modules[i].depends = depends;
                    let registry = registry_of(&modules)?;
                    schema_sync::apply_additions(&mut tx, dialect, &registry, name, &diff).await?;
                    let snapshot = Arc::new(self.snapshot_of(
                        &modules,
                        &registry,
                        &found,
                        &grants,
                        &mut loaded,
                    )?);
                    let orm = Orm::new(dialect, Arc::new(registry.clone()));
                    let kept = data::load(&mut tx, &orm, name, &records).await?;
                    tx = settle(tx, orm.clone(), &snapshot, name, "loading its data").await?;
                    tx = compute_added(tx, dialect, &registry, &snapshot, name, &diff, &progress)
                        .await?;
                    ((), tx) = with_tx(
                        tx,
                        &registry,
                        Some(&snapshot),
                        Some(&scope_in(&snapshot, name)),
                        self,
                        name,
                        "the migrate hook",
                        async |orm| {
                            component
                                .run_hook(
                                    Hook::Migrate {
                                        from: &from,
                                        to: &version,
                                    },
                                    orm,
                                )
                                .await
                        },
                    )
                    .await?;
                    data::remove(&mut tx, &orm, name, Some(&kept)).await?;
                    tx = settle(tx, orm, &snapshot, name, "removing its old data").await?;
                    modules[i].description = description.clone();
                    modules[i].version = version.clone();
                    let registry = registry_of(&modules)?;
                    schema_sync::apply_removals(&mut tx, dialect, &registry, name, &diff).await?;
                }
            }
            let hash = change_hash(addon, component.content_hash());
            record_installed(&mut tx, addon, &description, &hash, sequence).await?;
        }
        crate::registry_changed(&mut tx, dialect).await?;
        tx.commit().await?;
        // This host picks the change up at its next request; others on
        // PostgreSQL are told at once.
        self.invalidate();
        Ok(plan.addons())
    }

    /// What `operation` on `names` would do, changing nothing. An uninstall
    /// plan lists every table it would drop with its row count.
    pub async fn plan(&self, operation: Operation, names: &[String]) -> Result<PlanReport, Error> {
        let found = self.discover();
        let mut conn = self.db.pool.acquire().await?;
        let modules = installed_modules(&mut conn).await?;
        let installed = installed_map(&modules);
        let plan = plan_for(operation, &found, &installed, names)?;
        let grants = crate::grants::load(&mut conn).await?;
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        let mut permissions = Vec::new();
        for step in &plan.steps {
            let addon = &step.addon;
            if step.action != Action::Uninstall
                && let Some(source) = found.addons.get(addon)
            {
                for permission in crate::grants::asked(&source.manifest.permissions) {
                    let granted = grants.get(addon).is_some_and(|g| g.contains(&permission));
                    permissions.push(PermissionRequest {
                        addon: addon.clone(),
                        permission,
                        granted,
                    });
                }
            }
            if step.action == Action::Uninstall {
                let owned = sqlx::query(
                    "SELECT m.table_name, f.name FROM ir_model_fields f JOIN ir_model m ON m.model = f.model \
                     WHERE f.module = $1 AND m.module <> $1 AND f.ttype NOT IN ('one2many', 'many2many') \
                     UNION ALL SELECT table_name, NULL FROM ir_model WHERE module = $1",
                )
                .bind(addon)
                .fetch_all(&mut *conn)
                .await?;
                for row in owned {
                    let table: String = row.try_get(0)?;
                    let column: Option<String> = row.try_get(1)?;
                    changes.push(
                        self.change(&mut conn, addon, ChangeKind::drop(&column), table, column)
                            .await?,
                    );
                }
                continue;
            }
            // What the new component describes, against what the ledger holds.
            let Some(source) = found.addons.get(addon) else {
                continue;
            };
            // A plan is useful before the components are built; it then
            // says what it cannot know.
            let component = match self.load_component(source) {
                Ok(component) => component,
                Err(e) => {
                    notes.push(format!("{addon}: schema changes unknown ({e})"));
                    continue;
                }
            };
            let tx = self.db.pool.begin().await?;
            let (description, _rolled_back) = with_tx(
                tx,
                &Registry::new(),
                None,
                None,
                self,
                addon,
                "describe",
                async |orm| component.describe(orm).await,
            )
            .await?;
            let old = modules
                .iter()
                .find(|m| &m.name == addon)
                .map(|m| m.description.clone())
                .unwrap_or_default();
            let diff = schema_sync::diff(&old, &description);
            for model in &diff.new_models {
                let table = pulse_orm::table_name(&model.name);
                changes.push(
                    self.change(&mut conn, addon, ChangeKind::CreateTable, table, None)
                        .await?,
                );
            }
            for (model, field) in diff.added_fields.iter().filter(|(_, f)| f.has_column()) {
                let table = pulse_orm::table_name(model);
                let column = Some(field.name.clone());
                changes.push(
                    self.change(&mut conn, addon, ChangeKind::AddColumn, table, column)
                        .await?,
                );
            }
            for (model, field, _, _) in &diff.retyped_fields {
                let (table, column) = (pulse_orm::table_name(model), Some(field.clone()));
                changes.push(
                    self.change(&mut conn, addon, ChangeKind::ChangeType, table, column)
                        .await?,
                );
            }
            for (model, field) in &diff.removed_fields {
                // x2many fields are no columns.
                let stored = old
                    .models
                    .iter()
                    .find(|m| &m.name == model)
                    .and_then(|m| m.fields.iter().find(|f| &f.name == field))
                    .is_none_or(|f| f.has_column());
                if !stored {
                    continue;
                }
                let (table, column) = (pulse_orm::table_name(model), Some(field.clone()));
                changes.push(
                    self.change(&mut conn, addon, ChangeKind::DropColumn, table, column)
                        .await?,
                );
            }
            for model in &diff.removed_models {
                let table = pulse_orm::table_name(model);
                changes.push(
                    self.change(&mut conn, addon, ChangeKind::DropTable, table, None)
                        .await?,
                );
            }
        }
        Ok(PlanReport {
            operation,
            targets: names.to_vec(),
            steps: plan.steps,
            changes,
            notes,
            permissions,
        })
    }

    /// One schema change of a plan, with the rows holding data it touches.
    async fn change(
        &self,
        conn: &mut Connection,
        addon: &str,
        kind: ChangeKind,
        table: String,
        column: Option<String>,
    ) -> Result<SchemaChange, Error> {
        let exists = pulse_orm::table_exists(conn, self.db.dialect, &table).await?;
        let rows = match kind {
            ChangeKind::CreateTable | ChangeKind::AddColumn => 0,
            _ if !exists => 0,
            _ => pulse_orm::count_values(conn, &table, column.as_deref()).await?,
        };
        Ok(SchemaChange {
            addon: addon.to_string(),
            kind,
            table,
            column,
            rows,
        })
    }

    /// Odoo's `update_list`: records every addon of the addons paths in
    /// `ir_module_module`; returns `(updatable, added)` — installed addons
    /// with a newer version available, and addons seen for the first time.
    pub async fn update_list(&self) -> Result<(usize, usize), Error> {
        let found = self.discover();
        let mut tx = self.db.pool.begin().await?;
        let rows = sqlx::query("SELECT name, state, latest_version FROM ir_module_module")
            .fetch_all(&mut *tx)
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
            let depends = serde_json::to_string(&m.depend_names().collect::<Vec<_>>())
                .expect("names serialize");
            match known.get(name) {
                Some((state, installed_version)) => {
                    let newer = installed_version
                        .as_deref()
                        .and_then(|v| semver::Version::parse(v).ok())
                        .is_some_and(|v| m.version > v);
                    updatable += usize::from(newer);
                    // Odoo never turns a known module uninstallable here, only back.
                    let state =
                        if state == ModuleState::Uninstallable.as_str() && m.is_installable() {
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
                    .execute(&mut *tx)
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
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok((updatable, added))
    }

    /// The installed addons and their recorded dependencies.
    pub async fn installed(&self) -> Result<Installed, Error> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(installed_map(&installed_modules(&mut conn).await?))
    }

    /// The addons found in the addons paths, with every manifest problem.
    pub fn discovery(&self) -> Discovery {
        self.discover()
    }

    /// Every addon known from the addons paths or the database, with its state.
    pub async fn modules(&self) -> Result<Vec<ModuleInfo>, Error> {
        let found = self.discover();
        let rows =
            sqlx::query("SELECT name, state, latest_version, shortdesc FROM ir_module_module")
                .fetch_all(&self.db.pool)
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
}

async fn record_installed(
    conn: &mut Connection,
    addon: &Addon,
    description: &Description,
    component_hash: &str,
    sequence: i64,
) -> Result<(), Error> {
    let m = &addon.manifest;
    let depends: Vec<&str> = m.depend_names().collect();
    let depends = serde_json::to_string(&depends).expect("names serialize");
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
    Ok(())
}

/// What `--changed` compares: the component's hash and the data files.
fn change_hash(addon: &Addon, component_hash: &str) -> String {
    let mut all = component_hash.as_bytes().to_vec();
    all.extend(data::contents(addon));
    pulse_runtime::content_hash(&all)
}

fn plan_for(
    operation: Operation,
    found: &Discovery,
    installed: &Installed,
    names: &[String],
) -> Result<Plan, PlanError> {
    match operation {
        Operation::Install => plan_install(&found.addons, installed, names),
        Operation::Upgrade => plan_upgrade(&found.addons, installed, names),
        Operation::Uninstall => plan_uninstall(installed, names),
    }
}

/// Modules in a `to …` state.
async fn marks(conn: &mut Connection) -> Result<BTreeMap<String, ModuleState>, Error> {
    let rows = sqlx::query("SELECT name, state FROM ir_module_module WHERE state IN ($1, $2, $3)")
        .bind(ModuleState::ToInstall.as_str())
        .bind(ModuleState::ToUpgrade.as_str())
        .bind(ModuleState::ToRemove.as_str())
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
async fn set_state(
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
        let depends: Vec<&str> = manifest
            .map(|m| m.depend_names().collect())
            .unwrap_or_default();
        sqlx::query("INSERT INTO ir_module_module (name, state, shortdesc, depends) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(state.as_str())
            .bind(manifest.map(|m| m.title.clone()).unwrap_or_default())
            .bind(serde_json::to_string(&depends).expect("names serialize"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Takes the database's lifecycle lock for this transaction, so two
/// operations never interleave. PostgreSQL: an advisory lock, refused at once
/// when held; SQLite: the write lock, waited for up to the busy timeout.
async fn lock_lifecycle(conn: &mut Connection, dialect: pulse_orm::Dialect) -> Result<(), Error> {
    let busy = || {
        Error::Lifecycle(
            "another install, upgrade or uninstall is running on this database; try again when it has finished".into(),
        )
    };
    match dialect {
        pulse_orm::Dialect::Postgres => {
            let got: bool = sqlx::query("SELECT pg_try_advisory_xact_lock(7285310001)")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if !got {
                return Err(busy());
            }
        }
        pulse_orm::Dialect::Sqlite => {
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
