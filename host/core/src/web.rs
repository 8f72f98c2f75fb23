//! What the web client's HTTP endpoints read: the menus a user sees
//! (Odoo's `ir.ui.menu.load_web_menus`, for `/web/webclient/load_menus`)
//! and files (`ir.binary`, for `/web/content` and `/web/image`): an
//! attachment's content or a binary field's, under the reader's rights.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use pulse_orm::{Domain, Orm, SearchOptions};
use pulse_schema::{Context, FieldType};
use serde_json::{Map, Value, json};

use crate::failure::{CallFailure, Failure, Kind};
use crate::{Access, Host, Mode, SUPERUSER_ID};

use crate::base::{MENU_MODEL, WINDOW_ACTION_MODEL};

/// How deep a menu tree is followed (Odoo's menus are a handful of levels;
/// a cycle an admin wrote by hand stops here).
const MAX_MENU_DEPTH: usize = 32;

/// One menu as read, before the tree is built.
struct MenuRow {
    id: i64,
    name: String,
    sequence: i64,
    parent: Option<i64>,
    groups: Vec<i64>,
    action: Option<(String, i64)>,
    web_icon: Option<String>,
}

/// Odoo's `"<model>,<id>"` reference value, parsed.
fn parse_reference(value: &Value) -> Option<(String, i64)> {
    let (model, id) = value.as_str()?.split_once(',')?;
    let id = id.trim().parse::<i64>().ok().filter(|id| *id > 0)?;
    Some((model.trim().to_string(), id))
}

/// Whether a failure of `read` means "not there, or not for you": Odoo's
/// `ir.binary` answers both with 404 (its `UserError`s, `AccessError`
/// among them). Failures of the host or an addon stay failures.
fn not_found(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::DatabaseError
            | Kind::AddonError
            | Kind::AddonTrap
            | Kind::AddonTimeout
            | Kind::AddonOutOfMemory
    )
}

fn from_failure(e: pulse_orm::OrmError) -> Failure {
    CallFailure::Orm(e).into()
}

/// Odoo 19's `ir.ui.menu.load_web_menus()` for user `uid`: `{"root": …,
/// <id>: {id, name, children, appID, xmlid, actionID, actionModel,
/// actionPath, webIcon, webIconData, webIconDataMimetype}}`. A menu shows
/// when it is active, the user is in one of its groups (or it has none),
/// and it has an action whose model the user may read, or a visible
/// submenu; the superuser sees every menu.
#[crate::boxed]
pub async fn load_web_menus(host: &Host, uid: i64) -> Result<Value, Failure> {
    let snapshot = host.snapshot();
    let registry = snapshot.registry.clone();
    let mut conn = host.db.pool.acquire().await?;
    let access = Access::load(&mut conn, uid).await.map_err(from_failure)?;
    let orm = Orm::new(host.db.dialect, registry.clone());
    let all = Domain::parse(&json!([])).map_err(from_failure)?;
    let fields: Vec<String> = [
        "name",
        "sequence",
        "parent_id",
        "group_ids",
        "action",
        "web_icon",
        "active",
    ]
    .map(String::from)
    .to_vec();
    let order = SearchOptions {
        order: Some("sequence, id".into()),
        ..SearchOptions::default()
    };
    let rows = orm
        .search_read(&mut conn, MENU_MODEL, &all, &fields, &order)
        .await
        .map_err(from_failure)?;
    let mut menus: Vec<MenuRow> = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.get("active") == Some(&Value::Bool(false)) {
            continue;
        }
        menus.push(MenuRow {
            id: row.get("id").and_then(Value::as_i64).unwrap_or_default(),
            name: row
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            sequence: row.get("sequence").and_then(Value::as_i64).unwrap_or(10),
            parent: row
                .get("parent_id")
                .and_then(|p| p.get(0).and_then(Value::as_i64).or_else(|| p.as_i64())),
            groups: row
                .get("group_ids")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            action: row.get("action").and_then(parse_reference),
            web_icon: row
                .get("web_icon")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from),
        });
    }

    // The window actions' models, and which of the actions exist at all.
    let window_ids: Vec<i64> = menus
        .iter()
        .filter_map(|m| m.action.as_ref())
        .filter(|(model, _)| model == WINDOW_ACTION_MODEL)
        .map(|(_, id)| *id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut window_models: HashMap<i64, (String, Option<String>)> = HashMap::new();
    if !window_ids.is_empty() && registry.get(WINDOW_ACTION_MODEL).is_some() {
        let wanted = ["res_model", "path"].map(String::from);
        for action in orm
            .read(&mut conn, WINDOW_ACTION_MODEL, &window_ids, &wanted)
            .await
            .map_err(from_failure)?
        {
            let text = |key: &str| {
                action
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
            };
            if let Some(id) = action.get("id").and_then(Value::as_i64) {
                window_models.insert(id, (text("res_model").unwrap_or_default(), text("path")));
            }
        }
    }
    let superuser = uid == SUPERUSER_ID || access.is_superuser();
    let in_groups = |menu: &MenuRow| {
        superuser
            || menu.groups.is_empty()
            || menu.groups.iter().any(|g| access.group_ids().contains(g))
    };
    // An action that exists; for a window action, whether its model may be read.
    let action_of = |menu: &MenuRow| -> Option<bool> {
        let (model, id) = menu.action.as_ref()?;
        if model == WINDOW_ACTION_MODEL {
            let (res_model, _) = window_models.get(id)?;
            Some(
                registry.get(res_model).is_some()
                    && access.check_model(&registry, res_model, Mode::Read).is_ok(),
            )
        } else {
            Some(true)
        }
    };
    let by_id: HashMap<i64, &MenuRow> = menus.iter().map(|m| (m.id, m)).collect();
    // Odoo's `_visible_menu_ids`: action menus the user may open, and the
    // folder menus above them.
    let mut visible: BTreeSet<i64> = BTreeSet::new();
    for menu in menus.iter().filter(|m| in_groups(m)) {
        if action_of(menu) == Some(true) {
            visible.insert(menu.id);
            let mut parent = menu.parent;
            for _ in 0..MAX_MENU_DEPTH {
                let Some(folder) = parent.and_then(|p| by_id.get(&p)) else {
                    break;
                };
                if action_of(folder).is_some() || !in_groups(folder) || !visible.insert(folder.id) {
                    break;
                }
                parent = folder.parent;
            }
        }
    }
    // The tree from the visible roots down, children in sequence order.
    let mut children: BTreeMap<Option<i64>, Vec<&MenuRow>> = BTreeMap::new();
    for menu in menus.iter().filter(|m| visible.contains(&m.id)) {
        let parent = menu.parent.filter(|p| by_id.contains_key(p));
        children.entry(parent).or_default().push(menu);
    }
    for list in children.values_mut() {
        list.sort_by_key(|m| (m.sequence, m.id));
    }
    let child_ids = |id: Option<i64>| -> Vec<i64> {
        children
            .get(&id)
            .map(|list| list.iter().map(|m| m.id).collect())
            .unwrap_or_default()
    };
    let xmlids: HashMap<i64, String> =
        pulse_orm::ledger::named_external_ids_of_model(&mut conn, MENU_MODEL)
            .await
            .map_err(from_failure)?
            .into_iter()
            .map(|(name, id)| (id, name))
            .collect();
    let action_value = |menu: &MenuRow| -> (Value, Value, Value) {
        match &menu.action {
            Some((model, id)) if action_of(menu).is_some() => {
                let path = if model == WINDOW_ACTION_MODEL {
                    window_models
                        .get(id)
                        .and_then(|(_, p)| p.clone())
                        .map_or(Value::Bool(false), Value::String)
                } else {
                    Value::Bool(false)
                };
                (json!(id), json!(model), path)
            }
            _ => (json!(false), json!(false), json!(false)),
        }
    };

    let roots = child_ids(None);
    let mut out = Map::new();
    out.insert(
        "root".into(),
        json!({
            "id": "root",
            "name": "root",
            "children": roots,
            "appID": false,
            "xmlid": "",
            "actionID": false,
            "actionModel": false,
            "actionPath": false,
            "webIcon": null,
            "webIconData": null,
            "webIconDataMimetype": null,
            "backgroundImage": null,
        }),
    );
    // Walk each app's tree: every menu knows its app, and an app opens the
    // action of its first submenu that has one.
    let mut stack: Vec<(i64, i64, usize)> = roots.iter().rev().map(|id| (*id, *id, 0)).collect();
    while let Some((id, app, depth)) = stack.pop() {
        let Some(menu) = by_id.get(&id) else { continue };
        let kids = if depth < MAX_MENU_DEPTH {
            child_ids(Some(id))
        } else {
            Vec::new()
        };
        let (mut action_id, mut action_model, mut action_path) = action_value(menu);
        let mut web_icon = Value::Null;
        let mut web_icon_data = Value::Null;
        if id == app {
            let mut child = Some(id);
            for _ in 0..MAX_MENU_DEPTH {
                if action_id != Value::Bool(false) {
                    break;
                }
                let Some(current) = child.and_then(|c| by_id.get(&c)) else {
                    break;
                };
                (action_id, action_model, action_path) = action_value(current);
                child = child_ids(Some(current.id)).first().copied();
            }
            // `web_icon` is "icon_class,color,background" (a built icon)
            // or "module,path" (an image, which Pulse does not serve).
            let parts: Vec<&str> = menu
                .web_icon
                .as_deref()
                .map(|w| w.split(',').collect())
                .unwrap_or_default();
            if parts.len() == 3 {
                web_icon = json!(parts.join(","));
            } else {
                web_icon_data = json!("/web/static/img/default_icon_app.png");
            }
            if let Some(icon) = &menu.web_icon
                && parts.len() != 3
            {
                web_icon = json!(icon);
            }
        }
        out.insert(
            id.to_string(),
            json!({
                "id": id,
                "name": menu.name,
                "children": kids,
                "appID": app,
                "xmlid": xmlids.get(&id).cloned().unwrap_or_default(),
                "actionID": action_id,
                "actionModel": action_model,
                "actionPath": action_path,
                "webIcon": web_icon,
                "webIconData": web_icon_data,
                "webIconDataMimetype": null,
            }),
        );
        for kid in kids.iter().rev() {
            stack.push((*kid, app, depth + 1));
        }
    }
    Ok(Value::Object(out))
}

/// Where `/web/content` and `/web/image` find a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSource {
    /// The attachment with this id.
    Attachment(i64),
    /// The attachment (or other record) with this external id.
    Xmlid(String),
    /// A binary field of a record.
    Field {
        /// The record's model.
        model: String,
        /// The record.
        id: i64,
        /// The binary field.
        field: String,
    },
}

/// A file to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its media type, when the record says or the bytes tell.
    pub mimetype: Option<String>,
    /// Its name: the attachment's or the record's `name`, else
    /// `<model>-<id>-<field>`.
    pub name: String,
}

/// The most a served file may hold (the body limit of an authenticated
/// call: nothing larger can have been written through the API).
pub const MAX_CONTENT: usize = 16 << 20;

/// The file `source` names, as user `uid` (no session: `None`) may read it
/// (Odoo's `ir.binary`): `None` when there is none, or they may not read
/// it; both are "404 Not Found" to the caller, as in Odoo. An attachment
/// is readable when it is `public`, or when the reader may read the record
/// it is attached to (`res_model`, `res_id`); one attached to no record by
/// those who may read `ir.attachment` (administrators). A binary field
/// through `read` as the reader, with their access rights and record rules.
#[crate::boxed]
pub async fn content(
    host: &Host,
    uid: Option<i64>,
    source: &ContentSource,
) -> Result<Option<Content>, Failure> {
    let snapshot = host.snapshot();
    let registry = snapshot.registry.clone();
    let orm = Orm::new(host.db.dialect, registry.clone());
    let (model, id, field) = match source {
        ContentSource::Attachment(id) => (
            crate::base::ATTACHMENT_MODEL.to_string(),
            *id,
            "datas".to_string(),
        ),
        ContentSource::Xmlid(xmlid) => {
            let Some((module, name)) = xmlid.split_once('.') else {
                return Ok(None);
            };
            let mut conn = host.db.pool.acquire().await?;
            match pulse_orm::ledger::external_id(&mut conn, module, name)
                .await
                .map_err(from_failure)?
            {
                Some(found) if found.model == crate::base::ATTACHMENT_MODEL => {
                    (found.model, found.res_id, "datas".to_string())
                }
                _ => return Ok(None),
            }
        }
        ContentSource::Field { model, id, field } => (model.clone(), *id, field.clone()),
    };
    if id <= 0 {
        return Ok(None);
    }
    let Some(model_def) = registry.get(&model) else {
        return Ok(None);
    };
    let is_binary = model_def
        .fields()
        .iter()
        .any(|f| f.name() == field && f.ttype() == FieldType::Binary);
    if !is_binary {
        return Ok(None);
    }
    let has_name = model_def
        .fields()
        .iter()
        .any(|f| f.name() == "name" && f.has_column());
    if model == crate::base::ATTACHMENT_MODEL {
        return attachment(host, &orm, uid, id).await;
    }
    let Some(uid) = uid else {
        return Ok(None);
    };
    let mut wanted = vec![json!(field)];
    if has_name {
        wanted.push(json!("name"));
    }
    let read = host
        .execute_kw(
            uid,
            &model,
            "read",
            vec![json!([id]), Value::Array(wanted)],
            Map::new(),
            Context::default(),
        )
        .await;
    let record = match read {
        Ok(Value::Array(mut records)) if !records.is_empty() => records.swap_remove(0),
        Ok(_) => return Ok(None),
        Err(f) if not_found(f.kind) => return Ok(None),
        Err(f) => return Err(f),
    };
    let name = record
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .unwrap_or_else(|| format!("{model}-{id}-{field}"));
    Ok(decode(record.get(&field), None, name))
}

/// An attachment's content, when `uid` may read it (see [`content`]).
async fn attachment(
    host: &Host,
    orm: &Orm,
    uid: Option<i64>,
    id: i64,
) -> Result<Option<Content>, Failure> {
    let mut conn = host.db.pool.acquire().await?;
    let fields = [
        "name",
        "datas",
        "mimetype",
        "res_model",
        "res_id",
        "type",
        "public",
    ]
    .map(String::from);
    let Some(found) = orm
        .read(&mut conn, crate::base::ATTACHMENT_MODEL, &[id], &fields)
        .await
        .map_err(from_failure)?
        .pop()
    else {
        return Ok(None);
    };
    let text = |key: &str| {
        found
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let public = found.get("public") == Some(&Value::Bool(true));
    let allowed = match uid {
        _ if public => true,
        None => false,
        Some(SUPERUSER_ID) => true,
        Some(uid) => {
            let res_id = found.get("res_id").and_then(Value::as_i64).unwrap_or(0);
            match text("res_model") {
                Some(res_model) if res_id > 0 => may_read(host, uid, &res_model, res_id).await?,
                _ => {
                    let access = Access::load(&mut conn, uid).await.map_err(from_failure)?;
                    let registry = host.snapshot().registry.clone();
                    access
                        .check_model(&registry, crate::base::ATTACHMENT_MODEL, Mode::Read)
                        .is_ok()
                }
            }
        }
    };
    if !allowed || text("type").as_deref() == Some("url") {
        return Ok(None);
    }
    let name = text("name").unwrap_or_else(|| format!("ir.attachment-{id}-datas"));
    Ok(decode(found.get("datas"), text("mimetype"), name))
}

/// Whether `uid` may read record `id` of `model` (its `read`, with the
/// user's rights and rules, the model's overrides included).
async fn may_read(host: &Host, uid: i64, model: &str, id: i64) -> Result<bool, Failure> {
    if host.snapshot().registry.get(model).is_none() {
        return Ok(false);
    }
    match host
        .execute_kw(
            uid,
            model,
            "read",
            vec![json!([id]), json!(["id"])],
            Map::new(),
            Context::default(),
        )
        .await
    {
        Ok(Value::Array(records)) => Ok(!records.is_empty()),
        Ok(_) => Ok(false),
        Err(f) if not_found(f.kind) => Ok(false),
        Err(f) => Err(f),
    }
}

/// The bytes of a binary value (base64, as Odoo exchanges it); `None` for
/// an empty field or a value that is no base64.
fn decode(value: Option<&Value>, mimetype: Option<String>, name: String) -> Option<Content> {
    let text = value?.as_str().filter(|t| !t.is_empty())?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    let mimetype = mimetype.or_else(|| guess_mimetype(&bytes).map(String::from));
    Some(Content {
        bytes,
        mimetype,
        name,
    })
}

/// The media type the first bytes of a file tell (Odoo's `guess_mimetype`,
/// for the common kinds).
pub fn guess_mimetype(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 7] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"BM", "image/bmp"),
    ];
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if let Some((_, kind)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return Some(kind);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    if head.contains("<svg") {
        return Some("image/svg+xml");
    }
    None
}
