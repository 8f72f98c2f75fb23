//! Record events (Odoo's automated actions `on_create`, `on_write`,
//! `on_unlink`): the subscriptions addons describe, checked at install,
//! and the calls to their handlers.
//!
//! The ORM marks an event wherever a create, write or unlink happens,
//! whichever door it came through (an RPC client, an addon's ORM call,
//! x2many commands, data files); [`crate::recompute::flush`], which runs
//! after every operation, hands the events to [`fire`] once computed
//! fields and validations are done. A handler runs in the operation's
//! transaction with its addon's own rights; when it fails, the operation
//! fails, and its caller rolls everything back.

use std::sync::Arc;

use pulse_orm::{Domain, OrmError, RecordEvent, Subscription};
use pulse_runtime::{ApiVersion, CallError, Description, EventKind};
use pulse_schema::EventSpec;
use serde_json::{Value, json};

use crate::TxOrm;
use crate::error::Error;
use crate::failure::CallFailure;

/// How deep record events may nest: a handler whose own changes cause
/// events whose handlers cause events … is stopped here, with an error
/// naming it, instead of looping forever.
pub const MAX_EVENT_DEPTH: u32 = 8;

/// The ORM's subscription for `addon`'s `spec`.
pub fn subscription(addon: &str, spec: &EventSpec) -> Result<Subscription, Error> {
    let bad = |why: String| {
        Error::Lifecycle(format!(
            "addon '{addon}': the subscription '{}' to the record events of '{}' {why}",
            spec.name, spec.model
        ))
    };
    if spec.on.is_empty() {
        return Err(bad(
            "names no operation (on: create, write or unlink)".into()
        ));
    }
    let domain = match &spec.domain {
        None => None,
        Some(value) => {
            Some(Domain::parse(value).map_err(|e| bad(format!("has an invalid domain: {e}")))?)
        }
    };
    Ok(Subscription {
        addon: addon.to_string(),
        handler: spec.name.clone(),
        on: spec.on.iter().copied().collect(),
        domain,
        fields: spec.fields.iter().cloned().collect(),
    })
}

/// Refuses a description asking for what its component's version of
/// `pulse:addon` cannot do (0.1 has neither record events nor an
/// authentication policy).
pub fn check_version(
    addon: &str,
    version: ApiVersion,
    description: &Description,
) -> Result<(), Error> {
    if version >= ApiVersion::V0_2 || (description.events.is_empty() && !description.auth_policy) {
        return Ok(());
    }
    Err(Error::Lifecycle(format!(
        "addon '{addon}' describes record events or an authentication policy, but its component is built against {}@{version}, which has neither (they came with 0.2.0)",
        pulse_runtime::WIT_PACKAGE
    )))
}

/// Hands `events` to their handlers, in order, in `orm`'s transaction.
#[crate::boxed]
pub(crate) async fn fire(
    mut orm: TxOrm,
    events: Vec<RecordEvent>,
) -> (Result<(), CallFailure>, TxOrm) {
    for event in events {
        let outcome;
        (outcome, orm) = fire_one(orm, event).await;
        if outcome.is_err() {
            return (outcome, orm);
        }
    }
    (Ok(()), orm)
}

async fn fire_one(mut orm: TxOrm, event: RecordEvent) -> (Result<(), CallFailure>, TxOrm) {
    let Some(snapshot) = orm.snapshot.clone() else {
        // Describing an addon: no addon can be called, and no record changes.
        return (Ok(()), orm);
    };
    let (addon, model, kind) = (&event.addon, &event.model, event.kind.as_str());
    let prepared = prepare(&mut orm, &event).await;
    let call = match prepared {
        Ok(Some(call)) => call,
        Ok(None) => return (Ok(()), orm),
        Err(e) => return (Err(e), orm),
    };
    if orm.event_handlers.len() >= MAX_EVENT_DEPTH as usize {
        let mut running: Vec<&str> = Vec::new();
        for handler in &orm.event_handlers {
            if !running.contains(&handler.as_str()) {
                running.push(handler);
            }
        }
        let message = format!(
            "Record events nest more than {MAX_EVENT_DEPTH} deep: the handlers {} keep causing events (now the {kind} of {model} records, for addon '{addon}''s '{}'); stopped",
            running.join(", "),
            event.handler
        );
        return (Err(CallFailure::Orm(OrmError::user(message))), orm);
    }
    let (Some(component), Some(scope)) = (snapshot.addons.get(addon), snapshot.scopes.get(addon))
    else {
        let message = format!(
            "addon '{addon}' subscribes to the {kind} of {model} records, but its component is not available"
        );
        return (Err(CallFailure::Unavailable(message)), orm);
    };
    // The handler acts with its addon's own rights (an audit log writes
    // where the user may not), and is told who made the change.
    let callers = orm.access.clone();
    let own = match orm.parts() {
        Ok((conn, _)) => scope.access(conn).await.map_err(CallFailure::Orm),
        Err(e) => Err(CallFailure::Unavailable(e)),
    };
    let own = match own {
        Ok(own) => own,
        Err(e) => return (Err(e), orm),
    };
    orm.access = own;
    orm.event_handlers.push(format!(
        "{addon}.{} (on the {kind} of {model})",
        event.handler
    ));
    let context = orm.context.clone();
    let inner = orm.enter("", &format!("on_{kind}"), 0, Some(Arc::clone(scope)));
    let span = tracing::info_span!("record_event", addon = %addon, model = %model, kind);
    let (answer, inner) =
        tracing::Instrument::instrument(Box::pin(component.on_event(inner, &context, &call)), span)
            .await;
    crate::metrics::metrics().addon_call(addon, crate::metrics::outcome(&answer));
    let mut orm = inner.leave();
    orm.event_handlers.pop();
    orm.access = callers;
    if let Err(e) = &answer
        && !matches!(e, CallError::Addon(_))
    {
        tracing::warn!(addon = %addon, model = %model, kind, error = %e, "a record-event handler failed; the operation is rolled back");
    }
    (answer.map_err(CallFailure::Addon), orm)
}

/// The event as its handler receives it: the records still there that
/// match the subscription's domain, their values before and after, and
/// who made the change; `None` when no record is left.
async fn prepare(
    orm: &mut TxOrm,
    event: &RecordEvent,
) -> Result<Option<pulse_runtime::RecordEvent>, CallFailure> {
    let uid = orm.access.uid;
    let model = event.model.as_str();
    let ids = match (&event.filter, event.kind) {
        (_, EventKind::Unlink) => event.ids.clone(),
        (Some(domain), _) => {
            let domain = Domain::parse(&json!([["id", "in", event.ids]]))
                .map_err(CallFailure::Orm)?
                .and(domain);
            orm.operate(async |conn, o| o.search(conn, model, &domain, &Default::default()).await)
                .await?
        }
        (None, _) => {
            orm.operate(async |conn, o| o.exists(conn, model, &event.ids).await)
                .await?
        }
    };
    if ids.is_empty() {
        return Ok(None);
    }
    let new = match event.kind {
        EventKind::Create => {
            orm.operate(async |conn, o| o.read(conn, model, &ids, &[]).await)
                .await?
        }
        EventKind::Write => {
            orm.operate(async |conn, o| o.read(conn, model, &ids, &event.fields).await)
                .await?
        }
        EventKind::Unlink => Vec::new(),
    };
    let old: Vec<&pulse_orm::Record> = event
        .old
        .iter()
        .filter(|r| {
            r.get("id")
                .and_then(Value::as_i64)
                .is_some_and(|id| ids.contains(&id))
        })
        .collect();
    Ok(Some(pulse_runtime::RecordEvent {
        handler: event.handler.clone(),
        model: model.to_string(),
        kind: event.kind,
        ids,
        fields: event.fields.clone(),
        old_values: json!(old).to_string(),
        new_values: json!(new).to_string(),
        uid,
    }))
}
