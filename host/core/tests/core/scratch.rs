//! Databases made for one unit test, on either engine: unmigrated (see
//! [`Scratch::migrated`]), and removed by [`Scratch::remove`] at the end
//! (a test that fails leaves its database for a look; the next run of the
//! same test starts from a fresh one anyway).

use pulse_core::{Database, PoolSettings, test_postgres};

/// A database made for one test.
#[derive(Debug)]
pub struct Scratch {
    db: Database,
    url: String,
    /// The PostgreSQL database's name, to drop it.
    postgres: Option<String>,
}

impl std::ops::Deref for Scratch {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

fn name(tag: &str) -> String {
    format!("pulse_unit_{tag}_{}", std::process::id())
}

/// A fresh SQLite file in the temporary directory.
pub async fn sqlite(tag: &str) -> Scratch {
    let path = std::env::temp_dir().join(format!("{}.sqlite", name(tag)));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let url = format!("sqlite://{}", path.display());
    let db = Database::connect(&url, &PoolSettings::default())
        .await
        .unwrap();
    Scratch {
        db,
        url,
        postgres: None,
    }
}

/// A fresh PostgreSQL database (`PULSE_TEST_PG`, or the local server).
pub async fn postgres(tag: &str) -> Scratch {
    postgres_with(tag, &PoolSettings::default()).await
}

/// [`postgres`] with a pool set up by `settings`.
pub async fn postgres_with(tag: &str, settings: &PoolSettings) -> Scratch {
    let name = name(tag);
    let url = test_postgres::create(&name)
        .await
        .expect("PostgreSQL is required for this test");
    let db = Database::connect(&url, settings).await.unwrap();
    Scratch {
        db,
        url,
        postgres: Some(name),
    }
}

/// One database of each engine.
pub async fn both(tag: &str) -> Vec<Scratch> {
    vec![sqlite(tag).await, postgres(tag).await]
}

impl Scratch {
    /// The database opened as a host opens it: migrated.
    pub async fn migrated(&self) -> Database {
        Database::open(&self.url, &PoolSettings::default())
            .await
            .unwrap()
    }

    /// Closes the pool and removes the database.
    pub async fn remove(self) {
        self.db.pool.close().await;
        match &self.postgres {
            Some(name) => test_postgres::drop(name).await.unwrap(),
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
    }
}
