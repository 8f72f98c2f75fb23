//! Who may do what, as Odoo decides it: access rights per model and group
//! (`ir.model.access`, a pure union) and record rules (`ir.rule`: global
//! rules AND-ed, group rules OR-ed, the two AND-ed). The superuser
//! (`admin`, id 1) bypasses both.
//!
//! The checks sit at the doors: every RPC call of an ORM method and every
//! ORM operation addon code makes goes through [`Access::restrict`] (for
//! searches) or [`Access::guard`] (for records named by id). A search
//! reaches other models through relations as a search of those models
//! would: their read right and rules apply inside the subquery (see
//! `pulse_orm::Comodels`). What is read through relations is filtered
//! by [`Access::hide_unseen`]: x2many ids by the target's rules, many2one
//! display names of records the user may not read. What the ORM does
//! internally on the caller's behalf (computed fields, cascades, related
//! fields) is not checked again, as in Odoo.
//!
//! Rule domains are JSON domains. A value `{"user": "field"}` stands for
//! that field of the current user (`{"user": "id"}` for the user id), e.g.
//! `[["agency_id", "=", {"user": "agency_id"}]]`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use pulse_orm::{
    Comodel, Comodels, Connection, Domain, Orm, OrmError, Record, Registry, SearchOptions, bool_at,
};
use pulse_schema::{Exception, FieldType};
use serde_json::{Value, json};
use sqlx::Row;

use crate::base::SUPERUSER_ID;

/// Ids per `id IN (…)` search when checking which records a user sees.
const ID_CHUNK: usize = 1000;

/// The four operations access rights and record rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `perm_read`.
    Read,
    /// `perm_write`.
    Write,
    /// `perm_create`.
    Create,
    /// `perm_unlink`.
    Unlink,
}

impl Mode {
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Read => "read",
            Mode::Write => "write",
            Mode::Create => "create",
            Mode::Unlink => "unlink",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Mode::Read => "access",
            Mode::Write => "modify",
            Mode::Create => "create",
            Mode::Unlink => "delete",
        }
    }
}

#[derive(Debug, Clone)]
struct AclRow {
    model: String,
    group: Option<i64>,
    perms: [bool; 4],
}

#[derive(Debug, Clone)]
struct RuleRow {
    model: String,
    domain: Value,
    perms: [bool; 4],
    groups: Vec<i64>,
}

/// What one user may do. Loaded once per request.
#[derive(Debug, Default)]
pub struct Access {
    /// The user.
    pub uid: i64,
    login: String,
    superuser: bool,
    groups: BTreeSet<i64>,
    group_names: HashMap<i64, String>,
    acl: Vec<AclRow>,
    rules: Vec<RuleRow>,
    /// The user's field values that rule domains asked for.
    user_values: Mutex<HashMap<String, Value>>,
    /// For an addon acting on its own (see [`Access::for_addon`]): the
    /// models of its dependency graph, on which neither access rights nor
    /// record rules bind it.
    addon_models: std::collections::HashSet<String>,
}

impl Access {
    /// The superuser: no checks.
    pub fn superuser() -> Arc<Access> {
        Arc::new(Access {
            uid: SUPERUSER_ID,
            login: "admin".into(),
            superuser: true,
            ..Access::default()
        })
    }

    /// Whether no check applies.
    pub fn is_superuser(&self) -> bool {
        self.superuser
    }

    /// Loads the groups (with the groups they imply), access rights and
    /// record rules that apply to user `uid`.
    #[crate::boxed]
    pub async fn load(conn: &mut Connection, uid: i64) -> Result<Arc<Access>, OrmError> {
        if uid == SUPERUSER_ID {
            return Ok(Access::superuser());
        }
        Access::of_user(conn, uid).await
    }

    /// What the groups of user `uid` (the superuser's too) give, as if no
    /// user were above the checks.
    pub(crate) async fn of_user(conn: &mut Connection, uid: i64) -> Result<Arc<Access>, OrmError> {
        let login: String = sqlx::query("SELECT login FROM res_users WHERE id = $1")
            .bind(uid)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?
            .unwrap_or_default();
        let groups: BTreeSet<i64> = sqlx::query(
            "SELECT res_groups_id FROM res_groups_res_users_rel WHERE res_users_id = $1",
        )
        .bind(uid)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        Access::of_groups(conn, uid, login, groups, Default::default()).await
    }

    /// The rights of addon code that runs on its own, with no user behind
    /// it: lifecycle hooks, the computations and checks its data files
    /// trigger, and its cron jobs. It is no superuser (only the `sudo`
    /// grant makes it one, for the code inside `env.sudo`): it acts as a
    /// user in every group the addons of its dependency graph define,
    /// with no rights or rules binding it on the models of that graph
    /// (`models`, which the host's own models are not). On the host's
    /// models (users, groups, rights, rules, system parameters, …) only
    /// what those groups are granted applies, so code may not read what
    /// the addon's most trusted users may not. Its user id is
    /// [`crate::base::PUBLIC_UID`]: no user, so rules about "my own
    /// records" match none.
    #[crate::boxed]
    pub async fn for_addon(
        conn: &mut Connection,
        addon: &str,
        graph: &BTreeSet<String>,
        models: std::collections::HashSet<String>,
    ) -> Result<Arc<Access>, OrmError> {
        let mut groups = BTreeSet::new();
        for (module, group) in pulse_orm::ledger::external_ids_of_model(conn, "res.groups").await? {
            if module != crate::base::BASE && graph.contains(&module) {
                groups.insert(group);
            }
        }
        Access::of_groups(
            conn,
            crate::base::PUBLIC_UID,
            format!("addon {addon}"),
            groups,
            models,
        )
        .await
    }

    /// The rights of a member of `groups` (and of the groups they imply).
    async fn of_groups(
        conn: &mut Connection,
        uid: i64,
        login: String,
        mut groups: BTreeSet<i64>,
        addon_models: std::collections::HashSet<String>,
    ) -> Result<Arc<Access>, OrmError> {
        let implied = crate::people::implied_groups(conn).await?;
        crate::people::with_implied(&implied, &mut groups);
        let group_names = pulse_orm::pairs(conn, "SELECT id, name FROM res_groups")
            .await?
            .into_iter()
            .collect();
        let perms = |row: &sqlx::any::AnyRow, first: usize| -> Result<[bool; 4], sqlx::Error> {
            let mut out = [false; 4];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = bool_at(row, first + i)?.unwrap_or(false);
            }
            Ok(out)
        };
        let mut acl = Vec::new();
        for row in sqlx::query(
            "SELECT model, group_id, perm_read, perm_write, perm_create, perm_unlink, active FROM ir_model_access",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            if bool_at(&row, 6)?.unwrap_or(false) {
                acl.push(AclRow {
                    model: row.try_get(0)?,
                    group: row.try_get(1)?,
                    perms: perms(&row, 2)?,
                });
            }
        }
        let mut rule_groups: HashMap<i64, Vec<i64>> = HashMap::new();
        let links = "SELECT ir_rule_id, res_groups_id FROM ir_rule_res_groups_rel";
        for (rule, group) in pulse_orm::pairs(conn, links).await? {
            rule_groups.entry(rule).or_default().push(group);
        }
        let mut rules = Vec::new();
        for row in sqlx::query(
            "SELECT id, model, domain_force, perm_read, perm_write, perm_create, perm_unlink, active, name FROM ir_rule",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            if !bool_at(&row, 7)?.unwrap_or(false) {
                continue;
            }
            let id: i64 = row.try_get(0)?;
            let text: Option<String> = row.try_get(2)?;
            let domain = match text.as_deref().map(str::trim) {
                None | Some("") => json!([]),
                Some(text) => serde_json::from_str(text).map_err(|e| {
                    let name: String = row.try_get(8).unwrap_or_default();
                    OrmError::validation(format!("record rule '{name}' has an invalid domain: {e}"))
                })?,
            };
            rules.push(RuleRow {
                model: row.try_get(1)?,
                domain,
                perms: perms(&row, 3)?,
                groups: rule_groups.remove(&id).unwrap_or_default(),
            });
        }
        Ok(Arc::new(Access {
            uid,
            login,
            superuser: false,
            groups,
            group_names,
            acl,
            rules,
            user_values: Mutex::new(HashMap::new()),
            addon_models,
        }))
    }

    /// The groups the user is in, with the groups they imply (none for
    /// the superuser, whom no group limits).
    pub fn group_ids(&self) -> &BTreeSet<i64> {
        &self.groups
    }

    /// Odoo's access rights: may the user `mode` records of `model` at all?
    pub fn check_model(
        &self,
        registry: &Registry,
        model: &str,
        mode: Mode,
    ) -> Result<(), OrmError> {
        if mode != Mode::Read && crate::base::LEDGER_MODELS.contains(&model) {
            return Err(OrmError::access(format!(
                "You are not allowed to {} '{model}' records: the host keeps them itself (they change with the Apps lifecycle)",
                mode.verb()
            )));
        }
        if self.superuser || self.addon_models.contains(model) {
            return Ok(());
        }
        let rows: Vec<&AclRow> = self
            .acl
            .iter()
            .filter(|r| r.model == model && r.perms[mode.index()])
            .collect();
        if rows
            .iter()
            .any(|r| r.group.is_none_or(|g| self.groups.contains(&g)))
        {
            return Ok(());
        }
        let description = registry
            .get(model)
            .map(|m| m.description.clone())
            .unwrap_or_else(|| model.to_string());
        let mut allowed: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.group.and_then(|g| self.group_names.get(&g)))
            .map(String::as_str)
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        let groups = if allowed.is_empty() {
            "No group currently allows this operation.".to_string()
        } else {
            format!(
                "This operation is allowed for the following groups:\n{}",
                allowed
                    .iter()
                    .map(|g| format!("\t- {g}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        };
        Err(OrmError::access(format!(
            "You are not allowed to {} '{description}' ({model}) records.\n\n{groups}\n\nContact your administrator to request access if necessary.",
            mode.verb()
        )))
    }

    /// The record rules' domain for `mode` on `model`, or `None` when no
    /// rule applies.
    async fn rule_domain(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        model: &str,
        mode: Mode,
    ) -> Result<Option<Domain>, OrmError> {
        if self.superuser || self.addon_models.contains(model) {
            return Ok(None);
        }
        let mut global: Option<Domain> = None;
        let mut by_group: Option<Domain> = None;
        for rule in self
            .rules
            .iter()
            .filter(|r| r.model == model && r.perms[mode.index()])
        {
            let is_global = rule.groups.is_empty();
            if !is_global && !rule.groups.iter().any(|g| self.groups.contains(g)) {
                continue;
            }
            let value = self.substitute(conn, orm, &rule.domain).await?;
            let domain = Domain::parse(&value)?;
            if is_global {
                global = Some(match global {
                    Some(d) => d.and(&domain),
                    None => domain,
                });
            } else {
                by_group = Some(match by_group {
                    Some(d) => d.or(&domain),
                    None => domain,
                });
            }
        }
        Ok(match (global, by_group) {
            (Some(g), Some(b)) => Some(g.and(&b)),
            (g, b) => g.or(b),
        })
    }

    /// `domain` with each `{"user": "field"}` replaced by the user's value.
    async fn substitute(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        domain: &Value,
    ) -> Result<Value, OrmError> {
        Ok(match domain {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(Box::pin(self.substitute(conn, orm, item)).await?);
                }
                Value::Array(out)
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("user") => {
                let field = map["user"].as_str().unwrap_or_default();
                self.user_value(conn, orm, field).await?
            }
            other => other.clone(),
        })
    }

    async fn user_value(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        field: &str,
    ) -> Result<Value, OrmError> {
        if field == "id" {
            return Ok(json!(self.uid));
        }
        if let Some(value) = self.user_values.lock().expect("user values").get(field) {
            return Ok(value.clone());
        }
        let mut records = orm
            .read(conn, "res.users", &[self.uid], &[field.to_string()])
            .await?;
        let value = match records.pop().and_then(|mut r| r.remove(field)) {
            // A many2one reads as [id, name]: rules compare ids.
            Some(Value::Array(pair))
                if pair.len() == 2 && pair[1].is_string() && pair[0].is_i64() =>
            {
                pair[0].clone()
            }
            Some(value) => value,
            None => Value::Bool(false),
        };
        self.user_values
            .lock()
            .expect("user values")
            .insert(field.to_string(), value.clone());
        Ok(value)
    }

    /// `domain` narrowed to the records the user may `mode` (a search),
    /// after checking the user may `mode` the model at all.
    #[crate::boxed]
    pub async fn restrict(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        model: &str,
        mode: Mode,
        domain: Domain,
    ) -> Result<Domain, OrmError> {
        self.check_model(orm.registry(), model, mode)?;
        if self.superuser {
            return Ok(domain);
        }
        // The models the domain reaches through relations: searched as the
        // user would search them (Odoo's comodel `_search`), so a leaf such
        // as `user_id.login` needs read access to res.users and matches
        // only the users the rules let this user see.
        let model_def = orm.registry().require(model)?.clone();
        let mut comodels = Comodels::default();
        for comodel in domain.comodels(orm.registry(), &model_def)? {
            let seen = match self.check_model(orm.registry(), &comodel, Mode::Read) {
                Err(OrmError::Raised(Exception::Access(message))) => Comodel::Denied(message),
                Err(e) => return Err(e),
                Ok(()) => {
                    Comodel::Visible(self.rule_domain(conn, orm, &comodel, Mode::Read).await?)
                }
            };
            comodels.insert(&comodel, seen);
        }
        let domain = domain.restricted(comodels);
        Ok(match self.rule_domain(conn, orm, model, mode).await? {
            Some(rule) => domain.and(&rule),
            None => domain,
        })
    }

    /// Of the records `ids` of `model`, those the user's read rules let
    /// them see.
    async fn within_rules(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        model: &str,
        ids: &BTreeSet<i64>,
    ) -> Result<BTreeSet<i64>, OrmError> {
        if self.superuser || ids.is_empty() {
            return Ok(ids.clone());
        }
        let Some(rule) = self.rule_domain(conn, orm, model, Mode::Read).await? else {
            return Ok(ids.clone());
        };
        let ids: Vec<i64> = ids.iter().copied().collect();
        let mut seen = BTreeSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let wanted = Domain::parse(&json!([["id", "in", chunk]]))?;
            seen.extend(
                orm.search(conn, model, &wanted.and(&rule), &SearchOptions::default())
                    .await?,
            );
        }
        Ok(seen)
    }

    /// Hides in `records` (read from `model`, keyed by field name or, for
    /// `read_group`, by group-by spec) what the user may not see through
    /// relations: a many2one to a record they may not read keeps its id but
    /// shows Odoo's neutral name `model,id` instead of the record's own (Odoo
    /// reads display names as superuser; Pulse does not), and x2many lists
    /// keep only the records the comodel's rules let them see (as Odoo's
    /// x2many read applies them).
    #[crate::boxed]
    pub async fn hide_unseen(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        model: &str,
        records: &mut [Record],
    ) -> Result<(), OrmError> {
        if self.superuser || records.is_empty() {
            return Ok(());
        }
        let model_def = orm.registry().require(model)?.clone();
        let keys: BTreeSet<String> = records.iter().flat_map(|r| r.keys().cloned()).collect();
        for key in keys {
            // A group-by spec such as `agency_id` or `date:month`.
            let name = key.split(':').next().unwrap_or_default();
            let Some(field) = model_def.field(name) else {
                continue;
            };
            let Some(relation) = field.spec.relation.as_deref() else {
                continue;
            };
            let many2one = field.ttype() == FieldType::Many2one;
            let mut ids = BTreeSet::new();
            for record in records.iter() {
                match record.get(&key) {
                    Some(Value::Array(pair)) if many2one => {
                        ids.extend(pair.first().and_then(Value::as_i64))
                    }
                    Some(Value::Array(list)) => ids.extend(list.iter().filter_map(Value::as_i64)),
                    _ => {}
                }
            }
            if ids.is_empty() {
                continue;
            }
            // A many2one shows the name only of a record the user may read
            // (access rights and record rules); x2many lists keep the
            // records the comodel's rules let them see.
            let seen = if many2one
                && self
                    .check_model(orm.registry(), relation, Mode::Read)
                    .is_err()
            {
                BTreeSet::new()
            } else {
                self.within_rules(conn, orm, relation, &ids).await?
            };
            if seen.len() == ids.len() {
                continue;
            }
            for record in records.iter_mut() {
                match record.get_mut(&key) {
                    Some(Value::Array(pair)) if many2one => {
                        if let Some(id) = pair.first().and_then(Value::as_i64)
                            && !seen.contains(&id)
                            && pair.len() == 2
                        {
                            pair[1] = Value::String(format!("{relation},{id}"));
                        }
                    }
                    Some(Value::Array(list)) => {
                        list.retain(|v| v.as_i64().is_none_or(|id| seen.contains(&id)));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Checks the user may `mode` the records `ids` of `model`: the model's
    /// access rights, then its record rules for each record that exists.
    #[crate::boxed]
    pub async fn guard(
        &self,
        conn: &mut Connection,
        orm: &Orm,
        model: &str,
        mode: Mode,
        ids: &[i64],
    ) -> Result<(), OrmError> {
        self.check_model(orm.registry(), model, mode)?;
        if ids.is_empty() {
            return Ok(());
        }
        let Some(rule) = self.rule_domain(conn, orm, model, mode).await? else {
            return Ok(());
        };
        let wanted = Domain::parse(&json!([["id", "in", ids]]))?;
        let allowed: BTreeSet<i64> = orm
            .search(conn, model, &wanted.and(&rule), &SearchOptions::default())
            .await?
            .into_iter()
            .collect();
        let existing = orm.exists(conn, model, ids).await?;
        let refused: Vec<i64> = existing
            .into_iter()
            .filter(|id| !allowed.contains(id))
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        let description = orm
            .registry()
            .get(model)
            .map(|m| m.description.clone())
            .unwrap_or_default();
        Err(OrmError::access(format!(
            "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\n\
             Sorry, {} (id={}) doesn't have '{}' access to:\n- {description} ({model})\n\n\
             If you really, really need access, perhaps you can win over your friendly administrator with a batch of freshly baked cookies.",
            self.login,
            self.uid,
            mode.name()
        )))
    }
}

/// Who `access` acts for, as an addon sees it: the uid, the external ids
/// of its groups, and the company (`company`, the context's, or else the
/// database's main company).
pub(crate) async fn user_of(
    conn: &mut Connection,
    access: &Access,
    company: Option<i64>,
) -> Result<pulse_runtime::User, OrmError> {
    let mut groups: Vec<String> =
        pulse_orm::ledger::named_external_ids_of_model(conn, "res.groups")
            .await?
            .into_iter()
            .filter(|(_, id)| access.groups.contains(id))
            .map(|(name, _)| name)
            .collect();
    groups.sort();
    let company_id = match company {
        Some(id) => Some(id),
        None => pulse_orm::ledger::external_id(conn, crate::base::BASE, "main_company")
            .await?
            .map(|found| found.res_id),
    };
    Ok(pulse_runtime::User {
        uid: access.uid,
        groups,
        company_id,
    })
}
