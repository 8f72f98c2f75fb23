//! `pulse-smtp`: sends the host's queued mail through an SMTP server with
//! [lettre](https://lettre.rs), on tokio, TLS by rustls. It implements
//! [`pulse_core::Mailer`]; the CLI hands it to the host in
//! `Config::mail`, so `pulse-core` compiles without an SMTP client.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pulse_core::{Encryption, MailError, MailFuture, Mailer, OutgoingMail, SmtpServer};

/// How long one SMTP conversation may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends mail over SMTP, one connection per message.
#[derive(Debug, Default, Clone, Copy)]
pub struct SmtpMailer;

impl SmtpMailer {
    /// A mailer.
    pub fn new() -> SmtpMailer {
        SmtpMailer
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, server: &'a SmtpServer, mail: &'a OutgoingMail) -> MailFuture<'a> {
        Box::pin(async move {
            let message = message(mail)?;
            let transport = transport(server)?;
            transport.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Refused(e.to_string())
                } else {
                    MailError::Failed(e.to_string())
                }
            })
        })
    }
}

/// The connection to `server`.
fn transport(server: &SmtpServer) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = |e: lettre::transport::smtp::Error| {
        MailError::Refused(format!("cannot set up TLS for {}: {e}", server.host))
    };
    let builder = match server.encryption {
        Encryption::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.as_str())
        }
        Encryption::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&server.host).map_err(tls)?
        }
        Encryption::Ssl => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&server.host).map_err(tls)?
        }
    };
    let mut builder = builder.port(server.port).timeout(Some(TIMEOUT));
    if let Some(user) = &server.user {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            server.pass.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// The message: an HTML body, and the attachments after it. Addresses that
/// do not parse, and headers lettre cannot write, refuse the message.
#[doc(hidden)]
pub fn message(mail: &OutgoingMail) -> Result<Message, MailError> {
    let mailbox = |address: &str| {
        address
            .parse::<Mailbox>()
            .map_err(|e| MailError::Refused(format!("invalid address {address:?}: {e}")))
    };
    // The host stores no line break in a subject; a stray one is a space.
    let subject: String = mail
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut builder = Message::builder()
        .from(mailbox(&mail.from)?)
        .subject(subject);
    for to in &mail.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    let body = SinglePart::html(mail.body_html.clone());
    let built = if mail.attachments.is_empty() {
        builder.singlepart(body)
    } else {
        let mut parts = MultiPart::mixed().singlepart(body);
        for attachment in &mail.attachments {
            let kind = ContentType::parse(&attachment.mimetype).map_err(|_| {
                MailError::Refused(format!(
                    "the attachment {:?} has an invalid MIME type {:?}",
                    attachment.name, attachment.mimetype
                ))
            })?;
            parts = parts.singlepart(
                Attachment::new(attachment.name.clone()).body(attachment.content.clone(), kind),
            );
        }
        builder.multipart(parts)
    };
    built.map_err(|e| MailError::Refused(format!("cannot write the message: {e}")))
}

/// Not an API: what the unit tests in `host/smtp/tests/` (compiled into the
/// end-to-end test binary, not into this crate) reach.
#[doc(hidden)]
pub mod internals {
    pub use crate::message;
}
