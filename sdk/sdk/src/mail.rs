//! Queuing mail: `env.mail().to(…).subject(…).body(…).queue()?` creates an
//! outgoing `mail.mail` record (and its `ir.attachment` records) in the
//! call's transaction. The host sends it after the transaction commits, so
//! a call that fails sends nothing.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::{Env, Result};

/// A message being put together; [`MailBuilder::queue`] queues it.
#[must_use = "a message is queued only by .queue()"]
pub struct MailBuilder<'env> {
    env: &'env Env,
    from: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    body_html: String,
    attachments: Vec<(String, String, Vec<u8>)>,
    auto_delete: bool,
}

impl Env {
    /// Starts a message to queue in the host's outbox (`mail.mail`).
    pub fn mail(&self) -> MailBuilder<'_> {
        MailBuilder {
            env: self,
            from: None,
            to: Vec::new(),
            cc: Vec::new(),
            subject: String::new(),
            body_html: String::new(),
            attachments: Vec::new(),
            auto_delete: false,
        }
    }
}

impl MailBuilder<'_> {
    /// The sender (`email_from`); the host's default sender when not set.
    pub fn from(mut self, address: &str) -> Self {
        self.from = Some(address.to_string());
        self
    }

    /// Adds a recipient (`email_to`).
    pub fn to(mut self, address: &str) -> Self {
        self.to.push(address.to_string());
        self
    }

    /// Adds a copy recipient (`email_cc`).
    pub fn cc(mut self, address: &str) -> Self {
        self.cc.push(address.to_string());
        self
    }

    /// The subject.
    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = subject.to_string();
        self
    }

    /// The body, HTML (`body_html`).
    pub fn body(mut self, html: &str) -> Self {
        self.body_html = html.to_string();
        self
    }

    /// Attaches a file: its name, its MIME type and its bytes (an
    /// `ir.attachment` record).
    pub fn attach(mut self, name: &str, mimetype: &str, content: &[u8]) -> Self {
        self.attachments
            .push((name.to_string(), mimetype.to_string(), content.to_vec()));
        self
    }

    /// Deletes the `mail.mail` record once it is sent (Odoo's `auto_delete`).
    pub fn auto_delete(mut self, on: bool) -> Self {
        self.auto_delete = on;
        self
    }

    /// Queues the message (state `outgoing`); answers the `mail.mail` id.
    pub fn queue(self) -> Result<i64> {
        let rows: Vec<Map<String, Value>> = self
            .attachments
            .iter()
            .map(|(name, mimetype, content)| {
                object(json!({
                    "name": name,
                    "mimetype": mimetype,
                    "datas": base64::engine::general_purpose::STANDARD.encode(content),
                    "res_model": "mail.mail",
                }))
            })
            .collect();
        let attachment_ids = if rows.is_empty() {
            Vec::new()
        } else {
            self.env.model_named("ir.attachment").create(&rows)?
        };
        let mut values = object(json!({
            "email_to": self.to.join(", "),
            "subject": self.subject,
            "body_html": self.body_html,
            "state": "outgoing",
            "auto_delete": self.auto_delete,
            "attachment_ids": [[6, 0, attachment_ids]],
        }));
        if !self.cc.is_empty() {
            values.insert("email_cc".into(), Value::from(self.cc.join(", ")));
        }
        if let Some(from) = self.from {
            values.insert("email_from".into(), Value::from(from));
        }
        let ids = self.env.model_named("mail.mail").create(&[values])?;
        Ok(ids.first().copied().unwrap_or_default())
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
