//! The models every database has before any addon is installed, owned by
//! the pseudo-addon `base`: users, groups, access rights and record rules.
//! Addons extend them (`#[model(extends = "res.users")]`) and fill them
//! through data files, as Odoo modules do.

use std::sync::LazyLock;

use pulse_orm::{Connection, Dialect, Registry, ledger};
use pulse_schema::{Description, FieldType, ModelSpec};

use crate::Error;

/// The name under which the host owns its own models.
pub const BASE: &str = "base";

/// The module records (`ir_module_module`), readable like any model and
/// changed only by the lifecycle (`button_install`, …).
pub const MODULE_MODEL: &str = "ir.module.module";

/// The models whose records the host keeps itself (the module records
/// and the ownership ledger): readable, never written through the ORM.
pub const LEDGER_MODELS: [&str; 4] = [MODULE_MODEL, "ir.model", "ir.model.fields", "ir.model.data"];

/// The user id of the superuser, `admin`: access rights and record rules
/// do not apply to it (like Odoo's `__system__`).
pub const SUPERUSER_ID: i64 = 1;

/// Who a public route runs as: no user at all. Only access rights and
/// record rules without a group apply (Odoo's public user has as little).
pub const PUBLIC_UID: i64 = 0;

/// Groups every database has, by external id (`base.<name>`), Odoo's,
/// and whether `admin` is in it.
pub const BASE_GROUPS: [(&str, &str, bool); 5] = [
    ("group_user", "Internal User", true),
    ("group_system", "Administration / Settings", true),
    ("group_erp_manager", "Administration / Access Rights", true),
    ("group_portal", "Portal", false),
    ("group_public", "Public", false),
];

/// What the base groups imply, as in Odoo: settings imply access rights,
/// which imply being an internal user.
const IMPLIED_GROUPS: [(&str, &str); 2] = [
    ("group_system", "group_erp_manager"),
    ("group_erp_manager", "group_user"),
];

/// The currencies every database starts with (code, symbol), by their
/// external ids `base.<code>`; the company's currency first.
const CURRENCIES: [(&str, &str); 2] = [("PHP", "\u{20b1}"), ("USD", "$")];

/// The description of `base`: `base.toml`, in the schema an addon's
/// `describe` answers with, read once. A field without a label is
/// labelled from its name (`group_id`: "Group Id").
pub fn description() -> &'static Description {
    static BASE_MODELS: LazyLock<Description> = LazyLock::new(|| {
        let mut description: Description =
            toml::from_str(include_str!("base.toml")).expect("base.toml describes the base models");
        for field in description.models.iter_mut().flat_map(|m| &mut m.fields) {
            if field.string.is_empty() {
                field.string = label(&field.name);
            }
        }
        description
    });
    &BASE_MODELS
}

/// `group_id` as a label: "Group Id".
fn label(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The outbox (Odoo's `mail.mail`), sent by `crate::mail`.
pub const MAIL_MODEL: &str = "mail.mail";
/// The SMTP servers the admin configured.
pub const SERVER_MODEL: &str = "ir.mail_server";
/// Files, such as a message's attachments.
pub const ATTACHMENT_MODEL: &str = "ir.attachment";

/// The models only administrators (`base.group_system`) may use, as in Odoo.
const ADMIN_MODELS: [&str; 3] = [MAIL_MODEL, SERVER_MODEL, ATTACHMENT_MODEL];

/// The web client's menus and actions: internal users read them,
/// administrators change them (Odoo's rights).
const WEB_CLIENT_MODELS: [&str; 2] = [MENU_MODEL, WINDOW_ACTION_MODEL];

/// The web client's menus.
pub const MENU_MODEL: &str = "ir.ui.menu";
/// The actions that open a model's views.
pub const WINDOW_ACTION_MODEL: &str = "ir.actions.act_window";

/// `mail.mail`, as `base.toml` describes it.
pub(crate) fn mail_model() -> &'static ModelSpec {
    description()
        .models
        .iter()
        .find(|m| m.name == MAIL_MODEL)
        .expect("base.toml describes mail.mail")
}

/// Applies `base` to a registry being built.
pub fn apply(registry: &mut Registry) -> Result<(), Error> {
    for spec in &description().models {
        registry.apply(spec, BASE)?;
    }
    Ok(())
}

/// The models of `base` addon code may use (all but the module records).
pub fn model_names() -> Vec<String> {
    description()
        .models
        .iter()
        .map(|m| m.name.clone())
        .filter(|m| m != MODULE_MODEL)
        .collect()
}

/// Creates the tables of `base` that do not exist yet (the users table
/// exists already, with its password column, made by the host's
/// migrations), records them as owned by `base`, and creates the base
/// groups with `admin` in them.
#[crate::boxed]
pub async fn ensure(conn: &mut Connection, dialect: Dialect) -> Result<(), Error> {
    let mut registry = Registry::new();
    apply(&mut registry)?;
    for spec in &description().models {
        let model = registry.require(&spec.name)?;
        if !pulse_orm::table_exists(conn, dialect, &model.table).await? {
            pulse_orm::create_table(conn, dialect, model).await?;
        }
        for field in model.fields() {
            if field.ttype() == FieldType::Many2many {
                pulse_orm::create_relation_table(conn, model, field).await?;
            }
        }
        ledger::record_missing(conn, model, BASE).await?;
    }
    let orm = pulse_orm::Orm::new(dialect, std::sync::Arc::new(registry));
    crate::reference::load_currencies(conn, &orm, BASE).await?;
    // The currencies and the company every database starts with; the
    // company's currency is the first.
    let mut currencies = Vec::new();
    for (code, symbol) in CURRENCIES {
        let (id, _) = seed(
            conn,
            code,
            "res.currency",
            sqlx::query("INSERT INTO res_currency (name, symbol, rounding, active) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(code)
                .bind(symbol)
                .bind(0.01_f64)
                .bind(true),
        )
        .await?;
        currencies.push(id);
    }
    seed(
        conn,
        "main_company",
        "res.company",
        sqlx::query(
            "INSERT INTO res_company (name, currency_id, active) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind("My Company")
        .bind(currencies[0])
        .bind(true),
    )
    .await?;
    let mut groups = Vec::new();
    let mut created_groups = Vec::new();
    for (xmlid, name, admin) in BASE_GROUPS {
        let (id, created) = seed(
            conn,
            xmlid,
            "res.groups",
            sqlx::query("INSERT INTO res_groups (name) VALUES ($1) RETURNING id").bind(name),
        )
        .await?;
        if created {
            if admin {
                link(
                    conn,
                    "res_groups_res_users_rel",
                    "res_users_id",
                    SUPERUSER_ID,
                    id,
                )
                .await?;
            }
            created_groups.push(xmlid);
        }
        groups.push(id);
    }
    for (group, implied) in IMPLIED_GROUPS {
        if created_groups.contains(&group) || created_groups.contains(&implied) {
            let id = |name: &str| groups[BASE_GROUPS.iter().position(|g| g.0 == name).unwrap_or(0)];
            link(
                conn,
                "res_groups_implied_ids_rel",
                "res_groups_id",
                id(group),
                id(implied),
            )
            .await?;
        }
    }
    // Users and companies get their partners, partners and users what
    // they compute, and the people every database has their external ids.
    crate::people::adopt(conn, &orm).await?;
    people_ids(conn).await?;
    api_key_rights(conn, groups[0], groups[1]).await?;
    // Internal users read contacts and their tags, as in Odoo (creating
    // and changing them is Odoo's "Contact Creation", here the admin's).
    let contacts = ["res.partner", "res.partner.category"].map(|model| AccessRight {
        xmlid: format!("access_{}_group_user", pulse_orm::table_name(model)),
        model,
        group: groups[0],
        perms: [true, false, false, false],
    });
    seed_access_rights(conn, &contacts).await?;
    admin_rights(conn, groups[1], &ADMIN_MODELS).await?;
    admin_rights(conn, groups[1], &WEB_CLIENT_MODELS).await?;
    reader_rights(conn, groups[0], &WEB_CLIENT_MODELS).await?;
    crate::reference::load(conn, &orm, BASE).await
}

/// The external ids of the people every database has: Odoo's main
/// company's partner, and its administrator and theirs.
async fn people_ids(conn: &mut Connection) -> Result<(), Error> {
    let partner_of =
        async |conn: &mut Connection, table: &str, id: i64| -> Result<Option<i64>, Error> {
            let found: Option<Option<i64>> =
                sqlx::query_scalar(&format!("SELECT partner_id FROM {table} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(found.flatten())
        };
    let mut named = Vec::new();
    if let Some(company) = ledger::external_id(conn, BASE, "main_company").await? {
        named.push((
            "main_partner",
            partner_of(conn, "res_company", company.res_id).await?,
        ));
    }
    let admin: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM res_users WHERE id = $1")
        .bind(SUPERUSER_ID)
        .fetch_one(&mut *conn)
        .await?;
    if admin > 0 {
        if ledger::external_id(conn, BASE, "user_admin")
            .await?
            .is_none()
        {
            ledger::add_external_id(conn, BASE, "user_admin", "res.users", SUPERUSER_ID, true)
                .await?;
        }
        named.push((
            "partner_admin",
            partner_of(conn, "res_users", SUPERUSER_ID).await?,
        ));
    }
    for (xmlid, partner) in named {
        if let Some(partner) = partner
            && ledger::external_id(conn, BASE, xmlid).await?.is_none()
        {
            ledger::add_external_id(conn, BASE, xmlid, "res.partner", partner, true).await?;
        }
    }
    Ok(())
}

/// Read access to `models` for `group` (internal users), as Odoo gives it
/// on menus and actions.
async fn reader_rights(conn: &mut Connection, group: i64, models: &[&str]) -> Result<(), Error> {
    let rights: Vec<AccessRight> = models
        .iter()
        .map(|model| AccessRight {
            xmlid: format!("access_{}_group_user", pulse_orm::table_name(model)),
            model,
            group,
            perms: [true, false, false, false],
        })
        .collect();
    seed_access_rights(conn, &rights).await
}

/// An access right `base` seeds (`ir.model.access`, external id
/// `base.<xmlid>`): what `group` may do on `model`.
struct AccessRight<'a> {
    xmlid: String,
    model: &'a str,
    group: i64,
    /// Read, write, create, unlink.
    perms: [bool; 4],
}

/// Seeds `rights`, each once (an admin's later changes stay).
async fn seed_access_rights(
    conn: &mut Connection,
    rights: &[AccessRight<'_>],
) -> Result<(), Error> {
    for right in rights {
        let [read, write, create, unlink] = right.perms;
        seed(
            conn,
            &right.xmlid,
            "ir.model.access",
            sqlx::query(
                "INSERT INTO ir_model_access (name, model, group_id, active, perm_read, perm_write, perm_create, perm_unlink) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(right.xmlid.clone())
            .bind(right.model)
            .bind(right.group)
            .bind(true)
            .bind(read)
            .bind(write)
            .bind(create)
            .bind(unlink),
        )
        .await?;
    }
    Ok(())
}

/// Who may see and revoke API keys (Odoo's rules for `res.users.apikeys`):
/// internal users their own, administrators everybody's. Nobody creates or
/// changes one through the ORM: keys are made by `pulse apikey`, which
/// alone sees the key.
async fn api_key_rights(
    conn: &mut Connection,
    user_group: i64,
    admin_group: i64,
) -> Result<(), Error> {
    let model = crate::auth::API_KEY_MODEL;
    let rights = [
        ("access_res_users_apikeys_user", user_group),
        ("access_res_users_apikeys_admin", admin_group),
    ]
    .map(|(xmlid, group)| AccessRight {
        xmlid: xmlid.to_string(),
        model,
        group,
        perms: [true, false, false, true],
    });
    seed_access_rights(conn, &rights).await?;
    for (xmlid, name, domain, group) in [
        (
            "api_key_user_rule",
            "res.users.apikeys: own keys",
            r#"[["user_id", "=", {"user": "id"}]]"#,
            user_group,
        ),
        (
            "api_key_admin_rule",
            "res.users.apikeys: all keys",
            "[]",
            admin_group,
        ),
    ] {
        let (rule, created) = seed(
            conn,
            xmlid,
            "ir.rule",
            sqlx::query(
                "INSERT INTO ir_rule (name, model, domain_force, active, perm_read, perm_write, perm_create, perm_unlink) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(name)
            .bind(model)
            .bind(domain)
            .bind(true)
            .bind(true)
            .bind(true)
            .bind(true)
            .bind(true),
        )
        .await?;
        if created {
            link(conn, "ir_rule_res_groups_rel", "ir_rule_id", rule, group).await?;
        }
    }
    Ok(())
}

/// Full rights on `models` for administrators (`base.group_system`) and
/// none for anyone else, as Odoo gives them on its outbox and mail servers.
async fn admin_rights(
    conn: &mut Connection,
    admin_group: i64,
    models: &[&str],
) -> Result<(), Error> {
    let rights: Vec<AccessRight> = models
        .iter()
        .map(|model| AccessRight {
            xmlid: format!("access_{}_system", pulse_orm::table_name(model)),
            model,
            group: admin_group,
            perms: [true; 4],
        })
        .collect();
    seed_access_rights(conn, &rights).await
}

/// Adds `group` to the groups of the record `id` through the many2many
/// table `relation`, whose column `own` holds the record's id (the other
/// column is `res_groups_id`, or `implied_ids_id` for implied groups).
async fn link(
    conn: &mut Connection,
    relation: &str,
    own: &str,
    id: i64,
    group: i64,
) -> Result<(), Error> {
    let other = if own == "res_groups_id" {
        "implied_ids_id"
    } else {
        "res_groups_id"
    };
    sqlx::query(&format!(
        "INSERT INTO {relation} ({own}, {other}) VALUES ($1, $2)"
    ))
    .bind(id)
    .bind(group)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The id of the base record `base.<xmlid>`, and whether `insert` (a
/// query answering the new record's id) just created it because it was
/// not there yet. Base records are `noupdate`: what an admin changes stays.
async fn seed<'q>(
    conn: &mut Connection,
    xmlid: &str,
    model: &str,
    insert: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<(i64, bool), Error> {
    if let Some(known) = ledger::external_id(conn, BASE, xmlid).await? {
        return Ok((known.res_id, false));
    }
    let id: i64 = sqlx::Row::try_get(&insert.fetch_one(&mut *conn).await?, 0)?;
    ledger::add_external_id(conn, BASE, xmlid, model, id, true).await?;
    Ok((id, true))
}
