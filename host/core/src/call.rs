//! A call from outside the host: `model.method(*args, **kwargs)` as an RPC
//! client makes it, in one transaction committed when it succeeds and run
//! again when a concurrent transaction got in the way. Every protocol
//! (XML-RPC, JSON-RPC, JSON-2, the dataset endpoints) comes through here.

use pulse_orm::Orm;
use pulse_schema::Context;
use serde_json::{Map, Value};

use crate::failure::{CallFailure, Failure, Kind};
use crate::{Access, Host, TxOrm, dispatch, model_methods};

impl Host {
    /// Runs `model.method(*args, **kwargs)` for the user `uid` under
    /// `context` (see [`take_context`]): the top of the method's override
    /// chain, the ORM's own, or one the host answers itself (the Apps
    /// buttons, see [`crate::model_methods`]).
    #[crate::boxed]
    pub async fn execute_kw(
        &self,
        uid: i64,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
        context: Context,
    ) -> Result<Value, Failure> {
        if method.starts_with('_') {
            return Err(Failure::new(
                Kind::AccessError,
                format!("Private methods (such as '{model}.{method}') cannot be called remotely."),
            ));
        }
        self.refresh().await?;
        let (ids, rest) = if model_methods::takes_no_records(model, method) {
            (Vec::new(), args)
        } else {
            dispatch::split_args(method, args)?
        };
        if let Some(run) = model_methods::host_method(model, method) {
            let call = model_methods::HostCall {
                uid,
                model,
                method,
                ids: &ids,
                args: &rest,
                kwargs: &kwargs,
            };
            return run(self, call).await;
        }
        // Another transaction getting in the way rolls the call back and runs it again.
        let (ids, rest, kwargs, context) = (&ids, &rest, &kwargs, &context);
        crate::db::retrying(&format!("{model}.{method}"), move || async move {
            let snapshot = self.snapshot();
            crate::commands::refuse_readonly(&snapshot.registry, model, method, rest, kwargs)
                .map_err(|f| (Failure::from(f), false))?;
            let mut tx = self.db.pool.begin().await.map_err(crate::db::tagged)?;
            // The caller's rights apply to everything the call does.
            let access = Access::load(&mut tx, uid).await.map_err(|e| {
                let clashed = crate::db::is_orm_conflict(&e);
                (Failure::from(e), clashed)
            })?;
            let orm = TxOrm::new(
                tx,
                Orm::new(self.db.dialect, snapshot.registry.clone()),
                Some(snapshot),
            )
            .with_access(access)
            .with_context(context.clone());
            let (outcome, orm) = dispatch::call(
                orm,
                model,
                method,
                None,
                ids.clone(),
                rest.clone(),
                kwargs.clone(),
            )
            .await;
            match outcome {
                Ok(value) => orm
                    .commit()
                    .await
                    .map(|()| value)
                    .map_err(crate::db::tagged),
                Err(f) => {
                    let clashed = f.is_conflict() || orm.conflicted();
                    Err((Failure::from(f), clashed))
                }
            }
        })
        .await
    }
}

/// Takes the context out of a call's keyword arguments, as every RPC door
/// does before [`Host::execute_kw`] (Odoo's `call_kw` pops it and runs the
/// method under it); no context is the empty one.
pub fn take_context(kwargs: &mut Map<String, Value>) -> Result<Context, Failure> {
    match kwargs.remove("context") {
        None => Ok(Context::default()),
        Some(value) => Context::from_value(&value).map_err(|e| CallFailure::from(e).into()),
    }
}
