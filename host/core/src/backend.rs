//! The ORM as addons see it: one transaction, one registry snapshot, and
//! the method-call frames that `super()` walks down.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use pulse_orm::{Connection, Orm, OrmError};
use pulse_runtime::Exception;
use pulse_schema::Context;
use sqlx::{Any, Transaction};

use crate::access::Access;
use crate::failure::CallFailure;

use crate::{Scope, Snapshot};

/// A method running in an addon: where `super()` continues from.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) model: String,
    pub(crate) method: String,
    pub(crate) level: usize,
    pub(crate) scope: Option<Arc<Scope>>,
    /// The caller's rights, while the method runs in superuser mode.
    pub(crate) before_sudo: Option<Arc<Access>>,
}

/// An ORM session bound to a transaction; lent to an addon for one call and
/// returned afterwards so the caller commits or rolls back.
pub struct TxOrm {
    /// The transaction every call runs in (taken while a nested call runs).
    pub(crate) tx: Option<Transaction<'static, Any>>,
    /// The ORM over the registry the call sees.
    pub orm: Orm,
    /// The addons and method chains, when model methods may be called.
    pub snapshot: Option<Arc<Snapshot>>,
    pub(crate) frames: Vec<Frame>,
    /// The scope of a lifecycle hook (method calls carry theirs in their frame).
    pub(crate) hook_scope: Option<Arc<Scope>>,
    /// Whose rights apply: the caller of the request (the superuser for
    /// lifecycle steps).
    pub access: Arc<Access>,
    /// The context the running call was made with (Odoo's `env.context`):
    /// the request's, or the one an addon passed to a nested call.
    pub context: Arc<Context>,
    /// A transaction still to begin, at the first ORM call.
    pub(crate) deferred: Option<Deferred>,
    /// Whether an operation clashed with a concurrent transaction; the
    /// whole request is then worth retrying.
    pub(crate) conflict: bool,
    /// The linear memory held by the addon instances of this call tree
    /// (every nested call shares it; see `pulse_runtime::MAX_CALL_TREE_MEMORY`).
    pub(crate) tree_memory: Arc<AtomicUsize>,
    /// The record-event handlers running, one inside the other, outermost
    /// first (see `crate::events`).
    pub(crate) event_handlers: Vec<String>,
}

/// What it takes to begin a session's transaction when it is first needed:
/// the pool, and the user whose rights are then loaded.
#[derive(Debug)]
pub(crate) struct Deferred {
    pub(crate) pool: sqlx::AnyPool,
    pub(crate) uid: i64,
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
            context: Arc::default(),
            deferred: None,
            conflict: false,
            tree_memory: Arc::default(),
            event_handlers: Vec::new(),
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
            context: Arc::default(),
            deferred: Some(Deferred {
                pool: pool.clone(),
                uid,
            }),
            conflict: false,
            tree_memory: Arc::default(),
            event_handlers: Vec::new(),
        }
    }

    /// Begins a deferred transaction and loads the user's rights.
    pub(crate) async fn start(&mut self) -> Result<(), Exception> {
        let Some(deferred) = self.deferred.take() else {
            return Ok(());
        };
        let internal = |e: &dyn std::fmt::Display| Exception::Internal(e.to_string());
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

    /// This session running under `context`.
    pub fn with_context(mut self, context: Context) -> TxOrm {
        self.context = Arc::new(context);
        self
    }

    /// The transaction back, to commit or drop.
    pub fn into_tx(self) -> Transaction<'static, Any> {
        self.tx.expect("the transaction is back once calls return")
    }

    /// Commits the transaction (nothing to do when a deferred one never began).
    #[crate::boxed]
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

    /// Runs one ORM operation on the session's connection, for the call
    /// engine: its failure as the call's, and a transaction lent to a
    /// nested call as [`CallFailure::Unavailable`].
    pub(crate) async fn operate<T>(
        &mut self,
        op: impl AsyncFnOnce(&mut Connection, &Orm) -> Result<T, OrmError>,
    ) -> Result<T, CallFailure> {
        let (conn, orm) = self.parts().map_err(CallFailure::Unavailable)?;
        op(conn, orm).await.map_err(CallFailure::Orm)
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
    #[crate::boxed]
    pub async fn acting_as(mut self, scope: Arc<Scope>, step: &str) -> Result<TxOrm, OrmError> {
        let (conn, _) = self.parts().map_err(OrmError::user)?;
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
    pub(crate) fn check_scope(&self, model: &str) -> Result<(), Exception> {
        let scope = self
            .frames
            .last()
            .and_then(|f| f.scope.as_ref())
            .or(self.hook_scope.as_ref());
        match scope {
            Some(scope) if !scope.models.contains(model) => Err(Exception::Access(format!(
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
    pub(crate) fn running_addon(&self) -> Result<(String, crate::grants::Permissions), Exception> {
        let scope = self
            .frames
            .last()
            .and_then(|f| f.scope.as_ref())
            .or(self.hook_scope.as_ref())
            .ok_or_else(|| Exception::User("no addon is running".into()))?;
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
            context: self.context.clone(),
            deferred: self.deferred.take(),
            conflict: self.conflict,
            tree_memory: self.tree_memory.clone(),
            event_handlers: self.event_handlers.clone(),
        }
    }
}

/// The addon-facing kind of an ORM error.
pub(crate) fn addon_error(e: OrmError) -> Exception {
    match e {
        OrmError::Raised(e) => e,
        OrmError::Database(e) => Exception::Internal(crate::error::database_failure(&e)),
    }
}
