use pulse_core::internals::{format_utc, next_slot, parse_utc};

#[test]
fn utc_text_round_trips() {
    for text in [
        "1970-01-01 00:00:00",
        "2000-02-29 23:59:59",
        "2026-11-26 12:34:56",
    ] {
        assert_eq!(format_utc(parse_utc(text).unwrap()), text);
    }
    assert_eq!(parse_utc("2026-01-01 00:00:00"), Some(1_767_225_600));
}

#[test]
fn missed_runs_collapse_into_one() {
    let due = parse_utc("2026-01-01 00:00:00").unwrap();
    let now = parse_utc("2026-01-01 10:30:00").unwrap();
    assert_eq!(
        format_utc(next_slot(due, 1, "hours", now)),
        "2026-01-01 11:00:00"
    );
    assert_eq!(
        format_utc(next_slot(due, 1, "seconds", due)),
        "2026-01-01 00:00:01"
    );
    let jan31 = parse_utc("2026-01-31 08:00:00").unwrap();
    assert_eq!(
        format_utc(next_slot(jan31, 1, "months", jan31)),
        "2026-02-28 08:00:00"
    );
}
