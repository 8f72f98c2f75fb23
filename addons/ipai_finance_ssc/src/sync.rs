//! Outbound syncs, through the host's allow-list: agencies to a Supabase
//! REST endpoint (PostgREST upsert), closed month-end closings to a Notion
//! endpoint. URLs and keys come from system parameters
//! (`ir.config_parameter`), read in superuser mode:
//!
//! | key | what |
//! | --- | --- |
//! | `finance_ssc.supabase_url` | the project URL, e.g. `https://xyz.supabase.co` |
//! | `finance_ssc.supabase_key` | the service key, sent as `apikey` and bearer token |
//! | `finance_ssc.notion_url` | the API base, `https://api.notion.com` |
//! | `finance_ssc.notion_token` | the integration token |
//! | `finance_ssc.notion_database_id` | the database pages are created in |
//!
//! A sync that is not configured does nothing and says so in the log; a
//! sync the endpoint refuses fails with the status and the answer.

use pulse_sdk::prelude::*;

use crate::{Agency, Closing, ClosingState};

/// The system parameter `key`, if set.
fn parameter(env: &Env, key: &str) -> Result<Option<String>> {
    env.sudo(|env| {
        let params = env.model_named("ir.config_parameter");
        let ids = params.search(&Domain::all().and("key", "=", json!(key)), 0, Some(1), None)?;
        Ok(params
            .read(&ids, &["value"])?
            .first()
            .and_then(|p| p.get("value").and_then(Value::as_str))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    })
}

fn sent(what: &str, response: &HttpResponse) -> Result<()> {
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        let mut body = response.body.clone();
        body.truncate(300);
        Err(Error::User(format!(
            "{what}: the endpoint answered {}: {body}",
            response.status
        )))
    }
}

/// Upserts every agency into Supabase's `finance_ssc_agency` table;
/// answers how many were sent, `None` when not configured.
pub fn agencies_to_supabase(env: &Env) -> Result<Option<usize>> {
    let (Some(url), Some(key)) = (
        parameter(env, "finance_ssc.supabase_url")?,
        parameter(env, "finance_ssc.supabase_key")?,
    ) else {
        env.info("Supabase sync skipped: finance_ssc.supabase_url and finance_ssc.supabase_key are not set");
        return Ok(None);
    };
    let agencies = env.model::<Agency>();
    let rows: Vec<Value> = agencies
        .read(&agencies.search(&Domain::all())?)?
        .iter()
        .map(|a| {
            json!({
                "pulse_id": a.id, "code": a.code, "name": a.name, "tin": a.tin,
                "active": a.active, "lock_date": a.lock_date,
            })
        })
        .collect();
    let mut request = HttpRequest::post_json(
        &format!(
            "{}/rest/v1/finance_ssc_agency?on_conflict=code",
            url.trim_end_matches('/')
        ),
        &Value::Array(rows.clone()),
    );
    request.headers.insert("apikey".into(), key.clone());
    request
        .headers
        .insert("authorization".into(), format!("Bearer {key}"));
    request.headers.insert(
        "prefer".into(),
        "resolution=merge-duplicates,return=minimal".into(),
    );
    sent("Supabase sync", &env.http(&request)?)?;
    env.info(&format!("synced {} agencies to Supabase", rows.len()));
    Ok(Some(rows.len()))
}

/// Creates a Notion page per closed closing not yet sent; answers how
/// many, `None` when not configured.
pub fn closings_to_notion(env: &Env) -> Result<Option<usize>> {
    let (Some(url), Some(token), Some(database)) = (
        parameter(env, "finance_ssc.notion_url")?,
        parameter(env, "finance_ssc.notion_token")?,
        parameter(env, "finance_ssc.notion_database_id")?,
    ) else {
        env.info(
            "Notion sync skipped: finance_ssc.notion_url, _token and _database_id are not set",
        );
        return Ok(None);
    };
    let closings = env.model::<Closing>();
    let f = Closing::fields();
    let ids =
        closings.search(&(f.state().eq(ClosingState::Closed) & f.notion_synced().eq(false)))?;
    let mut sent_count = 0;
    for closing in closings.read(&ids)? {
        let agency = env.model::<Agency>().read(&[closing.agency_id.id()])?.pop();
        let code = agency.as_ref().map(|a| a.code.clone()).unwrap_or_default();
        let page = json!({
            "parent": {"database_id": database},
            "properties": {
                "Name": {"title": [{"text": {"content": format!("{code} {} closing", closing.period)}}]},
                "Agency": {"rich_text": [{"text": {"content": code}}]},
                "Period": {"rich_text": [{"text": {"content": closing.period}}]},
                "Locked through": {"rich_text": [{"text": {"content": agency.and_then(|a| a.lock_date).unwrap_or_default()}}]},
                "Tasks": {"number": closing.task_ids.ids().len()},
            }
        });
        let mut request =
            HttpRequest::post_json(&format!("{}/v1/pages", url.trim_end_matches('/')), &page);
        request
            .headers
            .insert("authorization".into(), format!("Bearer {token}"));
        request
            .headers
            .insert("notion-version".into(), "2022-06-28".into());
        sent("Notion sync", &env.http(&request)?)?;
        closings.write(&[closing.id], Closing::write().notion_synced(true))?;
        sent_count += 1;
    }
    Ok(Some(sent_count))
}
