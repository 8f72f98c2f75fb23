use std::net::IpAddr;

use pulse_core::internals::{
    Credentials, DatabaseSessions, FIRST_LOCKOUT, FREE_FAILURES, Locked, MAX_LOCKOUT, SESSION_IDLE,
    SESSION_TOUCH, Session, SessionStore, Stamp, Throttle, format_utc, millis, now, now_millis,
    parse_expiry, throttle_keys, token_digest,
};
use pulse_core::{User, hash_password, verify_password};

use super::scratch;

#[test]
fn hashes_verify_and_are_salted() {
    let a = hash_password("s3cret").unwrap();
    let b = hash_password("s3cret").unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("$argon2id$"));
    assert!(verify_password("s3cret", &a));
    assert!(!verify_password("wrong", &a));
    assert!(!verify_password("s3cret", "not a hash"));
}

fn address(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
}

/// A throttle over a fresh, migrated database of each engine.
async fn throttles(tag: &str) -> Vec<(scratch::Scratch, Throttle)> {
    let mut throttles = Vec::new();
    for db in scratch::both(tag).await {
        let migrated = db.migrated().await;
        throttles.push((db, Throttle::new(migrated.pool)));
    }
    throttles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_reserves_at_most_the_free_failures() {
    for (db, throttle) in throttles("throttle_burst").await {
        let throttle = std::sync::Arc::new(throttle);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (throttle, barrier) = (throttle.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    throttle
                        .reserve(&throttle_keys("ana", address(1)))
                        .await
                        .unwrap()
                        .is_ok()
                })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            granted += usize::from(task.await.unwrap());
        }
        assert_eq!(granted, FREE_FAILURES as usize, "{:?}", db.dialect);
        db.remove().await;
    }
}

#[tokio::test]
async fn a_success_clears_the_login_and_the_address() {
    for (db, throttle) in throttles("throttle_success").await {
        let reserve = |login: &str, n| {
            let keys = throttle_keys(login, address(n));
            let throttle = &throttle;
            async move { throttle.reserve(&keys).await.unwrap() }
        };
        for n in 0..FREE_FAILURES {
            assert!(reserve(&format!("ghost{n}"), 1).await.is_ok());
        }
        // The address is locked, whatever the login.
        assert_eq!(reserve("bob", 1).await, Err(Locked));
        // Another address is not.
        assert!(reserve("bob", 2).await.is_ok());
        throttle
            .succeeded(&throttle_keys("bob", address(1)))
            .await
            .unwrap();
        assert!(reserve("carol", 1).await.is_ok());
        db.remove().await;
    }
}

#[tokio::test]
async fn failures_decay_and_lockouts_lapse() {
    for (db, throttle) in throttles("throttle_decay").await {
        let keys = throttle_keys("ana", address(1));
        let reserve_at = |at: i64| {
            let (throttle, keys) = (&throttle, &keys);
            async move { throttle.reserve_at(keys, at).await.unwrap() }
        };
        let start = now_millis();
        for _ in 0..FREE_FAILURES {
            assert!(reserve_at(start).await.is_ok());
        }
        assert_eq!(
            reserve_at(start + millis(FIRST_LOCKOUT / 2)).await,
            Err(Locked)
        );
        // Once the lockout lapses, one more try; failing again doubles it.
        let later = start + millis(FIRST_LOCKOUT);
        assert!(reserve_at(later).await.is_ok());
        assert_eq!(reserve_at(later + millis(FIRST_LOCKOUT)).await, Err(Locked));
        assert!(reserve_at(later + millis(2 * FIRST_LOCKOUT)).await.is_ok());
        // Quiet for the longest lockout, the count starts again.
        let quiet = later + millis(2 * FIRST_LOCKOUT + MAX_LOCKOUT);
        for _ in 0..FREE_FAILURES {
            assert!(reserve_at(quiet).await.is_ok());
        }
        assert_eq!(reserve_at(quiet).await, Err(Locked));
        db.remove().await;
    }
}

/// Keys stay small whatever the login, and the table within its bound
/// (a bound of 40 here: the same code as the real 100 000, at a cost a
/// unit test can pay).
#[tokio::test]
async fn keys_are_small_and_the_map_bounded() {
    let huge = "a".repeat(1 << 20);
    let keys = throttle_keys(&huge, address(1));
    assert!(keys.iter().all(|k| k.len() < 64), "{keys:?}");
    assert_ne!(keys[0], throttle_keys("a", address(1))[0]);
    for (db, mut throttle) in throttles("throttle_bound").await {
        throttle.max_keys = 40;
        let start = now_millis();
        for n in 0..throttle.max_keys as u32 {
            let _ = throttle
                .reserve_at(&throttle_keys(&n.to_string(), address(n)), start)
                .await
                .unwrap();
        }
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pulse_login_failures")
            .fetch_one(&throttle.pool)
            .await
            .unwrap();
        assert!(held <= throttle.max_keys, "{held}");
        // Lockouts in force are kept when room is made.
        for _ in 0..FREE_FAILURES {
            let _ = throttle
                .reserve_at(&throttle_keys("ana", address(7)), start)
                .await
                .unwrap();
        }
        for n in 100..(100 + throttle.max_keys as u32) {
            let _ = throttle
                .reserve_at(&throttle_keys(&n.to_string(), address(n)), start)
                .await
                .unwrap();
        }
        assert_eq!(
            throttle
                .reserve_at(&throttle_keys("ana", address(8)), start)
                .await
                .unwrap(),
            Err(Locked)
        );
        db.remove().await;
    }
}

/// A session store over a fresh, migrated database of each engine,
/// with the user `ana` (id 1).
async fn session_stores(tag: &str) -> Vec<(scratch::Scratch, DatabaseSessions)> {
    let mut stores = Vec::new();
    for db in scratch::both(tag).await {
        let migrated = db.migrated().await;
        sqlx::query("INSERT INTO res_users (login, name, password) VALUES ('ana', 'Ana', 'h')")
            .execute(&migrated.pool)
            .await
            .unwrap();
        stores.push((db, DatabaseSessions::new(migrated.pool)));
    }
    stores
}

fn ana() -> Session {
    Session {
        user: User {
            uid: 1,
            login: "ana".into(),
            name: "Ana".into(),
        },
        stamp: Stamp::of(Some("h")),
    }
}

/// Any store over the same table sees the session (as another host
/// would); closing it through one ends it for all; the token itself
/// is stored nowhere.
#[tokio::test]
async fn sessions_are_shared_and_stored_by_digest() {
    for (db, store) in session_stores("sessions_shared").await {
        let token = store.open(ana()).await.unwrap();
        let other = DatabaseSessions::new(store.pool.clone());
        assert_eq!(other.get(&token).await.unwrap(), Some(ana()));
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_digest FROM pulse_sessions")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(stored, [token_digest(&token)]);
        assert!(!stored.contains(&token));
        assert_eq!(store.get("not-a-token").await.unwrap(), None);
        other.close(&token).await.unwrap();
        assert_eq!(store.get(&token).await.unwrap(), None);
        db.remove().await;
    }
}

/// A session ends after a day unused; a use records itself at most
/// once a minute, and keeps the session alive.
#[tokio::test]
async fn sessions_end_when_idle_and_record_use_sparingly() {
    for (db, store) in session_stores("sessions_idle").await {
        let start = now();
        let token = store.open_at(ana(), start).await.unwrap();
        let last_seen = || {
            sqlx::query_scalar::<_, i64>("SELECT last_seen FROM pulse_sessions")
                .fetch_one(&store.pool)
        };
        let touch = SESSION_TOUCH.as_secs() as i64;
        let idle = SESSION_IDLE.as_secs() as i64;
        assert!(
            store
                .get_at(&token, start + touch - 1)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(last_seen().await.unwrap(), start, "not written yet");
        assert!(store.get_at(&token, start + touch).await.unwrap().is_some());
        assert_eq!(last_seen().await.unwrap(), start + touch);
        // Used a minute in, the day counts from then.
        assert!(
            store
                .get_at(&token, start + touch + idle - 1)
                .await
                .unwrap()
                .is_some()
        );
        let later = start + 2 * touch + 2 * idle;
        assert_eq!(store.get_at(&token, later).await.unwrap(), None);
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pulse_sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "an idle session's row is removed");
        // Idle rows are swept when someone logs in.
        store.open_at(ana(), start).await.unwrap();
        store.open_at(ana(), later).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pulse_sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, 1);
        db.remove().await;
    }
}

#[test]
fn expiry_dates_are_calendar_dates_in_the_future() {
    assert!(parse_expiry("2999-01-01").unwrap() == "2999-01-01 00:00:00");
    assert!(parse_expiry("2999-06-30 12:30:00").is_ok());
    for bad in ["2026-13-01", "2999-02-30", "2020-01-01", "soon", ""] {
        assert!(parse_expiry(bad).is_err(), "{bad}");
    }
    let in_90_days = parse_expiry("90d").unwrap();
    assert!(in_90_days > format_utc(now() + 89 * 86_400));
}

#[test]
fn remembered_credentials_hold_for_one_stamp_only() {
    let credentials = Credentials::default();
    let old = Stamp::of(Some("$argon2id$old"));
    let new = Stamp::of(Some("$argon2id$new"));
    credentials.remember(2, "pw", &old);
    assert!(credentials.is_fresh(2, "pw", &old));
    assert!(!credentials.is_fresh(2, "pw", &new));
    assert!(!credentials.is_fresh(3, "pw", &old));
    assert!(!credentials.is_fresh(2, "other", &old));
}
