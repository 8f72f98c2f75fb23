//! Mail through a compiled addon: a message queued by a call that rolls
//! back is never sent; one from a committed call reaches a local SMTP
//! server with its recipients, subject, body and attachment; a server that
//! answers "try later" leaves the message in `exception` with the reason,
//! and it goes out once the server is back; `ir.mail_server` records win
//! over `--smtp-url` and their password is the admin's only; header
//! injection and recipient floods are refused; three hosts on one
//! PostgreSQL send each message once. And a `#[cron]` job: its
//! `ir.cron` record comes and goes with the addon, `pulse cron run` and the
//! served scheduler call it.

use std::time::{Duration, Instant};

use pulse_testing::{Backend, Pulse, SmtpSink, build_addons, id, logged_in, ok, refused};
use pulse_testing::{create_user, groups_named};
use serde_json::json;

const JOB: &str = "Mail lab tick";

/// Waits until `sql` (one text value) answers `want`; panics after 30 s.
fn wait_until(pulse: &Pulse, sql: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = pulse.strings(sql);
        if now.first().map(String::as_str) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} answered {now:?}, never {want:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

on_both! {
    mail_is_sent_after_commit_only_retried_and_kept_safe => mail;
    a_cron_export_runs_and_goes_with_its_addon => cron_export;
}

fn mail(backend: Backend) {
    build_addons();
    let sink = SmtpSink::start();
    let mut pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.extra_args.push(format!("--smtp-url={}", sink.url()));
    pulse.ok(&["install", "mail_lab"]);
    let log = pulse.data_dir.join("mail.log");
    let server = pulse.serve_logging(Some(&log));
    let mut admin = pulse.admin(&server);
    let queue = |rpc: &mut pulse_testing::Rpc, to: &str, subject: &str, fail: bool| {
        rpc.call(
            "mail.lab.tick",
            "queue_mail",
            json!([[], to, subject, fail]),
            json!({}),
        )
    };

    // Queued, then rolled back: the message never existed.
    let error = queue(&mut admin, "lost@example.org", "Never sent", true).unwrap_err();
    assert!(error.to_string().contains("failed on purpose"), "{error}");
    // Queued in a committed call: sent once the call commits.
    let sent = id(queue(&mut admin, "alice@example.org", "Quarterly report", false).unwrap());
    let received = sink.wait_for(1, Duration::from_secs(30));
    let message = &received[0];
    assert_eq!(message.from, "lab@example.org");
    assert_eq!(message.to, ["alice@example.org", "copy@example.org"]);
    for expected in [
        "Subject: Quarterly report",
        "To: alice@example.org",
        "Cc: copy@example.org",
        "Hello from mail_lab",
        "Content-Disposition: attachment; filename=\"report.txt\"",
        "attached report text",
    ] {
        assert!(
            message.data.contains(expected),
            "{expected:?} not in:\n{}",
            message.data
        );
    }
    wait_until(
        &pulse,
        &format!("SELECT state FROM mail_mail WHERE id = {sent}"),
        "sent",
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM mail_mail"),
        1,
        "the rolled-back message was never stored"
    );

    // The server says "try later": exception with the reason, then sent
    // by a retry once it accepts again.
    sink.set_failing(true);
    let retried = id(queue(&mut admin, "bob@example.org", "Retry me", false).unwrap());
    wait_until(
        &pulse,
        &format!("SELECT state FROM mail_mail WHERE id = {retried}"),
        "exception",
    );
    let reason = pulse.strings(&format!(
        "SELECT failure_reason FROM mail_mail WHERE id = {retried}"
    ));
    assert!(reason[0].contains("451"), "{reason:?}");
    sink.set_failing(false);
    wait_until(
        &pulse,
        &format!("SELECT state FROM mail_mail WHERE id = {retried}"),
        "sent",
    );
    let received = sink.wait_for(2, Duration::from_secs(5));
    assert_eq!(received[1].to, ["bob@example.org", "copy@example.org"]);
    assert_eq!(
        pulse.scalar(&format!(
            "SELECT failure_count FROM mail_mail WHERE id = {retried}"
        )),
        1
    );

    // Header injection and floods: refused, nothing stored.
    let before = pulse.scalar("SELECT COUNT(*) FROM mail_mail");
    let error = queue(
        &mut admin,
        "carol@example.org",
        "Hi\r\nBcc: evil@example.org",
        false,
    )
    .unwrap_err();
    assert!(error.to_string().contains("line breaks"), "{error}");
    let (kind, message) = refused(
        &mut admin,
        "mail.mail",
        "create",
        json!([{"email_to": "carol@example.org\nBcc: evil@example.org", "subject": "x"}]),
    );
    assert!(
        kind.contains("ValidationError") && message.contains("email_to"),
        "{kind}: {message}"
    );
    let flood = (0..150)
        .map(|i| format!("u{i}@example.org"))
        .collect::<Vec<_>>()
        .join(", ");
    let (kind, message) = refused(
        &mut admin,
        "mail.mail",
        "create",
        json!([{"email_to": flood, "subject": "flood"}]),
    );
    assert!(
        kind.contains("ValidationError") && message.contains("at most 100 recipients"),
        "{kind}: {message}"
    );
    let (kind, message) = refused(
        &mut admin,
        "mail.mail",
        "create",
        json!([{"email_to": "carol@example.org", "subject": "x".repeat(100_000)}]),
    );
    assert!(
        kind.contains("ValidationError") && message.contains("at most 8192 bytes"),
        "{kind}: {message}"
    );
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM mail_mail"), before);

    // An ir.mail_server record wins over --smtp-url; its password is used
    // to log in, and readable by administrators only.
    let password = "s3cret-smtp-pass";
    ok(
        &mut admin,
        "ir.mail_server",
        "create",
        json!([{"name": "Sink", "smtp_host": "127.0.0.1", "smtp_port": sink.port(),
                "smtp_user": "mailer", "smtp_pass": password, "sequence": 1}]),
    );
    id(queue(
        &mut admin,
        "dave@example.org",
        "Through the server record",
        false,
    )
    .unwrap());
    let received = sink.wait_for(3, Duration::from_secs(30));
    // AUTH PLAIN: "\0mailer\0s3cret-smtp-pass", base64.
    assert_eq!(
        received[2].auth.as_deref(),
        Some("AG1haWxlcgBzM2NyZXQtc210cC1wYXNz")
    );
    let internal = groups_named(&mut admin, "Internal User");
    create_user(&mut admin, "erin", "Erin", Some("erin-pass-123"), &internal);
    let mut erin = logged_in(&server, &pulse.db_name, "erin", "erin-pass-123");
    for (method, args) in [
        ("search_read", json!([[], ["smtp_pass"]])),
        ("read", json!([[1], ["smtp_pass"]])),
    ] {
        let (kind, _) = refused(&mut erin, "ir.mail_server", method, args);
        assert!(kind.contains("AccessError"), "{method}: {kind}");
    }
    let (kind, _) = refused(
        &mut erin,
        "mail.mail",
        "search_read",
        json!([[], ["subject"]]),
    );
    assert!(kind.contains("AccessError"), "{kind}");
    drop(server);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(password), "the SMTP password is in the log");
    assert!(
        log.contains(&format!("127.0.0.1:{}", sink.port())),
        "the log shows no mail going out:\n{log}"
    );
}

#[test]
fn hosts_sharing_a_database_send_each_message_once() {
    build_addons();
    let sink = SmtpSink::start();
    let mut pulse = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    pulse.extra_args.push(format!("--smtp-url={}", sink.url()));
    pulse.ok(&["install", "mail_lab"]);
    let hosts: Vec<_> = (0..3).map(|_| pulse.serve()).collect();
    let mut admin = pulse.admin(&hosts[0]);
    for i in 0..8 {
        admin
            .call(
                "mail.lab.tick",
                "queue_mail",
                json!([
                    [],
                    format!("user{i}@example.org"),
                    format!("Message {i}"),
                    false
                ]),
                json!({}),
            )
            .unwrap();
    }
    sink.wait_for(8, Duration::from_secs(30));
    wait_until(
        &pulse,
        "SELECT CAST(COUNT(*) AS TEXT) FROM mail_mail WHERE state = 'sent'",
        "8",
    );
    // Time for a second send of any of them, had one been claimed twice.
    std::thread::sleep(Duration::from_secs(1));
    drop(hosts);
    let mut recipients: Vec<String> = sink.received().iter().map(|m| m.to[0].clone()).collect();
    recipients.sort();
    let expected: Vec<String> = {
        let mut all: Vec<String> = (0..8).map(|i| format!("user{i}@example.org")).collect();
        all.sort();
        all
    };
    assert_eq!(recipients, expected, "each message exactly once");
}

fn cron_export(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "mail_lab"]);
    let list = pulse.ok(&["cron", "list"]);
    assert!(
        list.contains(JOB) && list.contains("cron.run(tick)"),
        "{list}"
    );
    assert_eq!(
        pulse.strings("SELECT module || '.' || name FROM ir_model_data WHERE model = 'ir.cron'"),
        ["mail_lab.cron_job_tick"]
    );
    // Run by hand: the export receives the time the run was due.
    pulse.ok(&["cron", "run", JOB]);
    let due = pulse.strings("SELECT nextcall FROM ir_cron");
    assert_eq!(pulse.strings("SELECT name FROM mail_lab_tick"), due);
    // An upgrade keeps the schedule.
    pulse.ok(&["upgrade", "mail_lab"]);
    assert_eq!(pulse.strings("SELECT nextcall FROM ir_cron"), due);
    // Served: the scheduler runs the job, due since the install.
    let server = pulse.serve();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pulse.scalar("SELECT COUNT(*) FROM mail_lab_tick") < 2 {
        assert!(Instant::now() < deadline, "the scheduler never ran the job");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
    assert_eq!(pulse.scalar("SELECT MAX(failure_count) FROM ir_cron"), 0);
    // The job goes with its addon.
    pulse.ok(&["uninstall", "mail_lab"]);
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM ir_cron"), 0);
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_model_data WHERE model = 'ir.cron'"),
        0
    );
}
