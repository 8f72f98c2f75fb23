//! Unit tests of `pulse-smtp`, compiled into the end-to-end test binary
//! (`tests/e2e.rs`, module `units::smtp`): one binary to build and link
//! instead of the crate compiled a second time as its own test harness.

use pulse_core::{MailError, OutgoingMail};
use pulse_smtp::internals::message;

fn mail(subject: &str, to: &str) -> OutgoingMail {
    OutgoingMail {
        from: "noreply@example.org".into(),
        to: vec![to.into()],
        cc: Vec::new(),
        subject: subject.into(),
        body_html: "<p>Hi</p>".into(),
        attachments: Vec::new(),
    }
}

#[test]
fn a_line_break_never_starts_a_header() {
    let message = message(&mail("Hello\r\nBcc: victim@example.org", "a@example.org")).unwrap();
    let text = String::from_utf8(message.formatted()).unwrap();
    assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
    let refused =
        pulse_smtp::internals::message(&mail("x", "a@example.org\r\nBcc: victim@example.org"));
    assert!(matches!(refused, Err(MailError::Refused(_))));
}
