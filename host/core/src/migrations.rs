//! The host's own tables (module records, the ownership ledger, users, API
//! keys, grants, sessions, login-throttle counters), created and changed by
//! numbered migrations.
//!
//! Each migration runs once per database, in order, and is recorded in
//! `pulse_migrations`. Opening a database runs the missing ones in one
//! transaction; on PostgreSQL that transaction first takes an advisory
//! lock, so a second host starting at the same time waits, then finds
//! nothing left to do. A change to the host's tables is a new migration at
//! the end of [`MIGRATIONS`]; a released one is never edited.
//!
//! Databases made before migrations existed have no `pulse_migrations`
//! but already hold the tables of the first migrations, maybe without the
//! columns added later. Those migrations are written to find their work
//! done (`CREATE TABLE IF NOT EXISTS`, a column added only when it is
//! missing), so such a database is adopted as it is.

use pulse_orm::{Connection, Dialect};
use sqlx::Row;

use crate::Error;

/// What a migration does, one step at a time.
enum Step {
    /// A statement; `{pk}` and `{boolean}` stand for the dialect's
    /// primary-key and boolean types.
    Sql(&'static str),
    /// Adds a column unless the table has it already (databases made
    /// before migrations existed may), or does not exist yet (the `base`
    /// models' tables are made, whole, after the migrations).
    AddColumn {
        /// The table.
        table: &'static str,
        /// The column's name.
        column: &'static str,
        /// Its type and constraints.
        definition: &'static str,
    },
}

/// One numbered change of the host's tables.
pub struct Migration {
    /// Its place in the order; recorded once applied.
    pub number: i64,
    /// What it is, for the log and `pulse_migrations`.
    name: &'static str,
    /// Run in order, in the transaction of the whole upgrade.
    steps: &'static [Step],
}

/// Every migration, in the order they run. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        number: 1,
        name: "module records, ownership ledger, users, grants and API keys",
        steps: &[
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS ir_module_module (
                    id {pk},
                    name VARCHAR NOT NULL UNIQUE,
                    state VARCHAR NOT NULL,
                    latest_version VARCHAR,
                    shortdesc VARCHAR,
                    summary TEXT,
                    author VARCHAR,
                    application {boolean} NOT NULL DEFAULT FALSE,
                    depends TEXT NOT NULL DEFAULT '[]',
                    description_json TEXT,
                    component_hash VARCHAR,
                    sequence BIGINT NOT NULL DEFAULT 0
                )",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS ir_model (
                    id {pk},
                    model VARCHAR NOT NULL UNIQUE,
                    name VARCHAR,
                    table_name VARCHAR NOT NULL,
                    module VARCHAR NOT NULL
                )",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS ir_model_fields (
                    id {pk},
                    model VARCHAR NOT NULL,
                    name VARCHAR NOT NULL,
                    ttype VARCHAR NOT NULL,
                    module VARCHAR NOT NULL,
                    UNIQUE (model, name)
                )",
            ),
            // Counts lifecycle changes, so running hosts know to reload.
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS pulse_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)",
            ),
            // `db::REGISTRY_VERSION`, spelled out: a migration says what it
            // did then, whatever the constant becomes.
            Step::Sql(
                "INSERT INTO pulse_meta (key, value) VALUES ('registry_version', 0) \
                 ON CONFLICT (key) DO NOTHING",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS ir_model_relation (
                    id {pk},
                    name VARCHAR NOT NULL,
                    model VARCHAR NOT NULL,
                    field VARCHAR NOT NULL,
                    module VARCHAR NOT NULL
                )",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS ir_model_data (
                    id {pk},
                    module VARCHAR NOT NULL,
                    name VARCHAR NOT NULL,
                    model VARCHAR NOT NULL,
                    res_id BIGINT NOT NULL,
                    noupdate {boolean} NOT NULL DEFAULT FALSE,
                    UNIQUE (module, name)
                )",
            ),
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS res_users (
                    id {pk},
                    login VARCHAR NOT NULL UNIQUE,
                    name VARCHAR NOT NULL,
                    password VARCHAR,
                    active {boolean} NOT NULL DEFAULT TRUE
                )",
            ),
            // What the admin granted addons beyond the sandbox.
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS pulse_grants (
                    addon VARCHAR NOT NULL,
                    permission VARCHAR NOT NULL,
                    PRIMARY KEY (addon, permission)
                )",
            ),
            // API keys: only their SHA-256 digest is kept.
            Step::Sql(
                "CREATE TABLE IF NOT EXISTS res_users_apikeys (
                    id {pk},
                    user_id BIGINT NOT NULL,
                    name VARCHAR NOT NULL,
                    key_digest VARCHAR NOT NULL UNIQUE
                )",
            ),
        ],
    },
    Migration {
        number: 2,
        name: "the installed version of a module record",
        steps: &[Step::AddColumn {
            table: "ir_module_module",
            column: "installed_version",
            definition: "VARCHAR",
        }],
    },
    Migration {
        number: 3,
        name: "API keys as a model: scope, creation and expiry",
        steps: &[
            Step::AddColumn {
                table: "res_users_apikeys",
                column: "scope",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_users_apikeys",
                column: "create_date",
                definition: "TEXT",
            },
            Step::AddColumn {
                table: "res_users_apikeys",
                column: "expiration_date",
                definition: "TEXT",
            },
        ],
    },
    // Login sessions, shared by every host: by the SHA-256 digest of the
    // cookie's token, never the token. Times are Unix seconds.
    Migration {
        number: 4,
        name: "login sessions",
        steps: &[
            Step::Sql(
                "CREATE TABLE pulse_sessions (
                    token_digest VARCHAR PRIMARY KEY,
                    uid BIGINT NOT NULL,
                    stamp VARCHAR NOT NULL,
                    created_at BIGINT NOT NULL,
                    last_seen BIGINT NOT NULL
                )",
            ),
            Step::Sql("CREATE INDEX pulse_sessions_last_seen ON pulse_sessions (last_seen)"),
        ],
    },
    // Failed logins per throttle key (a login's digest or an address),
    // shared by every host. Times are Unix milliseconds.
    Migration {
        number: 5,
        name: "login-throttle counters",
        steps: &[
            Step::Sql(
                "CREATE TABLE pulse_login_failures (
                    key VARCHAR PRIMARY KEY,
                    failures BIGINT NOT NULL,
                    last_failure BIGINT NOT NULL
                )",
            ),
            Step::Sql(
                "CREATE INDEX pulse_login_failures_last ON pulse_login_failures (last_failure)",
            ),
        ],
    },
    // The job an addon exports (`#[cron]`): `ir.cron` is a table of the
    // `base` models, made whole by the seeding when it does not exist yet.
    Migration {
        number: 6,
        name: "scheduled jobs an addon exports",
        steps: &[Step::AddColumn {
            table: "ir_cron",
            column: "job",
            definition: "VARCHAR",
        }],
    },
    // Odoo's columns of the ledger and the module records (written by
    // `pulse_orm::ledger` and `module_records`), and of currencies: a
    // currency table made before has none of them.
    Migration {
        number: 7,
        name: "Odoo's columns of ir.model, ir.model.fields, ir.module.module and res.currency",
        steps: &[
            Step::Sql("ALTER TABLE ir_model ADD COLUMN info TEXT"),
            Step::Sql("ALTER TABLE ir_model ADD COLUMN state VARCHAR DEFAULT 'base'"),
            Step::Sql("ALTER TABLE ir_model ADD COLUMN modules VARCHAR"),
            Step::Sql("ALTER TABLE ir_model ADD COLUMN transient {boolean} NOT NULL DEFAULT FALSE"),
            Step::Sql("ALTER TABLE ir_model ADD COLUMN \"order\" VARCHAR DEFAULT 'id'"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN model_id BIGINT"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN field_description VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN help TEXT"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN relation VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN relation_field VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN selection TEXT"),
            Step::Sql(
                "ALTER TABLE ir_model_fields ADD COLUMN required {boolean} NOT NULL DEFAULT FALSE",
            ),
            Step::Sql(
                "ALTER TABLE ir_model_fields ADD COLUMN readonly {boolean} NOT NULL DEFAULT FALSE",
            ),
            Step::Sql(
                "ALTER TABLE ir_model_fields ADD COLUMN store {boolean} NOT NULL DEFAULT TRUE",
            ),
            Step::Sql(
                "ALTER TABLE ir_model_fields ADD COLUMN \"index\" {boolean} NOT NULL DEFAULT FALSE",
            ),
            Step::Sql(
                "ALTER TABLE ir_model_fields ADD COLUMN copied {boolean} NOT NULL DEFAULT FALSE",
            ),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN related VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN compute VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN depends VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN on_delete VARCHAR"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN state VARCHAR DEFAULT 'base'"),
            Step::Sql("ALTER TABLE ir_model_fields ADD COLUMN modules VARCHAR"),
            Step::Sql("ALTER TABLE ir_module_module ADD COLUMN description TEXT"),
            Step::Sql("ALTER TABLE ir_module_module ADD COLUMN website VARCHAR"),
            Step::Sql("ALTER TABLE ir_module_module ADD COLUMN license VARCHAR"),
            Step::Sql("ALTER TABLE ir_module_module ADD COLUMN icon VARCHAR"),
            Step::Sql("ALTER TABLE ir_module_module ADD COLUMN category_id BIGINT"),
            Step::AddColumn {
                table: "res_currency",
                column: "full_name",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_currency",
                column: "decimal_places",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_currency",
                column: "position",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_currency",
                column: "currency_unit_label",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_currency",
                column: "currency_subunit_label",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_currency",
                column: "rate",
                definition: "DOUBLE PRECISION",
            },
        ],
    },
    // Odoo 19's people and companies: a user's partner, companies and
    // preferences, the partner's hierarchy and tags, the company's partner;
    // `groups_id` is Odoo 19's `group_ids` (the relation table stays).
    // Users and companies without a partner get one from the seeding
    // (`base::ensure`), which also computes what the new columns derive.
    Migration {
        number: 8,
        name: "people and companies as Odoo 19 has them",
        steps: &[
            Step::AddColumn {
                table: "res_users",
                column: "partner_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_users",
                column: "email",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_users",
                column: "lang",
                definition: "VARCHAR DEFAULT 'en_US'",
            },
            Step::AddColumn {
                table: "res_users",
                column: "tz",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_users",
                column: "company_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_users",
                column: "login_date",
                definition: "TEXT",
            },
            Step::AddColumn {
                table: "res_users",
                column: "share",
                definition: "{boolean}",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "complete_name",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "parent_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "ref",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "lang",
                definition: "VARCHAR DEFAULT 'en_US'",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "tz",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "website",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "employee",
                definition: "{boolean}",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "function",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "type",
                definition: "VARCHAR DEFAULT 'contact'",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "street2",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "company_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "color",
                definition: "BIGINT DEFAULT 0",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "commercial_partner_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "state_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_partner",
                column: "country_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_company",
                column: "state_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_company",
                column: "country_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_company",
                column: "partner_id",
                definition: "BIGINT",
            },
            Step::AddColumn {
                table: "res_company",
                column: "street2",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_company",
                column: "zip",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_company",
                column: "email",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_company",
                column: "phone",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_company",
                column: "website",
                definition: "VARCHAR",
            },
            Step::AddColumn {
                table: "res_company",
                column: "active",
                definition: "{boolean} DEFAULT TRUE",
            },
            Step::Sql(
                "UPDATE ir_model_fields SET name = 'group_ids' WHERE model = 'res.users' AND name = 'groups_id'",
            ),
        ],
    },
];

/// The PostgreSQL advisory lock that serializes setting a database up
/// (migrations, then seeding) between hosts starting at once: an arbitrary
/// number, the same in every Pulse ("pulsemig" in ASCII).
const SETUP_LOCK: i64 = 0x7075_6c73_656d_6967;

/// Makes hosts setting up the database wait for each other: on PostgreSQL,
/// takes [`SETUP_LOCK`] until `tx` ends. SQLite has one writer at a time
/// anyway.
#[crate::boxed]
pub async fn lock(tx: &mut Connection, dialect: Dialect) -> Result<(), sqlx::Error> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SETUP_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Runs the migrations the database lacks, in order, in `tx` (the caller
/// commits), and answers their numbers. A database migrated by a newer
/// Pulse (it has a number this one does not know) is refused rather than
/// used with tables this code does not expect.
#[crate::boxed]
pub async fn apply(tx: &mut Connection, dialect: Dialect) -> Result<Vec<i64>, Error> {
    lock(tx, dialect).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS pulse_migrations (
            number BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await?;
    let done: Vec<i64> = sqlx::query("SELECT number FROM pulse_migrations")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.number);
    if let Some(newer) = done.iter().copied().filter(|n| *n > latest).max() {
        return Err(Error::Config(format!(
            "the database has migration {newer}, made by a newer Pulse; this one knows up to {latest}"
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| !done.contains(&m.number)) {
        for step in migration.steps {
            run(tx, dialect, step).await?;
        }
        sqlx::query("INSERT INTO pulse_migrations (number, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.number)
            .bind(migration.name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tracing::info!(
            number = migration.number,
            name = migration.name,
            "migration applied"
        );
        applied.push(migration.number);
    }
    Ok(applied)
}

async fn run(tx: &mut Connection, dialect: Dialect, step: &Step) -> Result<(), sqlx::Error> {
    match step {
        Step::Sql(sql) => {
            let sql = sql
                .replace("{pk}", dialect.primary_key())
                .replace("{boolean}", dialect.boolean_type());
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        Step::AddColumn {
            table,
            column,
            definition,
        } => {
            if present(tx, dialect, table, None).await?
                && !present(tx, dialect, table, Some(column)).await?
            {
                let definition = definition.replace("{boolean}", dialect.boolean_type());
                sqlx::query(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {definition}"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// Whether `table` exists (`column` `None`), or has `column`.
#[crate::boxed]
pub async fn present(
    tx: &mut Connection,
    dialect: Dialect,
    table: &str,
    column: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let query = match (dialect, column) {
        (Dialect::Sqlite, None) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
        }
        (Dialect::Sqlite, Some(_)) => "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2",
        (Dialect::Postgres, None) => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 \
             AND table_schema = current_schema()"
        }
        (Dialect::Postgres, Some(_)) => {
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = $1 \
             AND column_name = $2 AND table_schema = current_schema()"
        }
    };
    let mut query = sqlx::query_scalar(query).bind(table);
    if let Some(column) = column {
        query = query.bind(column);
    }
    let present: i64 = query.fetch_one(&mut *tx).await?;
    Ok(present > 0)
}
