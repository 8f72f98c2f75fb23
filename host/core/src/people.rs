//! What Odoo's people and companies do beyond their stored fields: a
//! partner's commercial entity and complete name (stored computed fields
//! the host computes itself), a user's `share`, and the partner every user
//! and company has (Odoo's `_inherits` on `res.users`, the related fields
//! of `res.company`): made with the record, and kept in step with it in
//! both directions. The table of special models (`model_methods`) gives
//! these their rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pulse_orm::{Connection, Orm, OrmError, Record, ledger};
use serde_json::{Value, json};
use sqlx::Row;

/// The pseudo-addon `base` (the `base` module's `BASE`, which seeds through this
/// module and so is not imported here), whose external ids name the main
/// company and the internal users' group.
const BASE: &str = "base";

/// The partners.
pub const PARTNER_MODEL: &str = "res.partner";
/// The users.
pub const USERS_MODEL: &str = "res.users";
/// The companies.
pub const COMPANY_MODEL: &str = "res.company";

/// Odoo's message for a parent cycle (`res.partner._check_parent_id`).
pub const RECURSIVE_PARTNERS: &str = "You cannot create recursive Partner hierarchies.";

/// How many parents up a partner's chain may go before it counts as a cycle.
const MAX_PARENTS: usize = 256;

/// The fields a user reads from its partner (Odoo's `_inherits`).
const USER_FIELDS: [&str; 4] = ["name", "email", "lang", "tz"];

/// The fields of a company that are its partner's (Odoo's related fields).
const COMPANY_FIELDS: [&str; 11] = [
    "name",
    "email",
    "phone",
    "website",
    "vat",
    "street",
    "street2",
    "zip",
    "city",
    "state_id",
    "country_id",
];

/// The partner types named in a contact's complete name when it has none.
const DISPLAYED_TYPES: [(&str, &str); 3] = [
    ("invoice", "Invoice"),
    ("delivery", "Delivery"),
    ("other", "Other"),
];

/// A record id in a value read (`id`, `[id, name]`, `false`).
fn id_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Array(pair) => pair.first().and_then(Value::as_i64),
        other => other.as_i64(),
    }
}

fn text_of(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The records `ids` of `model` with `fields`, by id.
async fn read(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    ids: &[i64],
    fields: &[&str],
) -> Result<HashMap<i64, Record>, OrmError> {
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let records = orm.read(conn, model, ids, &fields).await?;
    Ok(records
        .into_iter()
        .filter_map(|r| Some((r.get("id")?.as_i64()?, r)))
        .collect())
}

/// What the compute method `method` of a partner or user computes on `ids`.
#[crate::boxed]
pub async fn compute(
    conn: &mut Connection,
    orm: &Orm,
    method: &str,
    ids: &[i64],
) -> Result<Value, OrmError> {
    match method {
        "_compute_commercial_partner" => commercial_partners(conn, orm, ids).await,
        "_compute_complete_name" => complete_names(conn, orm, ids).await,
        _ => shares(conn, ids).await,
    }
}

/// `_compute_commercial_partner`: each partner's topmost company ancestor
/// (itself when it is a company), else its topmost ancestor. A parent
/// chain that comes back on itself is refused as Odoo refuses it.
async fn commercial_partners(
    conn: &mut Connection,
    orm: &Orm,
    ids: &[i64],
) -> Result<Value, OrmError> {
    // parent, is_company of every partner met on the way up.
    let mut known: HashMap<i64, (Option<i64>, bool)> = HashMap::new();
    let mut wanted: Vec<i64> = ids.to_vec();
    let mut answer = Vec::with_capacity(ids.len());
    for &id in ids {
        let mut chain = BTreeSet::new();
        let mut current = id;
        let mut company = None;
        loop {
            if !chain.insert(current) || chain.len() > MAX_PARENTS {
                return Err(OrmError::validation(RECURSIVE_PARTNERS));
            }
            if !known.contains_key(&current) {
                wanted.retain(|w| !known.contains_key(w));
                if !wanted.contains(&current) {
                    wanted.push(current);
                }
                for (found, record) in read(
                    conn,
                    orm,
                    PARTNER_MODEL,
                    &wanted,
                    &["parent_id", "is_company"],
                )
                .await?
                {
                    let parent = id_of(record.get("parent_id"));
                    let is_company = record
                        .get("is_company")
                        .is_some_and(pulse_schema::is_truthy);
                    known.insert(found, (parent, is_company));
                }
                wanted.clear();
            }
            let Some(&(parent, is_company)) = known.get(&current) else {
                if current == id {
                    break;
                }
                // A parent that does not exist, as a foreign key refuses it.
                return Err(OrmError::missing(format!(
                    "Record does not exist or has been deleted.\n(Record: res.partner({current},))"
                )));
            };
            if is_company && company.is_none() {
                company = Some(current);
            }
            match parent {
                Some(parent) => current = parent,
                None => break,
            }
        }
        answer.push(json!([id, company.unwrap_or(current)]));
    }
    Ok(Value::Array(answer))
}

/// `_compute_complete_name`: the name, after its company's for a contact
/// of a company ("Company, Contact"), as Odoo's `_get_complete_name`.
async fn complete_names(conn: &mut Connection, orm: &Orm, ids: &[i64]) -> Result<Value, OrmError> {
    let partners = read(
        conn,
        orm,
        PARTNER_MODEL,
        ids,
        &[
            "name",
            "is_company",
            "type",
            "parent_id",
            "commercial_partner_id",
        ],
    )
    .await?;
    let above: BTreeSet<i64> = partners
        .values()
        .flat_map(|p| {
            [
                id_of(p.get("parent_id")),
                id_of(p.get("commercial_partner_id")),
            ]
        })
        .flatten()
        .collect();
    let above: Vec<i64> = above.into_iter().collect();
    let names = read(conn, orm, PARTNER_MODEL, &above, &["name"]).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| names.get(&id))
            .map(|p| text_of(p.get("name")))
            .filter(|n| !n.is_empty())
    };
    let mut answer = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(partner) = partners.get(id) else {
            continue;
        };
        let mut name = text_of(partner.get("name"));
        let parent = id_of(partner.get("parent_id"));
        if parent.is_some() {
            let kind = text_of(partner.get("type"));
            if name.is_empty()
                && let Some((_, label)) = DISPLAYED_TYPES.iter().find(|(k, _)| *k == kind)
            {
                name = label.to_string();
            }
            if !partner
                .get("is_company")
                .is_some_and(pulse_schema::is_truthy)
            {
                let commercial = id_of(partner.get("commercial_partner_id")).filter(|c| c != id);
                let company = name_of(commercial)
                    .or_else(|| name_of(parent))
                    .unwrap_or_default();
                name = format!("{company}, {name}");
            }
        }
        answer.push(json!([id, name.trim()]));
    }
    Ok(Value::Array(answer))
}

/// The groups each user is in, with the groups they imply.
async fn users_groups(
    conn: &mut Connection,
    ids: &[i64],
) -> Result<BTreeMap<i64, BTreeSet<i64>>, OrmError> {
    let links: Vec<(i64, i64)> = pulse_orm::pairs(
        conn,
        "SELECT res_users_id, res_groups_id FROM res_groups_res_users_rel",
    )
    .await?;
    let implied = implied_groups(conn).await?;
    let mut groups: BTreeMap<i64, BTreeSet<i64>> =
        ids.iter().map(|id| (*id, BTreeSet::new())).collect();
    for (user, group) in links {
        if let Some(set) = groups.get_mut(&user) {
            set.insert(group);
        }
    }
    for set in groups.values_mut() {
        with_implied(&implied, set);
    }
    Ok(groups)
}

/// `_compute_share`: a user who is not an internal user (in
/// `base.group_user`, or a group implying it) is a share (portal or
/// public) user.
async fn shares(conn: &mut Connection, ids: &[i64]) -> Result<Value, OrmError> {
    let internal = ledger::external_id(conn, BASE, "group_user")
        .await?
        .map(|known| known.res_id);
    let groups = users_groups(conn, ids).await?;
    Ok(Value::Array(
        groups
            .into_iter()
            .map(|(id, groups)| json!([id, internal.is_none_or(|g| !groups.contains(&g))]))
            .collect(),
    ))
}

/// The values of `fields` in `values` (a create row or write values).
fn picked(values: &Record, fields: &[&str]) -> Record {
    values
        .iter()
        .filter(|(k, _)| fields.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Sets the columns `values` (of `fields`) on the rows of `table` whose
/// `key` column is in `keys`: a copy of the partner's values, written
/// directly (the copy's own model computes nothing from them).
async fn copy_columns(
    conn: &mut Connection,
    table: &str,
    key: &str,
    keys: &[i64],
    values: &Record,
) -> Result<(), OrmError> {
    if values.is_empty() || keys.is_empty() {
        return Ok(());
    }
    let names: Vec<&String> = values.keys().collect();
    let sets: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(n, name)| format!("\"{name}\" = ${}", n + 1))
        .collect();
    for id in keys {
        let sql = format!(
            "UPDATE \"{table}\" SET {} WHERE \"{key}\" = ${}",
            sets.join(", "),
            names.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for name in &names {
            // Text, or a record id (`[id, name]` as read); anything else is empty.
            query = match &values[name.as_str()] {
                Value::String(text) => query.bind(Some(text.clone())),
                other => match id_of(Some(other)) {
                    Some(id) => query.bind(Some(id)),
                    None if name.ends_with("_id") => query.bind(None::<i64>),
                    None => query.bind(None::<String>),
                },
            };
        }
        query.bind(*id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The partner of each of `ids` (a table with a `partner_id` column).
async fn partners_of(
    conn: &mut Connection,
    table: &str,
    ids: &[i64],
) -> Result<Vec<(i64, Option<i64>)>, OrmError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let partner: Option<i64> =
            sqlx::query(&format!("SELECT partner_id FROM \"{table}\" WHERE id = $1"))
                .bind(*id)
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?
                .flatten();
        out.push((*id, partner));
    }
    Ok(out)
}

/// Which fields a model shares with its partner, and its table.
fn delegated(model: &str) -> (&'static [&'static str], &'static str) {
    if model == USERS_MODEL {
        (&USER_FIELDS, "res_users")
    } else {
        (&COMPANY_FIELDS, "res_company")
    }
}

/// Gives each record `ids` of `model` (users or companies) created from
/// `rows` its partner: the one the row names, whose values it then reads,
/// or a new one made from the row's values.
#[crate::boxed]
pub async fn after_create(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    ids: &[i64],
    rows: &[Record],
) -> Result<(), OrmError> {
    let (fields, table) = delegated(model);
    for (id, row) in ids.iter().zip(rows) {
        let named = id_of(row.get("partner_id")).filter(|p| *p > 0);
        match named {
            Some(partner) => adopt_partner(conn, orm, model, &[*id], partner).await?,
            None => {
                let mut values = picked(row, fields);
                if model == COMPANY_MODEL {
                    values.insert("is_company".into(), true.into());
                }
                let partner = orm.create(conn, PARTNER_MODEL, &[values]).await?[0];
                sqlx::query(&format!(
                    "UPDATE \"{table}\" SET partner_id = $1 WHERE id = $2"
                ))
                .bind(partner)
                .bind(*id)
                .execute(&mut *conn)
                .await?;
            }
        }
        if model == USERS_MODEL {
            let company = match id_of(row.get("company_id")) {
                Some(company) => Some(company),
                None => {
                    let main = ledger::external_id(conn, BASE, "main_company")
                        .await?
                        .map(|known| known.res_id);
                    if let Some(main) = main {
                        sqlx::query("UPDATE res_users SET company_id = $1 WHERE id = $2")
                            .bind(main)
                            .bind(*id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    main
                }
            };
            if let Some(company) = company {
                allow_company(conn, *id, company).await?;
            }
        }
    }
    Ok(())
}

/// Copies the values `records` of `model` share with `partner` onto them.
async fn adopt_partner(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    records: &[i64],
    partner: i64,
) -> Result<(), OrmError> {
    let (fields, table) = delegated(model);
    let found = read(conn, orm, PARTNER_MODEL, &[partner], fields).await?;
    let Some(values) = found.get(&partner) else {
        return Err(OrmError::missing(format!(
            "Record does not exist or has been deleted.\n(Record: res.partner({partner},), User: 1)"
        )));
    };
    let values: Record = picked(values, fields)
        .into_iter()
        .filter(|(k, v)| !(k == "name" && v.as_str().is_none()))
        .collect();
    copy_columns(conn, table, "id", records, &values).await
}

/// Adds `company` to the companies user `uid` may use (a user's company
/// is always one of them, as Odoo requires).
async fn allow_company(conn: &mut Connection, uid: i64, company: i64) -> Result<(), OrmError> {
    let linked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM res_company_res_users_rel WHERE res_users_id = $1 AND res_company_id = $2",
    )
    .bind(uid)
    .bind(company)
    .fetch_one(&mut *conn)
    .await?;
    if linked == 0 {
        sqlx::query(
            "INSERT INTO res_company_res_users_rel (res_users_id, res_company_id) VALUES ($1, $2)",
        )
        .bind(uid)
        .bind(company)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// After a write on users or companies: a new partner's values are read
/// from it; shared values written go on to the partner (through the ORM,
/// so its computed fields follow); a user's company joins its companies.
#[crate::boxed]
pub async fn after_delegating_write(
    conn: &mut Connection,
    orm: &Orm,
    model: &str,
    ids: &[i64],
    values: &Record,
) -> Result<(), OrmError> {
    let (fields, _) = delegated(model);
    if let Some(partner) = id_of(values.get("partner_id")) {
        adopt_partner(conn, orm, model, ids, partner).await?;
    } else {
        let shared = picked(values, fields);
        if !shared.is_empty() {
            let (_, table) = delegated(model);
            let partners: BTreeSet<i64> = partners_of(conn, table, ids)
                .await?
                .into_iter()
                .filter_map(|(_, p)| p)
                .collect();
            let partners: Vec<i64> = partners.into_iter().collect();
            if !partners.is_empty() {
                orm.write(conn, PARTNER_MODEL, &partners, &shared).await?;
                // Other users or companies of the same partners read the same values.
                copy_shared(conn, &partners, &shared).await?;
            }
        }
    }
    if model == USERS_MODEL
        && let Some(company) = id_of(values.get("company_id"))
    {
        for id in ids {
            allow_company(conn, *id, company).await?;
        }
    }
    Ok(())
}

/// Copies the shared values written on `partners` to their users and companies.
async fn copy_shared(
    conn: &mut Connection,
    partners: &[i64],
    values: &Record,
) -> Result<(), OrmError> {
    for (fields, table) in [
        (&USER_FIELDS[..], "res_users"),
        (&COMPANY_FIELDS[..], "res_company"),
    ] {
        let shared: Record = picked(values, fields)
            .into_iter()
            .filter(|(k, v)| !(k == "name" && v.as_str().is_none()))
            .collect();
        copy_columns(conn, table, "partner_id", partners, &shared).await?;
    }
    Ok(())
}

/// After a write on partners: their users and companies read the new values.
#[crate::boxed]
pub async fn after_partner_write(
    conn: &mut Connection,
    _orm: &Orm,
    ids: &[i64],
    values: &Record,
) -> Result<(), OrmError> {
    copy_shared(conn, ids, values).await
}

/// Records a successful login of `uid` (Odoo's `login_date`).
#[crate::boxed]
pub async fn record_login(db: &crate::Database, uid: i64) -> Result<(), crate::Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    sqlx::query("UPDATE res_users SET login_date = $1 WHERE id = $2")
        .bind(crate::utc::format_utc(now))
        .bind(uid)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Gives the users and companies of a database made before partners were
/// theirs a partner each, and computes what partners and users derive
/// where it was never computed (seeded rows, older databases).
#[crate::boxed]
pub async fn adopt(conn: &mut Connection, orm: &Orm) -> Result<(), OrmError> {
    for model in [COMPANY_MODEL, USERS_MODEL] {
        let (fields, table) = delegated(model);
        let orphans: Vec<i64> = sqlx::query(&format!(
            "SELECT id FROM \"{table}\" WHERE partner_id IS NULL ORDER BY id"
        ))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        if orphans.is_empty() {
            continue;
        }
        let rows: Vec<Record> = read(conn, orm, model, &orphans, fields)
            .await?
            .into_values()
            .collect();
        let ids: Vec<i64> = rows.iter().filter_map(|r| r.get("id")?.as_i64()).collect();
        let rows: Vec<Record> = rows.into_iter().map(|r| picked(&r, fields)).collect();
        after_create(conn, orm, model, &ids, &rows).await?;
    }
    let missing = |column: &str| format!("SELECT id FROM res_partner WHERE {column} IS NULL");
    let partners = ids(conn, &missing("commercial_partner_id")).await?;
    if !partners.is_empty() {
        let values = computed(
            commercial_partners(conn, orm, &partners).await?,
            "commercial_partner_id",
        );
        orm.set_computed(conn, PARTNER_MODEL, &values).await?;
    }
    let partners = ids(conn, &missing("complete_name")).await?;
    if !partners.is_empty() {
        let values = computed(complete_names(conn, orm, &partners).await?, "complete_name");
        orm.set_computed(conn, PARTNER_MODEL, &values).await?;
    }
    let users = ids(conn, "SELECT id FROM res_users WHERE share IS NULL").await?;
    if !users.is_empty() {
        let values = computed(shares(conn, &users).await?, "share");
        orm.set_computed(conn, USERS_MODEL, &values).await?;
    }
    Ok(())
}

async fn ids(conn: &mut Connection, select: &str) -> Result<Vec<i64>, OrmError> {
    Ok(sqlx::query(select)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// `[[id, value], …]` as the records a computed field's values are set with.
fn computed(answer: Value, field: &str) -> Vec<(i64, Record)> {
    let Value::Array(pairs) = answer else {
        return Vec::new();
    };
    pairs
        .into_iter()
        .filter_map(|pair| {
            let id = pair.get(0)?.as_i64()?;
            let mut record = Record::new();
            record.insert(field.to_string(), pair.get(1)?.clone());
            Some((id, record))
        })
        .collect()
}

/// Which group implies which (`res.groups.implied_ids`), as pairs.
pub(crate) async fn implied_groups(conn: &mut Connection) -> Result<Vec<(i64, i64)>, OrmError> {
    Ok(pulse_orm::pairs(
        conn,
        "SELECT res_groups_id, implied_ids_id FROM res_groups_implied_ids_rel",
    )
    .await?)
}

/// Adds to `groups` the groups they imply (`implied`), transitively.
pub(crate) fn with_implied(implied: &[(i64, i64)], groups: &mut BTreeSet<i64>) {
    loop {
        let more: Vec<i64> = implied
            .iter()
            .filter(|(g, h)| groups.contains(g) && !groups.contains(h))
            .map(|(_, h)| *h)
            .collect();
        if more.is_empty() {
            break;
        }
        groups.extend(more);
    }
}
