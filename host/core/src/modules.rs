//! The Apps lifecycle over RPC, as Odoo clients drive it: methods of
//! `ir.module.module` (`update_list`, `button_install`, `button_upgrade`,
//! `button_uninstall`, their `button_immediate_*` forms, the reset and
//! cancel buttons) and `base.module.upgrade`'s `upgrade_module`, with the
//! return values Odoo gives. Only the superuser may call them; the module
//! records themselves change only through them.

use serde_json::{Value, json};

use crate::base::{MODULE_MODEL, SUPERUSER_ID};
use crate::failure::{CallFailure, Failure, Kind};
use crate::{Error, Host, Operation};

/// The wizard that applies pending marks.
pub const UPGRADE_WIZARD: &str = "base.module.upgrade";

/// Odoo's `ACTION_DICT`: the form of `base.module.upgrade`, opened in a dialog.
fn wizard_action(name: &str) -> Value {
    json!({
        "name": name,
        "view_mode": "form",
        "res_model": UPGRADE_WIZARD,
        "target": "new",
        "type": "ir.actions.act_window",
    })
}

/// What `button_immediate_*` return once the work is done.
fn reload_action() -> Value {
    json!({"type": "ir.actions.client", "tag": "reload", "params": {"menu_id": false}})
}

/// The methods of `ir.module.module` the lifecycle answers (every method
/// of the wizard is the lifecycle's): the buttons, and the ORM's own
/// writes, which it refuses.
pub(crate) const MODULE_METHODS: [&str; 15] = [
    "update_list",
    "button_install",
    "button_upgrade",
    "button_uninstall",
    "button_immediate_install",
    "button_immediate_upgrade",
    "button_immediate_uninstall",
    "button_reset_state",
    "button_install_cancel",
    "button_upgrade_cancel",
    "button_uninstall_cancel",
    "create",
    "write",
    "unlink",
    "copy",
];

/// The operation an Apps button starts, and whether it carries it out at
/// once (`button_immediate_*`, answered with [`reload_action`]) or marks
/// the modules for the upgrade wizard (`button_*`, answered with
/// [`wizard_action`]).
fn lifecycle_button(method: &str) -> Option<(Operation, bool)> {
    let (at_once, operation) = match method.strip_prefix("button_immediate_") {
        Some(operation) => (true, operation),
        None => (false, method.strip_prefix("button_")?),
    };
    let operation = match operation {
        "install" => Operation::Install,
        "upgrade" => Operation::Upgrade,
        "uninstall" => Operation::Uninstall,
        _ => return None,
    };
    Some((operation, at_once))
}

/// Runs a lifecycle method of `model` (`ir.module.module` or the wizard)
/// for `uid`, each in the lifecycle's own transactions: registered as the
/// models' host methods in [`crate::model_methods`].
pub(crate) async fn run(
    host: &Host,
    uid: i64,
    model: &str,
    method: &str,
    ids: &[i64],
) -> Result<Value, Failure> {
    if uid != SUPERUSER_ID {
        return Err(Failure::access_denied());
    }
    let names = || async { module_names(host, ids).await };
    let outcome: Result<Value, Error> = match (model, method) {
        (MODULE_MODEL, "create" | "write" | "unlink" | "copy") => {
            return Err(Failure::new(
                Kind::UserError,
                format!(
                    "Module records change only through the lifecycle (button_install, button_upgrade, button_uninstall, update_list), not through {method}"
                ),
            ));
        }
        (MODULE_MODEL, "update_list") => host
            .update_list()
            .await
            .map(|(updatable, added)| json!([updatable, added])),
        (MODULE_MODEL, button) if let Some((operation, at_once)) = lifecycle_button(button) => {
            async {
                if at_once {
                    host.apply(operation, &names().await?).await?;
                    return Ok(reload_action());
                }
                if operation == Operation::Upgrade {
                    host.update_list().await?;
                }
                host.mark(operation, &names().await?).await?;
                Ok(wizard_action(match operation {
                    Operation::Install => "Install",
                    Operation::Upgrade => "Apply Schedule Upgrade",
                    Operation::Uninstall => "Uninstall",
                }))
            }
            .await
        }
        (
            MODULE_MODEL,
            "button_reset_state"
            | "button_install_cancel"
            | "button_upgrade_cancel"
            | "button_uninstall_cancel",
        ) => host.reset_marks().await.map(|_| json!(true)),
        // The wizard has no state of its own: creating one is a formality
        // clients go through before calling upgrade_module on it.
        (UPGRADE_WIZARD, "create") => Ok(json!(1)),
        (UPGRADE_WIZARD, "upgrade_module") => host
            .apply_marked()
            .await
            .map(|_| json!({"type": "ir.actions.act_window_close"})),
        (UPGRADE_WIZARD, "read" | "default_get") => Ok(json!([])),
        (_, other) => {
            return Err(CallFailure::NoMethod {
                model: model.to_string(),
                method: other.to_string(),
            }
            .into());
        }
    };
    // Planning errors (a missing dependency, an exclusion, a state that
    // does not allow the operation) are the user's to fix: see
    // `Failure::from`.
    outcome.map_err(Failure::from)
}

/// The names of the module records `ids`, in order.
async fn module_names(host: &Host, ids: &[i64]) -> Result<Vec<String>, Error> {
    let mut names = Vec::with_capacity(ids.len());
    let mut conn = host.db.pool.acquire().await?;
    for id in ids {
        let name = crate::module_records::name_of(&mut conn, *id).await?;
        names.push(name.ok_or_else(|| {
            Error::Orm(pulse_orm::OrmError::missing(format!(
                "Record does not exist or has been deleted.\n(Record: ir.module.module({id},), User: {SUPERUSER_ID})"
            )))
        })?);
    }
    Ok(names)
}
