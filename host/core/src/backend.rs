//! The ORM as addons see it: one transaction, one registry snapshot, and
//! the method-call frames that `super()` walks down.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use pulse_orm::{Connection, Domain, Orm, OrmError, Record, SearchOptions};
use pulse_runtime::{AddonError, CallError, OrmBackend};
use serde_json::{Map, Value};
use sqlx::{Any, Transaction};

use crate::access::{Access, Mode};
use crate::dispatch;
use crate::failure::CallFailure;
use crate::{Scope, Snapshot};

/// The x2many values of one record (field name, commands), carried out
/// apart from its own values.
type Commands = Vec<(String, Value)>;

/// A method running in an addon: where `super()` continues from.
#[derive(Debug, Clone)]
struct Frame {
    model: String,
    method: String,
    level: usize,
    scope: Option<Arc<Scope>>,
    /// The caller's rights, while the method runs in superuser mode.
    before_sudo: Option<Arc<Access>>,
}

/// An ORM session bound to a transaction; lent to an addon for one call and
/// returned afterwards so the caller commits or rolls back.
pub struct TxOrm {
    /// The transaction every call runs in (taken while a nested call runs).
    tx: Option<Transaction<'static, Any>>,
    /// The ORM over the registry the call sees.
    pub orm: Orm,
    /// The addons and method chains, when model methods may be called.
    pub snapshot: Option<Arc<Snapshot>>,
    frames: Vec<Frame>,
    /// The scope of a lifecycle hook (method calls carry theirs in their frame).
    hook_scope: Option<Arc<Scope>>,
    /// Whose rights apply: the caller of the request (the superuser for
    /// lifecycle steps).
    pub access: Arc<Access>,
    /// A transaction still to begin, at the first ORM call.
    deferred: Option<Deferred>,
    /// Whether an operation clashed with a concurrent transaction; the
    /// whole request is then worth retrying.
    conflict: bool,
    /// The linear memory held by the addon instances of this call tree
    /// (every nested call shares it; see `pulse_runtime::MAX_CALL_TREE_MEMORY`).
    tree_memory: Arc<AtomicUsize>,
}

/// What it takes to begin a session's transaction when it is first needed:
/// the pool, and the user whose rights are then loaded.
#[derive(Debug)]
struct Deferred {
    pool: sqlx::AnyPool,
    uid: i64,
}

impl TxOrm {
    /// A session on `tx`; `snapshot` is `None` where addon methods cannot be
    /// called (lifecycle hooks).
    pub fn new(tx: Transaction<'static, Any>, orm: Orm, snapshot: Option<Arc<Snapshot>>) -> TxOrm {
        TxOrm {
            tx: Some(tx),
            orm,
            snapshot,
            frames: Vec::new(),
            hook_scope: None,
            access: Access::superuser(),
            deferred: None,
            conflict: false,
            tree_memory: Arc::default(),
        }
    }

    /// Whether an operation clashed with a concurrent transaction (see
    /// [`crate::db::is_conflict`]): retrying the request may succeed.
    pub fn conflicted(&self) -> bool {
        self.conflict
    }

    /// A session whose transaction begins (and whose rights, user `uid`'s,
    /// load) at its first ORM call: a route that never touches the
    /// database never waits for it.
    pub fn deferred(
        pool: &sqlx::AnyPool,
        orm: Orm,
        snapshot: Option<Arc<Snapshot>>,
        uid: i64,
    ) -> TxOrm {
        TxOrm {
            tx: None,
            orm,
            snapshot,
            frames: Vec::new(),
            hook_scope: None,
            // Nobody's rights until the real ones are loaded.
            access: Arc::new(Access::default()),
            deferred: Some(Deferred {
                pool: pool.clone(),
                uid,
            }),
            conflict: false,
            tree_memory: Arc::default(),
        }
    }

    /// Begins a deferred transaction and loads the user's rights.
    async fn start(&mut self) -> Result<(), AddonError> {
        let Some(deferred) = self.deferred.take() else {
            return Ok(());
        };
        let internal = |e: &dyn std::fmt::Display| AddonError::Internal(e.to_string());
        let mut tx = deferred.pool.begin().await.map_err(|e| internal(&e))?;
        self.access = match Access::load(&mut tx, deferred.uid).await {
            Ok(access) => access,
            Err(e) => {
                self.note_conflict(&e);
                return Err(addon_error(e));
            }
        };
        self.tx = Some(tx);
        Ok(())
    }

    /// This session acting with `access`'s rights.
    pub fn with_access(mut self, access: Arc<Access>) -> TxOrm {
        self.access = access;
        self
    }

    /// The transaction back, to commit or drop.
    pub fn into_tx(self) -> Transaction<'static, Any> {
        self.tx.expect("the transaction is back once calls return")
    }

    /// Commits the transaction (nothing to do when a deferred one never began).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.tx {
            Some(tx) => tx.commit().await,
            None if self.deferred.is_some() => Ok(()),
            None => panic!("the transaction is back once calls return"),
        }
    }

    /// How many addon method calls are running, one inside the other.
    pub fn depth(&self) -> u32 {
        self.frames.len() as u32
    }

    /// The connection and the ORM, for one ORM operation.
    pub fn parts(&mut self) -> Result<(&mut Connection, &Orm), String> {
        match self.tx.as_mut() {
            Some(tx) => Ok((&mut **tx, &self.orm)),
            None => Err("the transaction is in use by a nested call".into()),
        }
    }

    /// This session inside a call of `model.method` at `level` of its chain.
    pub fn enter(
        mut self,
        model: &str,
        method: &str,
        level: usize,
        scope: Option<Arc<Scope>>,
    ) -> TxOrm {
        self.frames.push(Frame {
            model: model.to_string(),
            method: method.to_string(),
            level,
            scope,
            before_sudo: None,
        });
        self
    }

    /// This session as addon code that runs on its own, in `step` of
    /// `scope.addon` (a lifecycle hook, what its data triggers): only the
    /// models of its graph, with the addon's own rights
    /// ([`crate::Access::for_addon`]), in a frame of its own, so that
    /// `env.sudo` (with the grant) switches to superuser and back.
    pub async fn acting_as(mut self, scope: Arc<Scope>, step: &str) -> Result<TxOrm, OrmError> {
        let (conn, _) = self.parts().map_err(OrmError::User)?;
        self.access = scope.access(conn).await?;
        self.hook_scope = Some(scope.clone());
        Ok(self.enter("", step, 0, Some(scope)))
    }

    /// This session with no rights at all and no model in reach: an
    /// addon describing itself has no business with the database.
    pub fn with_no_rights(mut self, addon: &str) -> TxOrm {
        self.access = Arc::new(Access::default());
        self.hook_scope = Some(Arc::new(Scope {
            addon: addon.to_string(),
            ..Scope::default()
        }));
        self
    }

    /// Refuses models outside the running addon's dependency graph.
    fn check_scope(&self, model: &str) -> Result<(), AddonError> {
        let scope = self
            .frames
            .last()
            .and_then(|f| f.scope.as_ref())
            .or(self.hook_scope.as_ref());
        match scope {
            Some(scope) if !scope.models.contains(model) => Err(AddonError::Access(format!(
                "addon '{}' may not use model '{model}': neither it nor one of its dependencies defines it",
                scope.addon
            ))),
            _ => Ok(()),
        }
    }

    /// This session after the innermost call returned (a superuser mode
    /// the call switched on ends with it).
    pub fn leave(mut self) -> TxOrm {
        if let Some(Frame {
            before_sudo: Some(access),
            ..
        }) = self.frames.pop()
        {
            self.access = access;
        }
        self
    }

    /// The addon whose code is running, with what it may do.
    fn running_addon(&self) -> Result<(String, crate::grants::Permissions), AddonError> {
        let scope = self
            .frames
            .last()
            .and_then(|f| f.scope.as_ref())
            .or(self.hook_scope.as_ref())
            .ok_or_else(|| AddonError::User("no addon is running".into()))?;
        let permissions = self
            .snapshot
            .as_ref()
            .and_then(|s| s.permissions.get(&scope.addon))
            .cloned()
            .unwrap_or_default();
        Ok((scope.addon.clone(), permissions))
    }

    /// Moves the session out, leaving an empty one in its place for the
    /// duration of a nested call.
    pub(crate) fn take(&mut self) -> TxOrm {
        TxOrm {
            tx: self.tx.take(),
            orm: self.orm.clone(),
            snapshot: self.snapshot.clone(),
            frames: std::mem::take(&mut self.frames),
            hook_scope: self.hook_scope.clone(),
            access: self.access.clone(),
            deferred: self.deferred.take(),
            conflict: self.conflict,
            tree_memory: self.tree_memory.clone(),
        }
    }

    async fn nested(
        &mut self,
        model: &str,
        method: &str,
        level: Option<usize>,
        ids: &[i64],
        args: &str,
        kwargs: &str,
    ) -> Result<String, AddonError> {
        self.check_scope(model)?;
        let args: Vec<Value> = parse(if args.trim().is_empty() { "[]" } else { args }, "args")?;
        let kwargs: Map<String, Value> = parse(
            if kwargs.trim().is_empty() {
                "{}"
            } else {
                kwargs
            },
            "kwargs",
        )?;
        // A call that fails leaves nothing behind, even if the addon
        // catches the error and carries on.
        self.savepoint().await?;
        let session = self.take();
        let (outcome, session) = Box::pin(dispatch::call(
            session,
            model,
            method,
            level,
            ids.to_vec(),
            args,
            kwargs,
        ))
        .await;
        *self = session;
        let outcome = outcome
            .map(|value| value.to_string())
            .map_err(failure_for_addon);
        self.end_savepoint(outcome.is_ok()).await?;
        outcome
    }

    async fn savepoint(&mut self) -> Result<(), AddonError> {
        self.start().await?;
        let (conn, _) = self.parts().map_err(busy)?;
        let done = sqlx::query("SAVEPOINT pulse_op").execute(&mut *conn).await;
        if let Err(e) = done {
            self.conflict |= crate::db::is_conflict(&e);
            return Err(AddonError::Internal(e.to_string()));
        }
        Ok(())
    }

    /// Remembers a clash with a concurrent transaction.
    fn note_conflict(&mut self, e: &OrmError) {
        self.conflict |= crate::db::is_orm_conflict(e);
    }

    /// Releases the innermost savepoint, or rolls back to it (and forgets
    /// the work the failed operation marked) when `ok` is false.
    async fn end_savepoint(&mut self, ok: bool) -> Result<(), AddonError> {
        if !ok {
            self.orm.take_pending();
        }
        let (conn, _) = self.parts().map_err(busy)?;
        let end = if ok {
            "RELEASE SAVEPOINT pulse_op"
        } else {
            "ROLLBACK TO SAVEPOINT pulse_op"
        };
        sqlx::query(end)
            .execute(&mut *conn)
            .await
            .map_err(|e| AddonError::Internal(e.to_string()))?;
        Ok(())
    }

    /// Recomputes and validates what the last operation changed.
    async fn flush(&mut self) -> Result<(), AddonError> {
        if !self.orm.has_pending() {
            return Ok(());
        }
        let session = self.take();
        let (outcome, session) =
            Box::pin(crate::recompute::flush(session, dispatch::method_call)).await;
        *self = session;
        outcome.map_err(failure_for_addon)
    }
}

/// The addon-facing kind of an ORM error.
fn addon_error(e: OrmError) -> AddonError {
    match e {
        OrmError::Access(m) => AddonError::Access(m),
        OrmError::Validation(m) => AddonError::Validation(m),
        OrmError::Missing(m) => AddonError::Missing(m),
        OrmError::User(m) | OrmError::Value(m) => AddonError::User(m),
        OrmError::Database(e) => AddonError::Internal(crate::error::database_failure(&e)),
    }
}

/// A failed nested call, as the calling addon sees it.
fn failure_for_addon(failure: CallFailure) -> AddonError {
    match failure {
        CallFailure::Orm(e) => addon_error(e),
        CallFailure::Addon(CallError::Addon(e)) => e,
        CallFailure::Addon(other) => AddonError::Internal(other.to_string()),
        CallFailure::NoModel(model) => AddonError::User(format!("Object {model} doesn't exist")),
        CallFailure::NoMethod { model, method } => AddonError::User(format!(
            "The method '{method}' does not exist on the model '{model}'"
        )),
        CallFailure::BadArgument(m) | CallFailure::Unavailable(m) => AddonError::User(m),
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, AddonError> {
    serde_json::from_str(text)
        .map_err(|e| AddonError::User(format!("invalid JSON for {what}: {e}")))
}

fn busy(message: String) -> AddonError {
    AddonError::Internal(message)
}

impl TxOrm {
    /// Runs one ORM operation for an addon, with the recomputations and
    /// validations it entails, under a savepoint: an operation that fails
    /// leaves nothing behind, and an addon that catches the error can go
    /// on (and commit what it did before) on every database, although
    /// PostgreSQL aborts a transaction at its first failed statement.
    async fn guarded<T>(
        &mut self,
        model: &str,
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<T, OrmError>,
    ) -> Result<T, AddonError> {
        self.check_scope(model)?;
        // Begins a deferred transaction, loading the caller's rights.
        self.savepoint().await?;
        let access = self.access.clone();
        let outcome = match self.parts() {
            Ok((conn, orm)) => match op(&mut *conn, orm, &access).await {
                Ok(value) => Ok(value),
                Err(e) => {
                    self.note_conflict(&e);
                    Err(addon_error(e))
                }
            },
            Err(e) => Err(busy(e)),
        };
        let outcome = match outcome {
            Ok(value) => self.flush().await.map(|()| value),
            Err(e) => Err(e),
        };
        self.end_savepoint(outcome.is_ok()).await?;
        outcome
    }

    /// [`TxOrm::guarded`] for a create or write whose values hold x2many
    /// commands: `op` writes the records' own values and answers their ids,
    /// then each record's `commands` (one list per id) run through the target models' methods
    /// (see [`crate::commands::apply_x2many`]), all under one savepoint.
    async fn guarded_with_commands(
        &mut self,
        model: &str,
        commands: &[Commands],
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<Vec<i64>, OrmError>,
    ) -> Result<Vec<i64>, AddonError> {
        self.check_scope(model)?;
        self.savepoint().await?;
        let access = self.access.clone();
        let mut outcome = match self.parts() {
            Ok((conn, orm)) => match op(&mut *conn, orm, &access).await {
                Ok(ids) => Ok(ids),
                Err(e) => {
                    self.note_conflict(&e);
                    Err(addon_error(e))
                }
            },
            Err(e) => Err(busy(e)),
        };
        if let Ok(ids) = &outcome {
            for (id, mine) in ids.iter().zip(commands) {
                let (done, back) = crate::commands::apply_x2many(
                    self.take(),
                    dispatch::method_call,
                    model,
                    *id,
                    mine,
                )
                .await;
                *self = back;
                if let Err(e) = done {
                    outcome = Err(failure_for_addon(e));
                    break;
                }
            }
        }
        let outcome = match outcome {
            Ok(value) => self.flush().await.map(|()| value),
            Err(e) => Err(e),
        };
        self.end_savepoint(outcome.is_ok()).await?;
        outcome
    }

    /// `rows`' own values and their x2many commands, when any row has some.
    fn split_commands(&self, model: &str, rows: &[Record]) -> Option<(Vec<Record>, Vec<Commands>)> {
        let model = self.orm.registry().get(model)?;
        let (own, commands): (Vec<_>, Vec<_>) = rows
            .iter()
            .map(|row| pulse_orm::split_x2many(model, row))
            .unzip();
        commands
            .iter()
            .any(|c| !c.is_empty())
            .then_some((own, commands))
    }
}

impl OrmBackend for TxOrm {
    async fn search(
        &mut self,
        model: &str,
        domain: &str,
        offset: u32,
        limit: Option<u32>,
        order: Option<&str>,
    ) -> Result<Vec<i64>, AddonError> {
        let domain = Domain::parse_str(domain).map_err(addon_error)?;
        let options = SearchOptions {
            offset,
            limit,
            order: order.map(str::to_string),
        };
        self.guarded(model, async |conn, orm, access| {
            let domain = access
                .restrict(conn, orm, model, Mode::Read, domain)
                .await?;
            orm.search(conn, model, &domain, &options).await
        })
        .await
    }

    async fn search_count(&mut self, model: &str, domain: &str) -> Result<u64, AddonError> {
        let domain = Domain::parse_str(domain).map_err(addon_error)?;
        self.guarded(model, async |conn, orm, access| {
            let domain = access
                .restrict(conn, orm, model, Mode::Read, domain)
                .await?;
            orm.search_count(conn, model, &domain).await
        })
        .await
    }

    async fn read(
        &mut self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<String, AddonError> {
        let records = self
            .guarded(model, async |conn, orm, access| {
                access.guard(conn, orm, model, Mode::Read, ids).await?;
                let mut records = orm.read(conn, model, ids, fields).await?;
                access.hide_unseen(conn, orm, model, &mut records).await?;
                Ok(records)
            })
            .await?;
        serde_json::to_string(&records).map_err(|e| AddonError::Internal(e.to_string()))
    }

    async fn create(&mut self, model: &str, rows: &str) -> Result<Vec<i64>, AddonError> {
        let rows: Vec<Record> = parse(rows, "create rows")?;
        if let Some((own, commands)) = self.split_commands(model, &rows) {
            return self
                .guarded_with_commands(model, &commands, async |conn, orm, access| {
                    access.check_model(orm.registry(), model, Mode::Create)?;
                    let ids = orm.create(conn, model, &own).await?;
                    access.guard(conn, orm, model, Mode::Create, &ids).await?;
                    Ok(ids)
                })
                .await;
        }
        self.guarded(model, async |conn, orm, access| {
            access.check_model(orm.registry(), model, Mode::Create)?;
            let ids = orm.create(conn, model, &rows).await?;
            access.guard(conn, orm, model, Mode::Create, &ids).await?;
            Ok(ids)
        })
        .await
    }

    async fn write(&mut self, model: &str, ids: &[i64], values: &str) -> Result<(), AddonError> {
        let values: Record = parse(values, "write values")?;
        if let Some((mut own, commands)) = self.split_commands(model, std::slice::from_ref(&values))
        {
            let own = own.pop().unwrap_or_default();
            let names: Vec<String> = commands[0].iter().map(|(n, _)| n.clone()).collect();
            let per_record = vec![commands[0].clone(); ids.len()];
            return self
                .guarded_with_commands(model, &per_record, async |conn, orm, access| {
                    access.guard(conn, orm, model, Mode::Write, ids).await?;
                    orm.write(conn, model, ids, &own).await?;
                    orm.mark_written(model, ids, &names)?;
                    Ok(ids.to_vec())
                })
                .await
                .map(|_| ());
        }
        self.guarded(model, async |conn, orm, access| {
            access.guard(conn, orm, model, Mode::Write, ids).await?;
            orm.write(conn, model, ids, &values).await?;
            crate::model_methods::after_write(conn, model, ids, &values).await
        })
        .await
    }

    async fn unlink(&mut self, model: &str, ids: &[i64]) -> Result<(), AddonError> {
        self.guarded(model, async |conn, orm, access| {
            access.guard(conn, orm, model, Mode::Unlink, ids).await?;
            orm.unlink(conn, model, ids).await
        })
        .await
    }

    async fn call(
        &mut self,
        model: &str,
        method: &str,
        ids: &[i64],
        args: &str,
        kwargs: &str,
    ) -> Result<String, AddonError> {
        self.nested(model, method, None, ids, args, kwargs).await
    }

    async fn sudo(&mut self, on: bool) -> Result<(), AddonError> {
        // The caller's rights must be known before they are set aside.
        self.start().await?;
        let (addon, permissions) = self.running_addon()?;
        if !permissions.sudo_asked {
            return Err(AddonError::Access(format!(
                "addon '{addon}' may not use superuser mode: its manifest does not ask for it (sudo = true under [permissions])"
            )));
        }
        if !permissions.sudo {
            return Err(AddonError::Access(format!(
                "addon '{addon}' may not use superuser mode: the admin has not granted it (pulse grant {addon} sudo)"
            )));
        }
        let Some(frame) = self.frames.last_mut() else {
            // Lifecycle hooks run as superuser already.
            return Ok(());
        };
        match (on, frame.before_sudo.take()) {
            (true, None) => {
                frame.before_sudo = Some(self.access.clone());
                self.access = Access::superuser();
            }
            (true, Some(before)) => frame.before_sudo = Some(before),
            (false, Some(before)) => self.access = before,
            (false, None) => {}
        }
        tracing::info!(addon = %addon, on, "superuser mode");
        Ok(())
    }

    async fn http_fetch(&mut self, request: &str) -> Result<String, AddonError> {
        let (addon, permissions) = self.running_addon()?;
        let outbound = self.snapshot.as_ref().and_then(|s| s.outbound.clone());
        crate::grants::fetch(outbound.as_deref(), &addon, &permissions, request).await
    }

    fn call_tree_memory(&self) -> Option<Arc<AtomicUsize>> {
        Some(self.tree_memory.clone())
    }

    async fn call_super(
        &mut self,
        ids: &[i64],
        args: &str,
        kwargs: &str,
    ) -> Result<String, AddonError> {
        // A route runs in a frame with no model: it overrides nothing.
        let Some(frame) = self.frames.last().filter(|f| !f.model.is_empty()).cloned() else {
            return Err(AddonError::User(
                "super() called outside of a model method".into(),
            ));
        };
        // Below the lowest addon is the ORM's own method, if there is one.
        let below = frame.level.checked_sub(1).unwrap_or(usize::MAX);
        self.nested(&frame.model, &frame.method, Some(below), ids, args, kwargs)
            .await
    }
}
