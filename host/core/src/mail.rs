//! Outgoing mail, stored as Odoo stores it: an addon queues a message by
//! creating a `mail.mail` record (state `outgoing`, attachments in
//! `ir.attachment`) in its call's transaction, and every serving host sends
//! the queued messages through the SMTP server the admin configured (an
//! `ir.mail_server` record, else `--smtp-url`).
//!
//! Sending reads committed `outgoing` records only, so a message queued by
//! a call that rolled back does not exist and is never sent. Each message
//! is claimed in its own transaction, on PostgreSQL with `FOR NO KEY UPDATE
//! SKIP LOCKED`, so with several hosts on one database each message goes
//! out once (the claim is short; see [`Host::send_queued_mail`]). A message the server refuses for good (a 5xx answer, an
//! address that does not parse) is marked `exception` with the reason; one
//! that fails for a while (no connection, a 4xx answer) is marked
//! `exception` too and tried again after 5 s, 20 s, 80 s and 320 s, then
//! left as it is ([`MAX_ATTEMPTS`] in all). Writing `state: outgoing` on it
//! queues it again.
//!
//! The core has no SMTP client of its own: whoever builds the host hands
//! one over ([`MailSettings::mailer`]; `pulse-smtp` has one).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use pulse_orm::{OrmError, Record};
use serde_json::Value;
use sqlx::Row;

use crate::base::mail_model;
use crate::utc::{format_utc, now};
use crate::{Error, Host};

/// Tries in all before a message that keeps failing is left in `exception`.
pub const MAX_ATTEMPTS: i64 = 5;

/// Seconds before the first retry; each further one waits four times longer.
const FIRST_RETRY: i64 = 5;

/// The most recipients (`email_to` and `email_cc` together) one message has.
pub const MAX_RECIPIENTS: usize = 100;

/// The longest `email_from`, `email_to`, `email_cc` or `subject`, in bytes.
pub const MAX_HEADER: usize = 8192;

/// Seconds a claimed message stays out of other hosts' reach while it is
/// sent (the SMTP client gives up well before).
const LEASE: i64 = 120;

/// How often a serving host looks for mail to send.
const POLL: Duration = Duration::from_millis(250);

/// The sender when a message names none and `mail.default.from` is unset.
const DEFAULT_FROM: &str = "notifications@localhost";

/// How the connection to an SMTP server is secured (`smtp_encryption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// Plain SMTP.
    None,
    /// Plain, upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the start (SMTPS).
    Ssl,
}

/// An SMTP server to send through. Its `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// The host name or address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The user to log in as, if any.
    pub user: Option<String>,
    /// The password, with `user`.
    pub pass: Option<String>,
    /// How the connection is secured.
    pub encryption: Encryption,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("pass", &self.pass.as_ref().map(|_| "<hidden>"))
            .field("encryption", &self.encryption)
            .finish()
    }
}

impl SmtpServer {
    /// Reads `smtp://[user[:pass]@]host[:port]` (port 25), `smtp+starttls://…`
    /// (587) or `smtps://…` (465); user and password percent-encoded.
    pub fn from_url(text: &str) -> Result<SmtpServer, Error> {
        // The URL may hold a password: never repeat it in an error.
        let bad = |why: &str| {
            Error::Config(format!(
                "invalid SMTP URL: {why} (expected smtp://[USER[:PASSWORD]@]HOST[:PORT], smtp+starttls://… or smtps://…)"
            ))
        };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let (encryption, default_port) = match url.scheme() {
            "smtp" => (Encryption::None, 25),
            "smtp+starttls" => (Encryption::Starttls, 587),
            "smtps" => (Encryption::Ssl, 465),
            _ => return Err(bad("unknown scheme")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("the user or password is not UTF-8"))
        };
        let user = match url.username() {
            "" => None,
            user => Some(decode(user)?),
        };
        let pass = url.password().map(decode).transpose()?;
        Ok(SmtpServer {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: url.port().unwrap_or(default_port),
            user,
            pass,
            encryption,
        })
    }
}

/// A message ready for the SMTP server: addresses checked for line breaks,
/// attachments decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The sender.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// The copy recipients.
    pub cc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The body, HTML.
    pub body_html: String,
    /// The attachments.
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// The file name.
    pub name: String,
    /// The MIME type (`application/octet-stream` when unknown).
    pub mimetype: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// For good: the server refused it (5xx), or it cannot be written.
    #[error("{0}")]
    Refused(String),
    /// For now: no connection, a 4xx answer; worth another try.
    #[error("{0}")]
    Failed(String),
}

/// A message being sent.
pub type MailFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends messages through an SMTP server.
pub trait Mailer: std::fmt::Debug + Send + Sync {
    /// Sends `mail` through `server`.
    fn send<'a>(&'a self, server: &'a SmtpServer, mail: &'a OutgoingMail) -> MailFuture<'a>;
}

/// How a host sends mail.
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// The SMTP server used when no `ir.mail_server` record is active
    /// (`--smtp-url`).
    pub smtp: Option<SmtpServer>,
    /// The SMTP client; `None`: queued mail stays queued.
    pub mailer: Option<Arc<dyn Mailer>>,
}

/// Checks the values of a `mail.mail` create or write (the model's row in
/// `model_methods`): no line break in an address or the subject (they
/// would start a header of their own), at most [`MAX_RECIPIENTS`]
/// recipients, no value longer than [`MAX_HEADER`].
pub fn check_values(rows: &[Record]) -> Result<(), OrmError> {
    for row in rows {
        let mut recipients = 0;
        for name in ["email_from", "email_to", "email_cc", "subject"] {
            let Some(Value::String(value)) = row.get(name) else {
                continue;
            };
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(refused(format!(
                    "The {name} of a mail may not contain line breaks or control characters"
                )));
            }
            if value.len() > MAX_HEADER {
                return Err(refused(format!(
                    "The {name} of a mail may hold at most {MAX_HEADER} bytes, not {}",
                    value.len()
                )));
            }
            if name != "subject" && name != "email_from" {
                recipients += addresses(value).len();
            }
        }
        if recipients > MAX_RECIPIENTS {
            return Err(refused(format!(
                "A mail may have at most {MAX_RECIPIENTS} recipients (To and Cc), not {recipients}"
            )));
        }
    }
    Ok(())
}

fn refused(message: String) -> OrmError {
    OrmError::validation(message)
}

/// The addresses of a comma- or semicolon-separated list.
fn addresses(list: &str) -> Vec<String> {
    list.split([',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// One claimed message, as read from its row.
struct Claimed {
    id: i64,
    mail: OutgoingMail,
    server_id: Option<i64>,
    failures: i64,
    auto_delete: bool,
}

impl Host {
    /// Sends the queued messages that are due; answers how many went out.
    #[crate::boxed]
    pub async fn send_queued_mail(&self) -> Result<usize, Error> {
        let Some(mailer) = self.config.mail.mailer.clone() else {
            return Ok(0);
        };
        let mut sent = 0;
        while let Some(outcome) = self.send_one(mailer.as_ref()).await? {
            sent += usize::from(outcome);
        }
        Ok(sent)
    }

    /// Claims one due message and sends it; `None` when none is due, else
    /// whether it went out.
    ///
    /// The claim is a short transaction that takes the row (skipping rows
    /// other hosts hold) and moves its `scheduled_date` past [`LEASE`], so
    /// no other host picks it up while it is being sent and no database
    /// transaction stays open over the network; the outcome is recorded
    /// in a second one. A host that dies in between leaves the message due
    /// again once the lease is over.
    async fn send_one(&self, mailer: &dyn Mailer) -> Result<Option<bool>, Error> {
        let now_text = format_utc(now());
        let select = "SELECT id, email_from, email_to, email_cc, subject, body_html, mail_server_id, failure_count, auto_delete \
             FROM mail_mail WHERE (state = $1 AND (scheduled_date IS NULL OR scheduled_date <= $2)) \
             OR (state = $3 AND scheduled_date <= $2) ORDER BY id";
        let claimed = self
            .db
            .claim_first(select, |q| {
                q.bind("outgoing").bind(now_text).bind("exception")
            })
            .await?;
        let Some((mut tx, row)) = claimed else {
            return Ok(None);
        };
        let text = |i: usize| -> Result<String, sqlx::Error> {
            Ok(row.try_get::<Option<String>, _>(i)?.unwrap_or_default())
        };
        let id: i64 = row.try_get(0)?;
        let mut claimed = Claimed {
            id,
            mail: OutgoingMail {
                from: text(1)?,
                to: addresses(&text(2)?),
                cc: addresses(&text(3)?),
                subject: text(4)?,
                body_html: text(5)?,
                attachments: Vec::new(),
            },
            server_id: row.try_get(6)?,
            failures: row.try_get::<Option<i64>, _>(7)?.unwrap_or(0),
            auto_delete: pulse_orm::bool_at(&row, 8)?.unwrap_or(false),
        };
        sqlx::query("UPDATE mail_mail SET scheduled_date = $1 WHERE id = $2")
            .bind(format_utc(now() + LEASE))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let prepared = self.prepare(&mut tx, &mut claimed).await?;
        tx.commit().await?;
        let outcome = match prepared {
            Err(e) => Err(e),
            Ok(server) => {
                let started = std::time::Instant::now();
                let outcome = mailer.send(&server, &claimed.mail).await;
                tracing::info!(
                    mail = id,
                    server = %format!("{}:{}", server.host, server.port),
                    recipients = claimed.mail.to.len() + claimed.mail.cc.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    outcome = if outcome.is_ok() { "sent" } else { "failed" },
                    "mail"
                );
                outcome
            }
        };
        let sent = outcome.is_ok();
        let mut tx = self.db.pool.begin().await?;
        self.record(&mut tx, &claimed, outcome).await?;
        tx.commit().await?;
        Ok(Some(sent))
    }

    /// Completes a claimed message (sender, attachments) and picks its
    /// server; `Err` when it cannot be sent as it is.
    async fn prepare(
        &self,
        tx: &mut pulse_orm::Connection,
        claimed: &mut Claimed,
    ) -> Result<Result<SmtpServer, MailError>, Error> {
        if claimed.mail.from.trim().is_empty() {
            let configured: Option<String> =
                sqlx::query_scalar("SELECT value FROM ir_config_parameter WHERE key = $1")
                    .bind("mail.default.from")
                    .fetch_optional(&mut *tx)
                    .await?;
            claimed.mail.from = configured
                .filter(|v| v.contains('@'))
                .unwrap_or_else(|| DEFAULT_FROM.to_string());
        }
        let recipients = claimed.mail.to.len() + claimed.mail.cc.len();
        if recipients == 0 {
            return Ok(Err(MailError::Refused("the mail has no recipient".into())));
        }
        if recipients > MAX_RECIPIENTS {
            return Ok(Err(MailError::Refused(format!(
                "the mail has {recipients} recipients, more than the {MAX_RECIPIENTS} allowed"
            ))));
        }
        let mail = &claimed.mail;
        if [&mail.from, &mail.subject]
            .into_iter()
            .chain(&mail.to)
            .chain(&mail.cc)
            .any(|v| v.chars().any(|c| c.is_control() && c != '\t'))
        {
            return Ok(Err(MailError::Refused(
                "an address or the subject contains a line break".into(),
            )));
        }
        let relation = attachment_relation()?;
        let rows = sqlx::query(&format!(
            "SELECT a.name, a.mimetype, a.datas FROM ir_attachment a JOIN {} r ON r.{} = a.id WHERE r.{} = $1 ORDER BY a.id",
            relation.table, relation.other, relation.own
        ))
        .bind(claimed.id)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let name: String = row.try_get(0)?;
            let content = row.try_get::<Option<String>, _>(2)?.unwrap_or_default();
            let Ok(content) = base64::engine::general_purpose::STANDARD.decode(content) else {
                return Ok(Err(MailError::Refused(format!(
                    "the attachment {name:?} is not valid base64"
                ))));
            };
            claimed.mail.attachments.push(MailAttachment {
                name,
                mimetype: row
                    .try_get::<Option<String>, _>(1)?
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "application/octet-stream".into()),
                content,
            });
        }
        Ok(self
            .server(tx, claimed.server_id)
            .await?
            .ok_or_else(|| {
                MailError::Failed(
                    "no outgoing mail server: add an ir.mail_server record or start the host with --smtp-url".into(),
                )
            }))
    }

    /// The server a message goes through: its own, else the first active
    /// `ir.mail_server`, else `--smtp-url`.
    async fn server(
        &self,
        tx: &mut pulse_orm::Connection,
        own: Option<i64>,
    ) -> Result<Option<SmtpServer>, Error> {
        let columns = "SELECT smtp_host, smtp_port, smtp_user, smtp_pass, smtp_encryption FROM ir_mail_server";
        let row = match own {
            Some(id) => {
                sqlx::query(&format!("{columns} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query(&format!(
                    "{columns} WHERE active = $1 ORDER BY sequence, id LIMIT 1"
                ))
                .bind(true)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        let Some(row) = row else {
            return Ok(self.config.mail.smtp.clone());
        };
        let encryption = match row.try_get::<Option<String>, _>(4)?.as_deref() {
            Some("starttls") => Encryption::Starttls,
            Some("ssl") => Encryption::Ssl,
            _ => Encryption::None,
        };
        let port = row.try_get::<Option<i64>, _>(1)?.unwrap_or(25);
        Ok(Some(SmtpServer {
            host: row.try_get(0)?,
            port: u16::try_from(port).unwrap_or(25),
            user: row
                .try_get::<Option<String>, _>(2)?
                .filter(|u| !u.is_empty()),
            pass: row.try_get(3)?,
            encryption,
        }))
    }

    /// Records how sending `claimed` went.
    async fn record(
        &self,
        tx: &mut pulse_orm::Connection,
        claimed: &Claimed,
        outcome: Result<(), MailError>,
    ) -> Result<(), Error> {
        let id = claimed.id;
        let (state, reason, failures, next) = match outcome {
            Ok(()) if claimed.auto_delete => {
                let relation = attachment_relation()?;
                sqlx::query(&format!(
                    "DELETE FROM {} WHERE {} = $1",
                    relation.table, relation.own
                ))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM mail_mail WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                return Ok(());
            }
            Ok(()) => ("sent", None, claimed.failures, None),
            Err(MailError::Refused(reason)) => {
                tracing::warn!(mail = id, reason = %reason, "the mail was refused; it will not be retried");
                ("exception", Some(reason), claimed.failures + 1, None)
            }
            Err(MailError::Failed(reason)) => {
                let failures = claimed.failures + 1;
                let next = (failures < MAX_ATTEMPTS)
                    .then(|| format_utc(now() + FIRST_RETRY * 4_i64.pow((failures - 1) as u32)));
                tracing::warn!(mail = id, failures, retry_at = ?next, reason = %reason, "sending the mail failed");
                ("exception", Some(reason), failures, next)
            }
        };
        sqlx::query(
            "UPDATE mail_mail SET state = $1, failure_reason = $2, failure_count = $3, scheduled_date = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(reason)
        .bind(failures)
        .bind(next)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Sends queued mail in the background for as long as the host lives;
    /// `None` when the host has no SMTP client.
    pub fn spawn_mailer(self: &Arc<Host>) -> Option<tokio::task::JoinHandle<()>> {
        self.config.mail.mailer.as_ref()?;
        let host = Arc::clone(self);
        Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(POLL).await;
                if let Err(e) = host.send_queued_mail().await {
                    tracing::error!(error = %e, "sending queued mail failed; retrying");
                }
            }
        }))
    }
}

/// The relation table of `mail.mail.attachment_ids`.
fn attachment_relation() -> Result<pulse_orm::RelationTable, Error> {
    let mail = pulse_orm::ModelDef::from_spec(mail_model(), "base")?;
    let field = mail.require_field("attachment_ids")?;
    Ok(pulse_orm::relation_table(&mail, field)?)
}
