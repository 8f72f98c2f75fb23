//! The ORM as addons see it: one transaction, one registry snapshot.

use pulse_orm::{Domain, Orm, OrmError, Record, SearchOptions};
use pulse_runtime::{AddonError, OrmBackend};
use sqlx::{Any, Transaction};

/// An ORM session bound to a transaction; lent to an addon for one call and
/// returned afterwards so the caller commits or rolls back.
pub struct TxOrm {
    /// The transaction every call runs in.
    pub tx: Transaction<'static, Any>,
    /// The ORM over the registry the call sees.
    pub orm: Orm,
}

/// The addon-facing kind of an ORM error.
fn addon_error(e: OrmError) -> AddonError {
    {
        match e {
            OrmError::Access(m) => AddonError::Access(m),
            OrmError::Validation(m) => AddonError::Validation(m),
            OrmError::Missing(m) => AddonError::Missing(m),
            OrmError::User(m) | OrmError::Value(m) => AddonError::User(m),
            OrmError::Database(e) => AddonError::Internal(e.to_string()),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, AddonError> {
    serde_json::from_str(text)
        .map_err(|e| AddonError::User(format!("invalid JSON for {what}: {e}")))
}

impl OrmBackend for TxOrm {
    async fn search(
        &mut self,
        model: &str,
        domain: &str,
        offset: u32,
        limit: Option<u32>,
        order: Option<&str>,
    ) -> Result<Vec<i64>, AddonError> {
        let domain = Domain::parse_str(domain).map_err(addon_error)?;
        let options = SearchOptions {
            offset,
            limit,
            order: order.map(str::to_string),
        };
        self.orm
            .search(&mut self.tx, model, &domain, &options)
            .await
            .map_err(addon_error)
    }

    async fn search_count(&mut self, model: &str, domain: &str) -> Result<u64, AddonError> {
        let domain = Domain::parse_str(domain).map_err(addon_error)?;
        self.orm
            .search_count(&mut self.tx, model, &domain)
            .await
            .map_err(addon_error)
    }

    async fn read(
        &mut self,
        model: &str,
        ids: &[i64],
        fields: &[String],
    ) -> Result<String, AddonError> {
        let records = self
            .orm
            .read(&mut self.tx, model, ids, fields)
            .await
            .map_err(addon_error)?;
        serde_json::to_string(&records).map_err(|e| AddonError::Internal(e.to_string()))
    }

    async fn create(&mut self, model: &str, rows: &str) -> Result<Vec<i64>, AddonError> {
        let rows: Vec<Record> = parse(rows, "create rows")?;
        self.orm
            .create(&mut self.tx, model, &rows)
            .await
            .map_err(addon_error)
    }

    async fn write(&mut self, model: &str, ids: &[i64], values: &str) -> Result<(), AddonError> {
        let values: Record = parse(values, "write values")?;
        self.orm
            .write(&mut self.tx, model, ids, &values)
            .await
            .map_err(addon_error)
    }

    async fn unlink(&mut self, model: &str, ids: &[i64]) -> Result<(), AddonError> {
        self.orm
            .unlink(&mut self.tx, model, ids)
            .await
            .map_err(addon_error)
    }
}
