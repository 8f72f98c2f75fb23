//! Scheduled jobs: three hosts on one PostgreSQL database run each due slot
//! of a one-second job exactly once; `pulse cron list` and `pulse cron run`;
//! a failing job backs off and is deactivated; jobs go with their addon.

use pulse_testing::{Backend, Pulse, build_addons};
use serde_json::json;

const JOB: &str = "Tick every second";

fn seconds(text: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    // Within one day is enough for a test window.
    n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

#[test]
fn three_hosts_run_each_due_slot_exactly_once() {
    build_addons();
    let pulse = Pulse::on(Backend::Postgres, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "cron_counter"]);
    let hosts: Vec<_> = (0..3).map(|_| pulse.serve()).collect();
    // Until the missed runs and four live slots are in (about five
    // seconds), rather than a fixed wait.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while pulse.scalar("SELECT COUNT(*) FROM cron_tick") < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the hosts ran too few slots: {:?}",
            pulse.strings("SELECT name FROM cron_tick ORDER BY name")
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(hosts);
    let slots = pulse.strings("SELECT name FROM cron_tick ORDER BY name");
    // The runs missed since 2000 collapse into one…
    assert_eq!(slots[0], "2000-01-01 00:00:00", "{slots:?}");
    // …then every second once: no slot twice (the slot is unique, and a
    // second run would have failed), none skipped.
    let live: Vec<i64> = slots[1..].iter().map(|s| seconds(s)).collect();
    assert!(live.len() >= 3, "too few runs in the window: {slots:?}");
    for pair in live.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            1,
            "a slot was skipped or repeated: {slots:?}"
        );
    }
    assert_eq!(
        pulse.scalar("SELECT COALESCE(MAX(failure_count), 0) FROM ir_cron"),
        0,
        "no run failed (a double run would have)"
    );
}

on_both! {
    jobs_are_listed_run_by_hand_and_stopped_after_failures => by_hand_and_failures;
}

fn by_hand_and_failures(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "cron_counter"]);
    let list = pulse.ok(&["cron", "list"]);
    assert!(
        list.contains(JOB) && list.contains("cron.tick._tick"),
        "{list}"
    );
    assert!(list.contains("next 2000-01-01 00:00:00"), "{list}");
    // Run by hand: one run, due when it was due; the schedule stays.
    pulse.ok(&["cron", "run", JOB]);
    assert_eq!(
        pulse.strings("SELECT name FROM cron_tick"),
        ["2000-01-01 00:00:00"]
    );
    assert!(
        pulse
            .ok(&["cron", "list"])
            .contains("next 2000-01-01 00:00:00")
    );
    let missing = pulse.run(&["cron", "run", "nope"]);
    assert!(!missing.status.success());
    assert!(pulse_testing::text(&missing).contains("no job named \"nope\""));

    // A failing job: rolled back, counted, deactivated after five failures.
    pulse.ok(&["uninstall", "cron_counter"]);
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM ir_cron"),
        0,
        "jobs go with their addon"
    );
    pulse.ok(&["install", "cron_counter"]);
    let log = pulse.data_dir.join("cron.log");
    let server = pulse.serve_logging(Some(&log));
    let mut admin = pulse.admin(&server);
    let ids = admin
        .call(
            "ir.cron",
            "search",
            json!([[["name", "=", JOB]]]),
            json!({}),
        )
        .unwrap();
    admin
        .call(
            "ir.cron",
            "write",
            json!([ids, {"method": "_fail", "interval_type": "seconds", "interval_number": 1}]),
            json!({}),
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while pulse.scalar("SELECT COUNT(*) FROM ir_cron WHERE active = TRUE") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the failing job was never deactivated"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(server);
    assert_eq!(pulse.scalar("SELECT MAX(failure_count) FROM ir_cron"), 5);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("cron job failed") && log.contains("fails on purpose"),
        "{log}"
    );
    assert!(log.contains("deactivated=true"), "{log}");
    assert!(
        pulse
            .ok(&["cron", "list"])
            .contains("inactive (5 failures in a row)")
    );
}
