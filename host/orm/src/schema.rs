//! Tables for models: create and drop. Identifiers come from validated
//! [`ModelDef`]s only.

use sqlx::Row;

use crate::{Connection, Dialect, ModelDef, OrmError};

/// Creates the table of `model` with one column per stored field, and the
/// indexes its fields ask for.
pub async fn create_table(
    conn: &mut Connection,
    dialect: Dialect,
    model: &ModelDef,
) -> Result<(), OrmError> {
    let mut columns = vec![format!("\"id\" {}", dialect.primary_key())];
    for field in model.fields() {
        let not_null = if field.spec.required { " NOT NULL" } else { "" };
        columns.push(format!(
            "\"{}\" {}{not_null}",
            field.name(),
            dialect.column_type(field.ttype())
        ));
    }
    let ddl = format!("CREATE TABLE \"{}\" ({})", model.table, columns.join(", "));
    sqlx::query(&ddl).execute(&mut *conn).await?;
    for field in model.fields().iter().filter(|f| f.spec.index) {
        let ddl = format!(
            "CREATE INDEX \"{table}__{column}_index\" ON \"{table}\" (\"{column}\")",
            table = model.table,
            column = field.name()
        );
        sqlx::query(&ddl).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Drops the table `table` (a name taken from the registry or the ownership ledger).
pub async fn drop_table(
    conn: &mut Connection,
    dialect: Dialect,
    table: &str,
) -> Result<(), OrmError> {
    if !crate::valid_field_name(table) {
        return Err(OrmError::Value(format!(
            "refusing to drop invalid table name {table:?}"
        )));
    }
    let cascade = match dialect {
        Dialect::Postgres => " CASCADE",
        Dialect::Sqlite => "",
    };
    sqlx::query(&format!("DROP TABLE IF EXISTS \"{table}\"{cascade}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the table `table` exists.
pub async fn table_exists(
    conn: &mut Connection,
    dialect: Dialect,
    table: &str,
) -> Result<bool, OrmError> {
    let sql = match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let row = sqlx::query(sql).bind(table).fetch_one(&mut *conn).await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}
