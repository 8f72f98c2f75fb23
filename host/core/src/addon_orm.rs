//! The ORM an addon's code calls (`OrmBackend` for [`TxOrm`]): each
//! operation under a savepoint, with the recomputations, validations and
//! x2many commands it entails, and calls into other models' methods
//! through the dispatcher. Apart from `backend` (the session itself), so
//! that the session does not import the dispatcher that takes it: nothing
//! imports this module, the trait implementation is found by its type.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use pulse_orm::{Connection, Domain, Orm, OrmError, Record, SearchOptions};
use pulse_runtime::{
    CallError, Context, Exception, GroupQuery, HttpRequest, HttpResponse, MethodCall, NameQuery,
    OrmBackend, SearchQuery, User,
};
use serde_json::{Map, Value};

use crate::access::{Access, Mode};
use crate::backend::{TxOrm, addon_error};
use crate::dispatch;
use crate::failure::CallFailure;

/// The x2many values of one record (field name, commands), carried out
/// apart from its own values.
type Commands = Vec<(String, Value)>;

impl TxOrm {
    async fn nested(
        &mut self,
        call: &MethodCall<'_>,
        level: Option<usize>,
    ) -> Result<String, Exception> {
        let MethodCall {
            model,
            method,
            ids,
            args,
            kwargs,
            context,
        } = *call;
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
        let session = self.take().with_context(context.clone());
        let (outcome, mut session) = Box::pin(dispatch::call(
            session,
            model,
            method,
            level,
            ids.to_vec(),
            args,
            kwargs,
        ))
        .await;
        session.context = std::mem::take(&mut self.context);
        *self = session;
        // A clash inside the nested call (an override calling `super`,
        // whose ORM operation met a concurrent transaction) reaches the
        // addon as an error like any other; the request is still retried.
        if let Err(failure) = &outcome {
            self.conflict |= failure.is_conflict();
        }
        let outcome = outcome
            .map(|value| value.to_string())
            .map_err(failure_for_addon);
        self.end_savepoint(outcome.is_ok()).await?;
        outcome
    }

    async fn savepoint(&mut self) -> Result<(), Exception> {
        self.start().await?;
        let (conn, _) = self.parts().map_err(busy)?;
        let done = sqlx::query("SAVEPOINT pulse_op").execute(&mut *conn).await;
        if let Err(e) = done {
            self.conflict |= crate::db::is_conflict(&e);
            return Err(Exception::Internal(e.to_string()));
        }
        Ok(())
    }

    /// Remembers a clash with a concurrent transaction.
    pub(crate) fn note_conflict(&mut self, e: &OrmError) {
        self.conflict |= crate::db::is_orm_conflict(e);
    }

    /// Releases the innermost savepoint, or rolls back to it (and forgets
    /// the work the failed operation marked) when `ok` is false.
    async fn end_savepoint(&mut self, ok: bool) -> Result<(), Exception> {
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
            .map_err(|e| Exception::Internal(e.to_string()))?;
        Ok(())
    }

    /// Recomputes and validates what the last operation changed.
    async fn flush(&mut self) -> Result<(), Exception> {
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

/// A failed nested call, as the calling addon sees it.
fn failure_for_addon(failure: CallFailure) -> Exception {
    match failure {
        CallFailure::Orm(e) => addon_error(e),
        CallFailure::Addon(CallError::Addon(e)) => e,
        CallFailure::Addon(other) => Exception::Internal(other.to_string()),
        CallFailure::NoModel(model) => Exception::User(format!("Object {model} doesn't exist")),
        CallFailure::NoMethod { model, method } => Exception::User(format!(
            "The method '{method}' does not exist on the model '{model}'"
        )),
        CallFailure::BadArgument(m) | CallFailure::Unavailable(m) => Exception::User(m),
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, Exception> {
    serde_json::from_str(text).map_err(|e| Exception::User(format!("invalid JSON for {what}: {e}")))
}

/// An addon's JSON domain.
fn parse_domain(text: &str) -> Result<Domain, Exception> {
    Domain::parse_str(text).map_err(addon_error)
}

/// `rows` of `model`, with what they show of records the caller may not
/// see hidden.
async fn seen(
    conn: &mut Connection,
    orm: &Orm,
    access: &Access,
    model: &str,
    mut rows: Vec<Record>,
) -> Result<Vec<Record>, OrmError> {
    access.hide_unseen(conn, orm, model, &mut rows).await?;
    Ok(rows)
}

/// Rows an addon read, as the JSON it is answered with.
fn rows_json(rows: &[Record]) -> Result<String, Exception> {
    serde_json::to_string(rows).map_err(|e| Exception::Internal(e.to_string()))
}

fn busy(message: String) -> Exception {
    Exception::Internal(message)
}

impl TxOrm {
    /// Runs one ORM operation for an addon, with the recomputations and
    /// validations it entails, under a savepoint: an operation that fails
    /// leaves nothing behind, and an addon that catches the error can go
    /// on (and commit what it did before) on every database, although
    /// PostgreSQL aborts a transaction at its first failed statement.
    async fn guarded<T>(
        &mut self,
        context: &Context,
        model: &str,
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<T, OrmError>,
    ) -> Result<T, Exception> {
        let before = std::mem::replace(&mut self.context, Arc::new(context.clone()));
        let outcome = self.guarded_in_context(model, op).await;
        self.context = before;
        outcome
    }

    /// [`TxOrm::guarded`] in the session's own context.
    async fn guarded_in_context<T>(
        &mut self,
        model: &str,
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<T, OrmError>,
    ) -> Result<T, Exception> {
        self.check_scope(model)?;
        // Begins a deferred transaction, loading the caller's rights.
        self.savepoint().await?;
        let outcome = self.operate_for_addon(op).await;
        self.settle(outcome).await
    }

    /// [`TxOrm::guarded`] for `op` over the records of `model` matching
    /// `domain`: the domain is searched under `context` and restricted by
    /// the caller's record rules before `op` sees it.
    async fn guarded_in_domain<T>(
        &mut self,
        context: &Context,
        model: &str,
        domain: Domain,
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access, &Domain) -> Result<T, OrmError>,
    ) -> Result<T, Exception> {
        let domain = domain.searched_under(context);
        self.guarded(context, model, async |conn, orm, access| {
            let domain = access
                .restrict(conn, orm, model, Mode::Read, domain)
                .await?;
            op(conn, orm, access, &domain).await
        })
        .await
    }

    /// Rows an addon reads through a domain (`search_read`, `read_group`),
    /// as JSON: the domain is searched under `context` and restricted by
    /// the caller's record rules, `read` answers the rows, and what they
    /// show of records the caller may not see is hidden.
    async fn read_rows(
        &mut self,
        context: &Context,
        model: &str,
        domain: &str,
        read: impl AsyncFnOnce(&mut Connection, &Orm, &Domain) -> Result<Vec<Record>, OrmError>,
    ) -> Result<String, Exception> {
        let domain = parse_domain(domain)?;
        let rows = self
            .guarded_in_domain(context, model, domain, async |conn, orm, access, domain| {
                let rows = read(conn, orm, domain).await?;
                seen(conn, orm, access, model, rows).await
            })
            .await?;
        rows_json(&rows)
    }

    /// [`TxOrm::guarded`] for a create or write whose values hold x2many
    /// commands: `op` writes the records' own values and answers their ids,
    /// then each record's `commands` (one list per id) run through the target models' methods
    /// (see [`crate::commands::apply_x2many`]), all under one savepoint.
    async fn guarded_with_commands(
        &mut self,
        context: &Context,
        model: &str,
        commands: &[Commands],
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<Vec<i64>, OrmError>,
    ) -> Result<Vec<i64>, Exception> {
        let before = std::mem::replace(&mut self.context, Arc::new(context.clone()));
        let outcome = self.commands_in_context(model, commands, op).await;
        self.context = before;
        outcome
    }

    /// [`TxOrm::guarded_with_commands`] in the session's own context.
    async fn commands_in_context(
        &mut self,
        model: &str,
        commands: &[Commands],
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<Vec<i64>, OrmError>,
    ) -> Result<Vec<i64>, Exception> {
        self.check_scope(model)?;
        self.savepoint().await?;
        let mut outcome = self.operate_for_addon(op).await;
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
        self.settle(outcome).await
    }

    /// `op` on the session's connection, with the caller's rights; a clash
    /// with a concurrent transaction is remembered.
    async fn operate_for_addon<T>(
        &mut self,
        op: impl AsyncFnOnce(&mut Connection, &Orm, &Access) -> Result<T, OrmError>,
    ) -> Result<T, Exception> {
        let access = self.access.clone();
        let (conn, orm) = self.parts().map_err(busy)?;
        let outcome = op(conn, orm, &access).await;
        outcome.map_err(|e| {
            self.note_conflict(&e);
            addon_error(e)
        })
    }

    /// Ends the savepoint of an operation: after recomputing and
    /// validating what it changed, released; rolled back to when anything
    /// failed.
    async fn settle<T>(&mut self, outcome: Result<T, Exception>) -> Result<T, Exception> {
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
    /// As Odoo's `self.env[model].search` in a method, the search runs
    /// under the method's context (`active_test`).
    async fn search(
        &mut self,
        context: &Context,
        model: &str,
        query: &SearchQuery<'_>,
    ) -> Result<Vec<i64>, Exception> {
        let options = SearchOptions {
            offset: query.offset,
            limit: query.limit,
            order: query.order.map(str::to_string),
        };
        let domain = parse_domain(query.domain)?;
        self.guarded_in_domain(context, model, domain, async |conn, orm, _, domain| {
            orm.search(conn, model, domain, &options).await
        })
        .await
    }

    async fn search_count(
        &mut self,
        context: &Context,
        model: &str,
        domain: &str,
    ) -> Result<u64, Exception> {
        let domain = parse_domain(domain)?;
        self.guarded_in_domain(context, model, domain, async |conn, orm, _, domain| {
            orm.search_count(conn, model, domain).await
        })
        .await
    }

    async fn search_read(
        &mut self,
        context: &Context,
        model: &str,
        query: &SearchQuery<'_>,
        fields: &[String],
    ) -> Result<String, Exception> {
        let options = SearchOptions {
            offset: query.offset,
            limit: query.limit,
            order: query.order.map(str::to_string),
        };
        self.read_rows(context, model, query.domain, async |conn, orm, domain| {
            orm.search_read(conn, model, domain, fields, &options).await
        })
        .await
    }

    async fn read_group(
        &mut self,
        context: &Context,
        model: &str,
        query: &GroupQuery<'_>,
    ) -> Result<String, Exception> {
        self.read_rows(context, model, query.domain, async |conn, orm, domain| {
            let (offset, limit) = (query.offset as usize, query.limit.map(|l| l as usize));
            orm.read_group(
                conn,
                model,
                domain,
                query.fields,
                query.groupby,
                offset,
                limit,
                query.lazy,
            )
            .await
        })
        .await
    }

    async fn name_search(
        &mut self,
        context: &Context,
        model: &str,
        query: &NameQuery<'_>,
    ) -> Result<Vec<(i64, String)>, Exception> {
        let NameQuery {
            name,
            domain,
            operator,
            limit,
        } = *query;
        let domain = if domain.trim().is_empty() {
            Domain::all()
        } else {
            parse_domain(domain)?
        };
        self.guarded_in_domain(context, model, domain, async |conn, orm, _, domain| {
            orm.name_search(conn, model, name, domain, operator, limit)
                .await
        })
        .await
    }

    async fn read(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<String, Exception> {
        let records = self
            .guarded(context, model, async |conn, orm, access| {
                access.guard(conn, orm, model, Mode::Read, ids).await?;
                let records = orm.read(conn, model, ids, fields).await?;
                seen(conn, orm, access, model, records).await
            })
            .await?;
        rows_json(&records)
    }

    async fn create(
        &mut self,
        context: &Context,
        model: &str,
        rows: &str,
    ) -> Result<Vec<i64>, Exception> {
        let rows: Vec<Record> = parse(rows, "create rows")?;
        crate::model_methods::check_values(model, &rows).map_err(addon_error)?;
        if let Some((own, commands)) = self.split_commands(model, &rows) {
            return self
                .guarded_with_commands(context, model, &commands, async |conn, orm, access| {
                    access.check_model(orm.registry(), model, Mode::Create)?;
                    let ids = orm.create(conn, model, &own).await?;
                    crate::model_methods::after_create(conn, orm, model, &ids, &own).await?;
                    access.guard(conn, orm, model, Mode::Create, &ids).await?;
                    Ok(ids)
                })
                .await;
        }
        self.guarded(context, model, async |conn, orm, access| {
            access.check_model(orm.registry(), model, Mode::Create)?;
            let ids = orm.create(conn, model, &rows).await?;
            crate::model_methods::after_create(conn, orm, model, &ids, &rows).await?;
            access.guard(conn, orm, model, Mode::Create, &ids).await?;
            Ok(ids)
        })
        .await
    }
    async fn write(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
        values: &str,
    ) -> Result<(), Exception> {
        let values: Record = parse(values, "write values")?;
        crate::model_methods::check_values(model, std::slice::from_ref(&values))
            .map_err(addon_error)?;
        if let Some((mut own, commands)) = self.split_commands(model, std::slice::from_ref(&values))
        {
            let own = own.pop().unwrap_or_default();
            let names: Vec<String> = commands[0].iter().map(|(n, _)| n.clone()).collect();
            let per_record = vec![commands[0].clone(); ids.len()];
            return self
                .guarded_with_commands(context, model, &per_record, async |conn, orm, access| {
                    access.guard(conn, orm, model, Mode::Write, ids).await?;
                    orm.write(conn, model, ids, &own).await?;
                    orm.mark_written(model, ids, &names)?;
                    Ok(ids.to_vec())
                })
                .await
                .map(|_| ());
        }
        self.guarded(context, model, async |conn, orm, access| {
            access.guard(conn, orm, model, Mode::Write, ids).await?;
            orm.write(conn, model, ids, &values).await?;
            crate::model_methods::after_write(conn, orm, model, ids, &values).await
        })
        .await
    }
    async fn unlink(
        &mut self,
        context: &Context,
        model: &str,
        ids: &[i64],
    ) -> Result<(), Exception> {
        self.guarded(context, model, async |conn, orm, access| {
            access.guard(conn, orm, model, Mode::Unlink, ids).await?;
            orm.unlink(conn, model, ids).await
        })
        .await
    }

    async fn call(&mut self, call: &MethodCall<'_>) -> Result<String, Exception> {
        self.nested(call, None).await
    }
    async fn sudo(&mut self, on: bool) -> Result<(), Exception> {
        // The caller's rights must be known before they are set aside.
        self.start().await?;
        let (addon, permissions) = self.running_addon()?;
        if !permissions.sudo_asked {
            return Err(Exception::Access(format!(
                "addon '{addon}' may not use superuser mode: its manifest does not ask for it (sudo = true under [permissions])"
            )));
        }
        if !permissions.sudo {
            return Err(Exception::Access(format!(
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

    async fn current_user(&mut self) -> Result<User, Exception> {
        self.start().await?;
        let access = self.access.clone();
        let company = self.context.company_id();
        let (conn, _) = self.parts().map_err(busy)?;
        crate::access::user_of(conn, &access, company)
            .await
            .map_err(addon_error)
    }

    async fn http_fetch(&mut self, request: &HttpRequest) -> Result<HttpResponse, Exception> {
        let (addon, permissions) = self.running_addon()?;
        let outbound = self.snapshot.as_ref().and_then(|s| s.outbound.clone());
        crate::grants::fetch(outbound.as_deref(), &addon, &permissions, request).await
    }

    fn call_tree_memory(&self) -> Option<Arc<AtomicUsize>> {
        Some(self.tree_memory.clone())
    }

    async fn call_super(
        &mut self,
        context: &Context,
        ids: &[i64],
        args: &str,
        kwargs: &str,
    ) -> Result<String, Exception> {
        // A route runs in a frame with no model: it overrides nothing.
        let Some(frame) = self.frames.last().filter(|f| !f.model.is_empty()).cloned() else {
            return Err(Exception::User(
                "super() called outside of a model method".into(),
            ));
        };
        // Below the lowest addon is the ORM's own method, if there is one.
        let below = frame.level.checked_sub(1).unwrap_or(usize::MAX);
        let call = MethodCall {
            model: &frame.model,
            method: &frame.method,
            ids,
            args,
            kwargs,
            context,
        };
        self.nested(&call, Some(below)).await
    }
}
