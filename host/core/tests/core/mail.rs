use pulse_core::internals::{Encryption, MAX_HEADER, MAX_RECIPIENTS, SmtpServer, check_values};
use pulse_orm::Record;

#[test]
fn smtp_urls_are_read_and_the_password_never_shown() {
    let server = SmtpServer::from_url("smtps://me%40x.org:s%3Acret@mail.example.org").unwrap();
    assert_eq!(
        (server.host.as_str(), server.port, server.encryption),
        ("mail.example.org", 465, Encryption::Ssl)
    );
    assert_eq!(server.user.as_deref(), Some("me@x.org"));
    assert_eq!(server.pass.as_deref(), Some("s:cret"));
    assert!(!format!("{server:?}").contains("s:cret"));
    let plain = SmtpServer::from_url("smtp://127.0.0.1:2525").unwrap();
    assert_eq!((plain.port, plain.user), (2525, None));
    let error = SmtpServer::from_url("http://u:hunter2@x").unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn header_injection_and_floods_are_refused() {
    use serde_json::json;
    let row = |name: &str, value: String| -> Vec<Record> {
        vec![serde_json::from_value(json!({ name: value })).unwrap()]
    };
    for name in ["subject", "email_to", "email_cc", "email_from"] {
        let injected = row(name, "x\r\nBcc: victim@example.org".into());
        assert!(check_values(&injected).is_err(), "{name}");
    }
    let many = (0..=MAX_RECIPIENTS)
        .map(|i| format!("u{i}@example.org"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(check_values(&row("email_to", many)).is_err());
    assert!(check_values(&row("subject", "x".repeat(MAX_HEADER + 1))).is_err());
    assert!(check_values(&row("email_to", "a@example.org; b@example.org".into())).is_ok());
}
