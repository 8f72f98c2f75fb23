//! The Apps lifecycle: install, upgrade and uninstall as one transaction
//! per plan, plan reports, and the snapshot the host serves. A plan runs
//! as an [`Execution`]: it owns the transaction, the installed modules as
//! the steps change them, their registry (built once per change) and the
//! snapshot hooks run against. What is recorded about each module goes
//! through `module_records`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use pulse_manifest::plan::Installed;
use pulse_manifest::{Action, Plan, PlanError};
use pulse_manifest::{Addon, Discovery, discover, plan_install, plan_uninstall, plan_upgrade};
use pulse_orm::{Connection, Orm, Registry};
use pulse_runtime::{CallError, Description, Hook, LoadedAddon};
use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::failure::CallFailure;
use crate::module_records::{
    self, InstalledHash, InstalledModule, ModuleInfo, ModuleState, Operation,
};
use crate::{Error, Host, Snapshot, TxOrm, data, recompute, schema_sync};

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

/// The installed modules as a plan's steps change them, with the registry
/// built from them. A private module, so that the registry can only be
/// built where the modules change: once at the start and once per change,
/// never when a step merely reads it.
pub(crate) mod built {
    use std::sync::Arc;

    use pulse_orm::Registry;

    use super::load_order;
    use crate::Error;
    use crate::module_records::InstalledModule;

    /// The modules and their registry, always in step.
    pub struct Modules {
        list: Vec<InstalledModule>,
        registry: Arc<Registry>,
        /// How many registries were built: the first, then one per change.
        builds: usize,
    }

    impl Modules {
        /// `list` with its registry.
        pub fn new(list: Vec<InstalledModule>) -> Result<Modules, Error> {
            let registry = Arc::new(registry_of(&list)?);
            Ok(Modules {
                list,
                registry,
                builds: 1,
            })
        }

        /// The modules, in install sequence.
        pub fn list(&self) -> &[InstalledModule] {
            &self.list
        }

        /// The registry of [`Modules::list`]; shared, never copied.
        pub fn registry(&self) -> &Arc<Registry> {
            &self.registry
        }

        /// How many registries these modules have been built into so far.
        pub fn builds(&self) -> usize {
            self.builds
        }

        /// Changes the modules with `edit`, then builds their registry, once.
        pub fn change(
            &mut self,
            edit: impl FnOnce(&mut Vec<InstalledModule>),
        ) -> Result<(), Error> {
            edit(&mut self.list);
            self.registry = Arc::new(registry_of(&self.list)?);
            self.builds += 1;
            Ok(())
        }
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
                return Err(pulse_orm::OrmError::validation(problems.join("\n")).into());
            }
        }
        registry.validate()?;
        for module in load_order(modules)? {
            for spec in &module.description.events {
                registry.subscribe(
                    &spec.model,
                    crate::events::subscription(&module.name, spec)?,
                )?;
            }
        }
        Ok(registry)
    }
}

/// What each installed addon's code may reach: the models it or one of its
/// transitive dependencies defines or extends.
fn scopes_of(modules: &[InstalledModule]) -> HashMap<String, Arc<crate::Scope>> {
    let by_name = by_name(modules);
    let mut scopes = HashMap::new();
    for module in modules {
        let (models, seen) = reachable(&by_name, [module.name.as_str()]);
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

fn by_name(modules: &[InstalledModule]) -> HashMap<&str, &InstalledModule> {
    modules.iter().map(|m| (m.name.as_str(), m)).collect()
}

/// The models the addons `from` and their transitive dependencies define
/// or extend, with the base models (every addon may use them; its users'
/// rights still apply), and the addons walked.
fn reachable<'a>(
    by_name: &HashMap<&'a str, &'a InstalledModule>,
    from: impl IntoIterator<Item = &'a str>,
) -> (HashSet<String>, BTreeSet<&'a str>) {
    let mut models: HashSet<String> = crate::base::model_names().into_iter().collect();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = from.into_iter().collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(m) = by_name.get(name) {
            models.extend(m.description.models.iter().map(|spec| spec.name.clone()));
            stack.extend(m.depends.iter().map(String::as_str));
        }
    }
    (models, seen)
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
/// addon acts on its own (`acting`: against that snapshot, with that
/// scope's graph and its own rights), or with no rights at all when
/// `acting` is `None` (describing itself).
async fn with_tx<T>(
    tx: Transaction<'static, Any>,
    dialect: pulse_orm::Dialect,
    registry: &Arc<Registry>,
    acting: Option<(&Arc<Snapshot>, Arc<crate::Scope>)>,
    addon: &str,
    step: &str,
    call: impl AsyncFnOnce(TxOrm) -> (Result<T, CallError>, TxOrm),
) -> Result<(T, Transaction<'static, Any>), Error> {
    let orm = Orm::new(dialect, registry.clone());
    let session = match acting {
        Some((snapshot, scope)) => {
            TxOrm::new(tx, orm, Some(snapshot.clone()))
                .acting_as(scope, step)
                .await?
        }
        None => TxOrm::new(tx, orm, None).with_no_rights(addon),
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

/// What `component` says it defines, asked with no rights at all in `tx`.
async fn describe(
    tx: Transaction<'static, Any>,
    dialect: pulse_orm::Dialect,
    registry: &Arc<Registry>,
    addon: &str,
    component: &LoadedAddon<TxOrm>,
) -> Result<(Description, Transaction<'static, Any>), Error> {
    with_tx(
        tx,
        dialect,
        registry,
        None,
        addon,
        "describe",
        async |orm| component.describe(orm).await,
    )
    .await
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

/// Refuses the methods `addon` registers, and the record events it
/// subscribes to, on models outside its dependency graph (an override of
/// another addon's model needs that addon among its dependencies; the
/// host's models are everyone's), naming each model and method.
fn check_overrides(
    addon: &str,
    depends: &[String],
    description: &Description,
    modules: &[InstalledModule],
    registry: &Registry,
) -> Result<(), Error> {
    let by_name = by_name(modules);
    let (mut models, _) = reachable(&by_name, depends.iter().map(String::as_str));
    models.extend(description.models.iter().map(|m| m.name.clone()));
    let owner = |model: &str| match registry.get(model) {
        Some(def) => format!(
            "model '{model}' belongs to addon '{}', which is not among its dependencies",
            def.module
        ),
        None => format!("no addon of its dependency graph defines model '{model}'"),
    };
    // What the addon does to each model: its methods and its subscriptions.
    let methods = description.methods.iter().map(|m| {
        let what = format!("define or override {}.{}", m.model, m.name);
        (&m.model, what)
    });
    let events = description.events.iter().map(|e| {
        let what = format!(
            "subscribe '{}' to the record events of model '{}'",
            e.name, e.model
        );
        (&e.model, what)
    });
    let problems: Vec<String> = methods
        .chain(events)
        .filter(|(model, _)| !models.contains(*model))
        .map(|(model, what)| format!("addon '{addon}' may not {what}: {}", owner(model)))
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

/// The execution of one plan, step by step. It owns the plan's
/// transaction, the installed modules as the steps change them with their
/// registry (built once per change, see [`built::Modules`]), and the
/// snapshot hooks and data files run against (built when a step first
/// needs it after a change). When the plan succeeds, its last snapshot is
/// what the host serves: nothing is built again to publish it.
struct Execution<'h> {
    host: &'h Host,
    /// `None` only while a call holds it, never between two calls.
    tx: Option<Transaction<'static, Any>>,
    found: &'h Discovery,
    grants: HashMap<String, BTreeSet<String>>,
    with_demo: bool,
    modules: built::Modules,
    /// Components loaded so far; hooks, compute and validation methods
    /// run with every installed addon's methods available.
    loaded: HashMap<String, LoadedAddon<TxOrm>>,
    /// The snapshot of `modules` and `loaded`; `None` after a change.
    snapshot: Option<Arc<Snapshot>>,
    /// How many snapshots were built (at most one per registry build).
    snapshots: usize,
}

impl<'h> Execution<'h> {
    fn tx(&mut self) -> &mut Transaction<'static, Any> {
        self.tx
            .as_mut()
            .expect("each call gives the transaction back")
    }

    fn take_tx(&mut self) -> Transaction<'static, Any> {
        self.tx
            .take()
            .expect("each call gives the transaction back")
    }

    fn dialect(&self) -> pulse_orm::Dialect {
        self.host.db.dialect
    }

    /// An ORM over the current registry (shared, not copied).
    fn orm(&self) -> Orm {
        Orm::new(self.dialect(), self.modules.registry().clone())
    }

    /// Changes the installed modules: one registry build, and the
    /// snapshot is stale until a step needs it again.
    fn change(&mut self, edit: impl FnOnce(&mut Vec<InstalledModule>)) -> Result<(), Error> {
        self.modules.change(edit)?;
        self.snapshot = None;
        Ok(())
    }

    /// Makes `component` the one `name` runs from now on.
    fn set_component(&mut self, name: &str, component: LoadedAddon<TxOrm>) {
        // Only a module of the snapshot makes it stale (an upgrade's new
        // code); a module being installed joins it with its change.
        if self.modules.list().iter().any(|m| m.name == name) {
            self.snapshot = None;
        }
        self.loaded.insert(name.to_string(), component);
    }

    /// The snapshot of the modules as they stand, built once per change.
    fn snapshot(&mut self) -> Result<Arc<Snapshot>, Error> {
        if let Some(snapshot) = &self.snapshot {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(self.host.snapshot_of(
            self.modules.list(),
            self.modules.registry(),
            self.found,
            &self.grants,
            &mut self.loaded,
        )?);
        self.snapshots += 1;
        self.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// What `component` says it defines.
    async fn describe(
        &mut self,
        addon: &str,
        component: &LoadedAddon<TxOrm>,
    ) -> Result<Description, Error> {
        let (tx, registry) = (self.take_tx(), self.modules.registry().clone());
        let (description, tx) = describe(tx, self.dialect(), &registry, addon, component).await?;
        self.tx = Some(tx);
        Ok(description)
    }

    /// Runs `hook` of `component` against the current snapshot, the addon
    /// acting with `scope`, or by default with its own scope in the snapshot.
    async fn run_hook(
        &mut self,
        addon: &str,
        component: &LoadedAddon<TxOrm>,
        hook: Hook<'_>,
        step: &str,
        scope: Option<Arc<crate::Scope>>,
    ) -> Result<(), Error> {
        let snapshot = self.snapshot()?;
        let scope = scope.unwrap_or_else(|| scope_in(&snapshot, addon));
        let (tx, registry) = (self.take_tx(), self.modules.registry().clone());
        let acting = Some((&snapshot, scope));
        let ((), tx) = with_tx(
            tx,
            self.dialect(),
            &registry,
            acting,
            addon,
            step,
            async |orm| component.run_hook(hook, orm).await,
        )
        .await?;
        self.tx = Some(tx);
        Ok(())
    }

    /// Recomputes and validates what the step's own ORM work (data files)
    /// marked, the addon's code acting with its own rights.
    async fn settle(&mut self, addon: &str, step: &str) -> Result<(), Error> {
        let snapshot = self.snapshot()?;
        let session = TxOrm::new(self.take_tx(), self.orm(), Some(snapshot.clone()))
            .acting_as(scope_in(&snapshot, addon), step)
            .await?;
        let (outcome, orm) = recompute::flush(session, crate::dispatch::method_call).await;
        outcome.map_err(|failure| step_failed(addon, step, failure))?;
        self.tx = Some(orm.into_tx());
        Ok(())
    }

    /// Loads `addon`'s data files and settles what they changed; returns
    /// the external ids the files hold (see `data::load`).
    async fn load_data(
        &mut self,
        addon: &str,
        records: &[(std::path::PathBuf, data::DataRecord)],
    ) -> Result<BTreeSet<String>, Error> {
        let orm = self.orm();
        let kept = data::load(self.tx(), &orm, addon, records).await?;
        self.settle(addon, "loading its data").await?;
        Ok(kept)
    }

    /// Removes the records `addon`'s data files made (all, or those not
    /// in `kept`) and settles what that changed.
    async fn remove_data(
        &mut self,
        addon: &str,
        kept: Option<&BTreeSet<String>>,
        step: &str,
    ) -> Result<(), Error> {
        let orm = self.orm();
        data::remove(self.tx(), &orm, addon, kept).await?;
        self.settle(addon, step).await
    }

    /// Computes the computed fields a step adds to models that already hold
    /// records, in batches, logging progress.
    async fn compute_added(
        &mut self,
        addon: &str,
        diff: &schema_sync::SchemaDiff,
        progress: &str,
    ) -> Result<(), Error> {
        let mut methods = BTreeSet::new();
        for (model, field) in &diff.added_fields {
            if let Some(method) = &field.compute {
                methods.insert((model.clone(), method.clone()));
            }
        }
        for (model, method) in methods {
            let snapshot = self.snapshot()?;
            let mut session = TxOrm::new(self.take_tx(), self.orm(), Some(snapshot.clone()))
                .acting_as(scope_in(&snapshot, addon), progress)
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
            self.tx = Some(session.into_tx());
        }
        Ok(())
    }

    /// Uninstalls `name`: its hook, its data, what it owns, its record.
    async fn uninstall(&mut self, name: &str, progress: &str) -> Result<(), Error> {
        // Building the snapshot loads the component (or logs why it cannot).
        self.snapshot()?;
        match self.loaded.get(name).cloned() {
            Some(component) => {
                self.run_hook(
                    name,
                    &component,
                    Hook::Uninstall,
                    "the uninstall hook",
                    None,
                )
                .await?
            }
            None => {
                tracing::warn!(addon = %name, "no component to run; uninstall hook skipped")
            }
        }
        self.remove_data(name, None, "removing its data").await?;
        let dialect = self.dialect();
        schema_sync::drop_owned(self.tx(), dialect, name).await?;
        module_records::record_uninstalled(self.tx(), name).await?;
        self.loaded.remove(name);
        self.change(|modules| modules.retain(|m| m.name != name))?;
        tracing::info!(addon = %name, step = %progress, "uninstalled");
        Ok(())
    }

    /// Installs or upgrades `name` from the addons paths, and records it
    /// installed.
    async fn install_or_upgrade(&mut self, name: &str, progress: &str) -> Result<(), Error> {
        let found = self.found;
        let addon: &'h Addon = &found.addons[name];
        let component = self.host.load_component(addon)?;
        let mut records = data::read(addon, self.with_demo)?;
        let description = self.describe(name, &component).await?;
        crate::routes::validate(name, &description.routes)?;
        crate::cron::validate(name, &description.crons)?;
        let jobs = crate::cron::job_records(self.tx(), name, &description.crons).await?;
        if let Some((_, clash)) = records
            .iter()
            .find(|(_, r)| jobs.iter().any(|(_, j)| j.id == r.id))
        {
            return Err(Error::Lifecycle(format!(
                "addon '{name}': the data record '{}' has the external id of one of its scheduled jobs",
                clash.id
            )));
        }
        records.extend(jobs);
        let depends: Vec<String> = addon.manifest.depend_names().map(str::to_string).collect();
        check_overrides(
            name,
            &depends,
            &description,
            self.modules.list(),
            self.modules.registry(),
        )?;
        crate::events::check_version(name, component.api_version(), &description)?;
        // From here on the step sees its new component.
        self.set_component(name, component.clone());
        let modules = self.modules.list();
        let old = modules.iter().position(|m| m.name == name);
        let sequence = match old {
            Some(i) => modules[i].sequence,
            None => modules.iter().map(|m| m.sequence).max().unwrap_or(0) + 1,
        };
        let step = Step {
            name,
            addon,
            component: &component,
            description: &description,
            depends,
            records: &records,
            progress,
        };
        match old {
            None => self.install(step, sequence).await?,
            Some(i) => self.upgrade(step, i).await?,
        }
        let hash = change_hash(addon, component.content_hash());
        module_records::record_installed(self.tx(), addon, &description, &hash, sequence).await?;
        Ok(())
    }

    /// The install of a new module: pre-init with its dependencies'
    /// models, then its tables, data, computed fields and post-init.
    async fn install(&mut self, step: Step<'_>, sequence: i64) -> Result<(), Error> {
        let (name, version) = (step.name, step.addon.manifest.version.to_string());
        tracing::info!(addon = %name, %version, step = %step.progress, "installing");
        // Before its own models exist: those of its dependencies.
        let before = self.snapshot()?;
        let scope = scope_of_dependencies(&before, name, &step.depends);
        self.run_hook(
            name,
            step.component,
            Hook::PreInit,
            "the pre-init hook",
            Some(scope),
        )
        .await?;
        let diff = schema_sync::diff(name, &Description::default(), step.description);
        self.change(|modules| {
            modules.push(InstalledModule {
                name: name.to_string(),
                version,
                depends: step.depends,
                description: step.description.clone(),
                sequence,
            })
        })?;
        let orm = self.orm();
        schema_sync::apply_additions(self.tx(), &orm, &diff).await?;
        self.load_data(name, step.records).await?;
        self.compute_added(name, &diff, step.progress).await?;
        self.run_hook(
            name,
            step.component,
            Hook::PostInit,
            "the post-init hook",
            None,
        )
        .await
    }

    /// The upgrade of the installed module at `index`: new tables and
    /// columns, data and computed fields, the migrate hook seeing old and
    /// new fields together, then the removals.
    async fn upgrade(&mut self, step: Step<'_>, index: usize) -> Result<(), Error> {
        let name = step.name;
        let (from, to) = (
            self.modules.list()[index].version.clone(),
            step.addon.manifest.version.to_string(),
        );
        tracing::info!(addon = %name, %from, %to, step = %step.progress, "upgrading");
        let diff = schema_sync::diff(
            name,
            &self.modules.list()[index].description,
            step.description,
        );
        // The migrate hook sees old and new fields together.
        self.change(|modules| {
            let module = &mut modules[index];
            module.description = schema_sync::union(&module.description, step.description);
            module.depends = step.depends;
        })?;
        let orm = self.orm();
        schema_sync::apply_additions(self.tx(), &orm, &diff).await?;
        let kept = self.load_data(name, step.records).await?;
        self.compute_added(name, &diff, step.progress).await?;
        let migrate = Hook::Migrate {
            from: &from,
            to: &to,
        };
        self.run_hook(name, step.component, migrate, "the migrate hook", None)
            .await?;
        self.remove_data(name, Some(&kept), "removing its old data")
            .await?;
        self.change(|modules| {
            modules[index].description = step.description.clone();
            modules[index].version = to;
        })?;
        let orm = self.orm();
        schema_sync::apply_removals(self.tx(), &orm, &diff).await
    }

    /// Commits the plan and swaps its snapshot in. `version_before` is the
    /// registry version read when the plan started: when the commit makes
    /// it exactly one more, no other change came in between and the
    /// snapshot is the database's; otherwise the next request reloads.
    async fn publish(mut self, version_before: i64) -> Result<(), Error> {
        let snapshot = self.snapshot()?;
        let dialect = self.dialect();
        let mut tx = self.take_tx();
        crate::registry_changed(&mut tx, dialect).await?;
        let version = crate::db::registry_version(&mut tx).await?;
        tx.commit().await?;
        if version == version_before + 1 {
            self.host.publish(snapshot, version);
        }
        // Others on PostgreSQL are told at once (`registry_changed`).
        self.host.invalidate();
        // The figures the lifecycle tests hold to one build per change.
        tracing::info!(
            registry_builds = self.modules.builds(),
            snapshot_builds = self.snapshots,
            "plan committed"
        );
        Ok(())
    }
}

/// What one install or upgrade step works from.
struct Step<'a> {
    name: &'a str,
    addon: &'a Addon,
    component: &'a LoadedAddon<TxOrm>,
    /// What the new component describes.
    description: &'a Description,
    depends: Vec<String>,
    records: &'a [(std::path::PathBuf, data::DataRecord)],
    /// `k/n`, for the log.
    progress: &'a str,
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
        let component = self.runtime.load(addon.name(), &path, limits)?;
        // The component says which version it is built against; the
        // manifest's `api` only states what its author expects.
        let built = component.api_version();
        let version = semver::Version::parse(built.as_str()).expect("a valid WIT version");
        if !addon.manifest.api.matches(&version) {
            return Err(Error::Lifecycle(format!(
                "addon '{}' requires {} {} (`api` in its addon.toml), but its component is built against {}@{built}",
                addon.name(),
                pulse_runtime::WIT_PACKAGE,
                addon.manifest.api,
                pulse_runtime::WIT_PACKAGE,
            )));
        }
        Ok(component)
    }

    /// The snapshot of `modules`: their registry, and the components
    /// `loaded` holds (loading those it lacks), with the method chains.
    fn snapshot_of(
        &self,
        modules: &[InstalledModule],
        registry: &Arc<Registry>,
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
        let auth_policies = order
            .iter()
            // A policy whose component is missing still counts: it refuses.
            .filter(|m| m.description.auth_policy)
            .map(|m| m.name.clone())
            .collect();
        Ok(Snapshot {
            auth_policies,
            routes,
            registry: registry.clone(),
            addons,
            methods,
            scopes: scopes_of(modules),
            validators,
            permissions,
            outbound: self.config.outbound.clone(),
        })
    }

    /// Rebuilds the snapshot from the database and swaps it in.
    #[crate::boxed]
    pub async fn reload(&self) -> Result<(), Error> {
        let mut conn = self.db.pool.acquire().await?;
        // Read the version first: a change committed meanwhile is seen next time.
        let version = crate::db::registry_version(&mut conn).await?;
        let modules = module_records::installed(&mut conn).await?;
        let grants = crate::grants::load(&mut conn).await?;
        drop(conn);
        let modules = built::Modules::new(modules)?;
        let found = self.discover();
        let snapshot = self.snapshot_of(
            modules.list(),
            modules.registry(),
            &found,
            &grants,
            &mut HashMap::new(),
        )?;
        self.publish(Arc::new(snapshot), version);
        Ok(())
    }

    /// Serves `snapshot`, built from the registry version `version`, from now on.
    fn publish(&self, snapshot: Arc<Snapshot>, version: i64) {
        *self.current.write().expect("snapshot lock") = snapshot;
        self.version
            .store(version, std::sync::atomic::Ordering::SeqCst);
    }

    /// Installs `names` and every dependency not yet installed (with the
    /// auto-install glue they trigger), in order, as one transaction.
    /// Returns the addons installed.
    #[crate::boxed]
    pub async fn install(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Install, names).await
    }

    /// Upgrades `names` and every installed addon that depends on them, as
    /// one transaction: new tables and columns first, then each addon's
    /// migrate hook (which sees old and new fields), then removals, refused
    /// where they would lose data. Returns the addons upgraded or installed.
    #[crate::boxed]
    pub async fn upgrade(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Upgrade, names).await
    }

    /// Uninstalls `names` and every installed addon that depends on them,
    /// dependents first, as one transaction: runs each uninstall hook, drops
    /// what the ledger says the addon owns (its tables, and its columns on
    /// other addons' tables), and marks it uninstalled. Works when an addon's
    /// folder is gone (its hook is then skipped).
    #[crate::boxed]
    pub async fn uninstall(&self, names: &[String]) -> Result<Vec<String>, Error> {
        self.apply(Operation::Uninstall, names).await
    }

    /// Installed addons whose component changed since they were installed
    /// or upgraded (by content hash), or whose available version differs.
    #[crate::boxed]
    pub async fn changed(&self) -> Result<Vec<String>, Error> {
        let found = self.discover();
        let mut conn = self.db.pool.acquire().await?;
        let recorded = module_records::installed_hashes(&mut conn).await?;
        let mut changed = Vec::new();
        for InstalledHash {
            name,
            version,
            hash,
        } in recorded
        {
            let Some(addon) = found.addons.get(&name) else {
                continue;
            };
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
    #[crate::boxed]
    pub async fn mark(&self, operation: Operation, names: &[String]) -> Result<Plan, Error> {
        let found = self.discover();
        let mut tx = self.db.pool.begin().await?;
        let modules = module_records::installed(&mut tx).await?;
        let plan = plan_for(operation, &found, &installed_map(&modules), names)?;
        for step in &plan.steps {
            let state = match step.action {
                Action::Install => ModuleState::ToInstall,
                Action::Upgrade => ModuleState::ToUpgrade,
                Action::Uninstall => ModuleState::ToRemove,
            };
            module_records::set_state(&mut tx, &found, &step.addon, state).await?;
        }
        tx.commit().await?;
        Ok(plan)
    }

    /// Carries out every pending mark in one transaction (Odoo's
    /// `base.module.upgrade`): removals first, then upgrades, then installs.
    #[crate::boxed]
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
    #[crate::boxed]
    pub async fn reset_marks(&self) -> Result<u64, Error> {
        let mut tx = self.db.pool.begin().await?;
        let changed = module_records::reset_marks(&mut tx).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Carries out `operation` on `names` and what it entails, in one
    /// transaction (see [`Host::install`]); the Apps buttons call it too.
    pub(crate) async fn apply(
        &self,
        operation: Operation,
        names: &[String],
    ) -> Result<Vec<String>, Error> {
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
        module_records::lock_lifecycle(&mut tx, self.db.dialect).await?;
        // Read first, like `reload`: a change that commits meanwhile makes
        // the plan's snapshot stale, and `publish` then leaves it unserved.
        let version_before = crate::db::registry_version(&mut tx).await?;
        let modules = module_records::installed(&mut tx).await?;
        let marks = module_records::marks(&mut tx).await?;
        let grants = crate::grants::load(&mut tx).await?;
        let with_demo = crate::db::with_demo(&mut tx).await?;
        let plan = make_plan(&found, &installed_map(&modules), &marks)?;
        let mut execution = Execution {
            host: self,
            tx: Some(tx),
            found: &found,
            grants,
            with_demo,
            modules: built::Modules::new(modules)?,
            loaded: HashMap::new(),
            snapshot: None,
            snapshots: 0,
        };
        let total = plan.steps.len();
        for (index, step) in plan.steps.iter().enumerate() {
            // Progress for long plans: every step logs "k/n".
            let progress = format!("{}/{total}", index + 1);
            match step.action {
                Action::Uninstall => execution.uninstall(&step.addon, &progress).await?,
                Action::Install | Action::Upgrade => {
                    execution.install_or_upgrade(&step.addon, &progress).await?
                }
            }
        }
        execution.publish(version_before).await?;
        Ok(plan.addons())
    }

    /// What `operation` on `names` would do, changing nothing. An uninstall
    /// plan lists every table it would drop with its row count.
    #[crate::boxed]
    pub async fn plan(&self, operation: Operation, names: &[String]) -> Result<PlanReport, Error> {
        let found = self.discover();
        let mut conn = self.db.pool.acquire().await?;
        let modules = module_records::installed(&mut conn).await?;
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
                for (table, column) in pulse_orm::ledger::owned_storage(&mut conn, addon).await? {
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
            let nothing = Arc::new(Registry::new());
            let (description, _rolled_back) =
                describe(tx, self.db.dialect, &nothing, addon, &component).await?;
            let old = modules
                .iter()
                .find(|m| &m.name == addon)
                .map(|m| m.description.clone())
                .unwrap_or_default();
            let diff = schema_sync::diff(addon, &old, &description);
            let table = pulse_orm::table_name;
            let mut planned: Vec<(ChangeKind, String, Option<String>)> = Vec::new();
            for model in &diff.new_models {
                planned.push((ChangeKind::CreateTable, table(&model.name), None));
            }
            for (model, field) in diff.added_fields.iter().filter(|(_, f)| f.has_column()) {
                let column = Some(field.name.clone());
                planned.push((ChangeKind::AddColumn, table(model), column));
            }
            for (model, field, _, _) in &diff.retyped_fields {
                planned.push((ChangeKind::ChangeType, table(model), Some(field.clone())));
            }
            for (model, field) in &diff.removed_fields {
                // x2many fields are no columns.
                let stored = old
                    .models
                    .iter()
                    .find(|m| &m.name == model)
                    .and_then(|m| m.fields.iter().find(|f| &f.name == field))
                    .is_none_or(|f| f.has_column());
                if stored {
                    planned.push((ChangeKind::DropColumn, table(model), Some(field.clone())));
                }
            }
            for model in &diff.removed_models {
                planned.push((ChangeKind::DropTable, table(model), None));
            }
            for (kind, table, column) in planned {
                changes.push(self.change(&mut conn, addon, kind, table, column).await?);
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
    #[crate::boxed]
    pub async fn update_list(&self) -> Result<(usize, usize), Error> {
        let found = self.discover();
        let mut tx = self.db.pool.begin().await?;
        let counts = module_records::record_found(&mut tx, &found).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// The installed addons and their recorded dependencies.
    #[crate::boxed]
    pub async fn installed(&self) -> Result<Installed, Error> {
        let mut conn = self.db.pool.acquire().await?;
        Ok(installed_map(&module_records::installed(&mut conn).await?))
    }

    /// The addons found in the addons paths, with every manifest problem.
    pub fn discovery(&self) -> Discovery {
        self.discover()
    }

    /// Every addon known from the addons paths or the database, with its state.
    #[crate::boxed]
    pub async fn modules(&self) -> Result<Vec<ModuleInfo>, Error> {
        let found = self.discover();
        let mut conn = self.db.pool.acquire().await?;
        module_records::list(&mut conn, &found).await
    }
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
