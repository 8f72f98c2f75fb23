//! The models every database has before any addon is installed, owned by
//! the pseudo-addon `base`: users, groups, access rights and record rules.
//! Addons extend them (`#[model(extends = "res.users")]`) and fill them
//! through data files, as Odoo modules do.

use pulse_orm::{Connection, Dialect, Registry, ledger};
use pulse_schema::{Description, FieldSpec, FieldType, ModelSpec, OnDelete};
use serde_json::json;

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

/// Groups every database has, by external id (`base.<name>`).
pub const BASE_GROUPS: [(&str, &str); 2] = [
    ("group_user", "Internal User"),
    ("group_system", "Administration / Settings"),
];

/// The currencies every database starts with (code, symbol), by their
/// external ids `base.<code>`; the company's currency first.
const CURRENCIES: [(&str, &str); 2] = [("PHP", "\u{20b1}"), ("USD", "$")];

fn field(name: &str, ttype: FieldType) -> FieldSpec {
    let mut spec = FieldSpec::new(name, ttype);
    spec.string = name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    spec
}

fn required(mut spec: FieldSpec) -> FieldSpec {
    spec.required = true;
    spec
}

fn unique(mut spec: FieldSpec) -> FieldSpec {
    spec.unique = true;
    spec
}

fn relation(mut spec: FieldSpec, model: &str) -> FieldSpec {
    spec.relation = Some(model.to_string());
    spec
}

fn default(mut spec: FieldSpec, value: serde_json::Value) -> FieldSpec {
    spec.default = Some(value);
    spec
}

/// A selection whose values are their own labels.
fn selection(mut spec: FieldSpec, values: &[&str]) -> FieldSpec {
    spec.selection = values
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    spec
}

/// A selection with Odoo's labels.
fn labelled(mut spec: FieldSpec, values: &[(&str, &str)]) -> FieldSpec {
    spec.selection = values
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    spec
}

/// A many2one whose record goes when the one it points to goes.
fn cascade(mut spec: FieldSpec) -> FieldSpec {
    spec.ondelete = Some(OnDelete::Cascade);
    spec
}

/// Odoo's `active` field (archiving), set for a new record.
fn active() -> FieldSpec {
    default(field("active", FieldType::Boolean), json!(true))
}

fn model(name: &str, description: &str, fields: Vec<FieldSpec>) -> ModelSpec {
    ModelSpec {
        name: name.to_string(),
        description: description.to_string(),
        fields,
        extends: false,
        checks: Vec::new(),
    }
}

/// The outbox (Odoo's `mail.mail`), sent by `crate::mail`.
pub const MAIL_MODEL: &str = "mail.mail";
/// The SMTP servers the admin configured.
pub const SERVER_MODEL: &str = "ir.mail_server";
/// Files, such as a message's attachments.
pub const ATTACHMENT_MODEL: &str = "ir.attachment";

/// The models only administrators (`base.group_system`) may use, as in Odoo.
const ADMIN_MODELS: [&str; 3] = [MAIL_MODEL, SERVER_MODEL, ATTACHMENT_MODEL];

/// `mail.mail`, with Odoo's field names; `scheduled_date` holds the next
/// try of a message that failed, `failure_count` (Pulse's own) the tries
/// that failed.
pub(crate) fn mail_model() -> ModelSpec {
    let mut state = labelled(
        default(field("state", FieldType::Selection), json!("outgoing")),
        &[
            ("outgoing", "Outgoing"),
            ("sent", "Sent"),
            ("received", "Received"),
            ("exception", "Delivery Failed"),
            ("cancel", "Cancelled"),
        ],
    );
    state.copy = Some(false);
    let mut server = relation(field("mail_server_id", FieldType::Many2one), SERVER_MODEL);
    server.ondelete = Some(OnDelete::SetNull);
    model(
        MAIL_MODEL,
        "Outgoing Mails",
        vec![
            field("email_from", FieldType::Char),
            field("email_to", FieldType::Text),
            field("email_cc", FieldType::Char),
            field("subject", FieldType::Char),
            field("body_html", FieldType::Html),
            relation(
                field("attachment_ids", FieldType::Many2many),
                ATTACHMENT_MODEL,
            ),
            state,
            field("failure_reason", FieldType::Text),
            server,
            field("auto_delete", FieldType::Boolean),
            field("scheduled_date", FieldType::Datetime),
            field("failure_count", FieldType::Integer),
        ],
    )
}

/// The description of `base`. Passwords and API keys are no fields: they
/// are never readable through the ORM.
pub fn description() -> Description {
    let perms = |default_on: bool| {
        ["perm_read", "perm_write", "perm_create", "perm_unlink"]
            .map(|p| default(field(p, FieldType::Boolean), json!(default_on)))
    };
    let mut access_fields = vec![
        required(field("name", FieldType::Char)),
        required(field("model", FieldType::Char)),
        cascade(relation(
            field("group_id", FieldType::Many2one),
            "res.groups",
        )),
        active(),
    ];
    access_fields.extend(perms(false));
    let mut rule_fields = vec![
        required(field("name", FieldType::Char)),
        required(field("model", FieldType::Char)),
        field("domain_force", FieldType::Json),
        relation(field("groups", FieldType::Many2many), "res.groups"),
        active(),
    ];
    rule_fields.extend(perms(true));
    let login = unique(required(field("login", FieldType::Char)));
    Description {
        models: vec![
            model(
                "res.groups",
                "Access Groups",
                vec![
                    required(field("name", FieldType::Char)),
                    relation(field("implied_ids", FieldType::Many2many), "res.groups"),
                ],
            ),
            model(
                "res.users",
                "User",
                vec![
                    login,
                    required(field("name", FieldType::Char)),
                    active(),
                    relation(field("groups_id", FieldType::Many2many), "res.groups"),
                ],
            ),
            {
                // The key itself is no field: only its digest is stored,
                // and nothing reads it but the login check.
                let user_id = cascade(required(relation(
                    field("user_id", FieldType::Many2one),
                    "res.users",
                )));
                model(
                    crate::auth::API_KEY_MODEL,
                    "Users API Keys",
                    vec![
                        required(field("name", FieldType::Char)),
                        user_id,
                        field("scope", FieldType::Char),
                        field("create_date", FieldType::Datetime),
                        field("expiration_date", FieldType::Datetime),
                    ],
                )
            },
            model("ir.model.access", "Model Access", access_fields),
            model("ir.rule", "Record Rule", rule_fields),
            model(
                "res.partner",
                "Contact",
                vec![
                    required(field("name", FieldType::Char)),
                    field("email", FieldType::Char),
                    field("phone", FieldType::Char),
                    field("street", FieldType::Char),
                    field("city", FieldType::Char),
                    field("zip", FieldType::Char),
                    field("vat", FieldType::Char),
                    field("is_company", FieldType::Boolean),
                    active(),
                    field("comment", FieldType::Text),
                ],
            ),
            model(
                MODULE_MODEL,
                "Module",
                vec![
                    required(field("name", FieldType::Char)),
                    field("shortdesc", FieldType::Char),
                    field("summary", FieldType::Text),
                    field("author", FieldType::Char),
                    field("application", FieldType::Boolean),
                    selection(
                        field("state", FieldType::Selection),
                        &[
                            "uninstallable",
                            "uninstalled",
                            "installed",
                            "to upgrade",
                            "to remove",
                            "to install",
                        ],
                    ),
                    field("latest_version", FieldType::Char),
                    field("installed_version", FieldType::Char),
                    field("depends", FieldType::Json),
                    field("sequence", FieldType::Integer),
                ],
            ),
            model(
                "ir.cron",
                "Scheduled Actions",
                vec![
                    required(field("name", FieldType::Char)),
                    required(field("model", FieldType::Char)),
                    required(field("method", FieldType::Char)),
                    default(field("interval_number", FieldType::Integer), json!(1)),
                    selection(
                        default(
                            field("interval_type", FieldType::Selection),
                            json!("months"),
                        ),
                        &["seconds", "minutes", "hours", "days", "weeks", "months"],
                    ),
                    field("nextcall", FieldType::Datetime),
                    field("lastcall", FieldType::Datetime),
                    default(field("priority", FieldType::Integer), json!(5)),
                    active(),
                    field("failure_count", FieldType::Integer),
                    field("first_failure_date", FieldType::Datetime),
                    // Pulse's own: the key of the job the owning addon
                    // exports (`#[cron]`), called through its `cron.run`
                    // export instead of `model.method`.
                    field("job", FieldType::Char),
                ],
            ),
            model(
                ATTACHMENT_MODEL,
                "Attachment",
                vec![
                    required(field("name", FieldType::Char)),
                    field("datas", FieldType::Binary),
                    field("mimetype", FieldType::Char),
                    field("res_model", FieldType::Char),
                    field("res_id", FieldType::Integer),
                ],
            ),
            model(
                SERVER_MODEL,
                "Mail Server",
                vec![
                    required(field("name", FieldType::Char)),
                    required(field("smtp_host", FieldType::Char)),
                    default(field("smtp_port", FieldType::Integer), json!(25)),
                    field("smtp_user", FieldType::Char),
                    field("smtp_pass", FieldType::Char),
                    labelled(
                        default(
                            field("smtp_encryption", FieldType::Selection),
                            json!("none"),
                        ),
                        &[
                            ("none", "None"),
                            ("starttls", "TLS (STARTTLS)"),
                            ("ssl", "SSL/TLS"),
                        ],
                    ),
                    default(field("sequence", FieldType::Integer), json!(10)),
                    active(),
                ],
            ),
            mail_model(),
            model(
                "res.currency",
                "Currency",
                vec![
                    unique(required(field("name", FieldType::Char))),
                    field("symbol", FieldType::Char),
                    default(field("rounding", FieldType::Float), json!(0.01)),
                    active(),
                ],
            ),
            model(
                "res.company",
                "Company",
                vec![
                    required(field("name", FieldType::Char)),
                    relation(field("currency_id", FieldType::Many2one), "res.currency"),
                    field("vat", FieldType::Char),
                    field("street", FieldType::Char),
                    field("city", FieldType::Char),
                ],
            ),
            model(
                "ir.config_parameter",
                "System Parameter",
                vec![
                    unique(required(field("key", FieldType::Char))),
                    required(field("value", FieldType::Text)),
                ],
            ),
            model(
                "ir.ui.view",
                "View",
                vec![
                    required(field("name", FieldType::Char)),
                    required(field("model", FieldType::Char)),
                    selection(
                        required(field("type", FieldType::Selection)),
                        &["list", "form", "search", "kanban", "pivot", "graph"],
                    ),
                    required(field("arch", FieldType::Text)),
                    default(field("priority", FieldType::Integer), json!(16)),
                    active(),
                ],
            ),
            model(
                "ir.model",
                "Models",
                vec![
                    required(field("model", FieldType::Char)),
                    field("name", FieldType::Char),
                    field("module", FieldType::Char),
                ],
            ),
            model(
                "ir.model.fields",
                "Fields",
                vec![
                    required(field("model", FieldType::Char)),
                    required(field("name", FieldType::Char)),
                    field("ttype", FieldType::Char),
                    field("module", FieldType::Char),
                ],
            ),
            model(
                "ir.model.data",
                "Model Data",
                vec![
                    required(field("module", FieldType::Char)),
                    required(field("name", FieldType::Char)),
                    field("model", FieldType::Char),
                    field("res_id", FieldType::Integer),
                    field("noupdate", FieldType::Boolean),
                ],
            ),
        ],
        ..Description::default()
    }
}

/// Applies `base` to a registry being built.
pub fn apply(registry: &mut Registry) -> Result<(), Error> {
    for spec in description().models {
        registry.apply(&spec, BASE)?;
    }
    Ok(())
}

/// The models of `base` addon code may use (all but the module records).
pub fn model_names() -> Vec<String> {
    description()
        .models
        .into_iter()
        .map(|m| m.name)
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
    for spec in description().models {
        let model = registry.require(&spec.name)?;
        if !pulse_orm::table_exists(conn, dialect, &model.table).await? {
            pulse_orm::create_table(conn, dialect, model).await?;
        }
        for field in model.fields() {
            if field.ttype() == FieldType::Many2many {
                pulse_orm::create_relation_table(conn, model, field).await?;
            }
        }
        if !ledger::has_model(conn, &model.name).await? {
            ledger::record_model_row(conn, model, BASE).await?;
        }
    }
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
        sqlx::query("INSERT INTO res_company (name, currency_id) VALUES ($1, $2) RETURNING id")
            .bind("My Company")
            .bind(currencies[0]),
    )
    .await?;
    let mut groups = Vec::new();
    for (xmlid, name) in BASE_GROUPS {
        let (id, created) = seed(
            conn,
            xmlid,
            "res.groups",
            sqlx::query("INSERT INTO res_groups (name) VALUES ($1) RETURNING id").bind(name),
        )
        .await?;
        if created {
            sqlx::query(
                "INSERT INTO res_groups_res_users_rel (res_users_id, res_groups_id) VALUES ($1, $2)",
            )
            .bind(SUPERUSER_ID)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        groups.push(id);
    }
    api_key_rights(conn, groups[0], groups[1]).await?;
    admin_rights(conn, groups[1], &ADMIN_MODELS).await?;
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
    for (xmlid, group) in [
        ("access_res_users_apikeys_user", user_group),
        ("access_res_users_apikeys_admin", admin_group),
    ] {
        seed(
            conn,
            xmlid,
            "ir.model.access",
            sqlx::query(
                "INSERT INTO ir_model_access (name, model, group_id, active, perm_read, perm_write, perm_create, perm_unlink) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(xmlid)
            .bind(model)
            .bind(group)
            .bind(true)
            .bind(true)
            .bind(false)
            .bind(false)
            .bind(true),
        )
        .await?;
    }
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
            sqlx::query(
                "INSERT INTO ir_rule_res_groups_rel (ir_rule_id, res_groups_id) VALUES ($1, $2)",
            )
            .bind(rule)
            .bind(group)
            .execute(&mut *conn)
            .await?;
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
    for model in models {
        let xmlid = format!("access_{}_system", pulse_orm::table_name(model));
        seed(
            conn,
            &xmlid,
            "ir.model.access",
            sqlx::query(
                "INSERT INTO ir_model_access (name, model, group_id, active, perm_read, perm_write, perm_create, perm_unlink) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(xmlid.clone())
            .bind(*model)
            .bind(admin_group)
            .bind(true)
            .bind(true)
            .bind(true)
            .bind(true)
            .bind(true),
        )
        .await?;
    }
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
