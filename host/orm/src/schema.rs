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
    for field in model.fields().iter().filter(|f| f.has_column()) {
        let not_null = if field.spec.required && field.spec.compute.is_none() {
            " NOT NULL"
        } else {
            ""
        };
        columns.push(format!(
            "\"{}\" {}{not_null}",
            field.name(),
            dialect.column_type(field.ttype())
        ));
    }
    let ddl = format!("CREATE TABLE \"{}\" ({})", model.table, columns.join(", "));
    sqlx::query(&ddl).execute(&mut *conn).await?;
    for field in model
        .fields()
        .iter()
        .filter(|f| f.has_column() && (f.spec.index || f.spec.unique))
    {
        create_index(conn, &model.table, field.name(), field.spec.unique).await?;
    }
    for field in model
        .fields()
        .iter()
        .filter(|f| f.ttype() == pulse_schema::FieldType::Many2many)
    {
        crate::x2many::create_relation_table(conn, model, field).await?;
    }
    Ok(())
}

/// Adds the column of `field` to the table of `model`. Added columns are
/// nullable whatever the field says, because existing rows have no value;
/// the ORM enforces `required` on writes.
pub async fn add_column(
    conn: &mut Connection,
    dialect: Dialect,
    model: &ModelDef,
    field: &crate::FieldDef,
) -> Result<(), OrmError> {
    if field.spec.related.is_some() {
        return Ok(());
    }
    match field.ttype() {
        pulse_schema::FieldType::One2many => return Ok(()),
        pulse_schema::FieldType::Many2many => {
            crate::x2many::create_relation_table(conn, model, field).await?;
            return Ok(());
        }
        _ => {}
    }
    let ddl = format!(
        "ALTER TABLE \"{}\" ADD COLUMN \"{}\" {}",
        model.table,
        field.name(),
        dialect.column_type(field.ttype())
    );
    sqlx::query(&ddl).execute(&mut *conn).await?;
    if field.spec.index || field.spec.unique {
        create_index(conn, &model.table, field.name(), field.spec.unique).await?;
    }
    Ok(())
}

/// `<table>__<column>_index`, or, past PostgreSQL's 63-character limit
/// (where it would be truncated and could collide), a name with a stable
/// hash of it.
fn index_name(table: &str, column: &str) -> String {
    let name = format!("{table}__{column}_index");
    if name.len() <= 63 {
        return name;
    }
    // FNV-1a: stable across builds and platforms.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}__{hash:016x}_index", &table[..table.len().min(38)])
}

/// The index of an indexed field, named `<table>__<column>_index` so that
/// dropping the column can find it.
async fn create_index(
    conn: &mut Connection,
    table: &str,
    column: &str,
    unique: bool,
) -> Result<(), OrmError> {
    let unique = if unique { "UNIQUE " } else { "" };
    let ddl = format!(
        "CREATE {unique}INDEX \"{}\" ON \"{table}\" (\"{column}\")",
        index_name(table, column)
    );
    sqlx::query(&ddl).execute(&mut *conn).await?;
    Ok(())
}

/// Drops the column `column` of `table` (names from the ownership ledger),
/// with its index.
pub async fn drop_column(conn: &mut Connection, table: &str, column: &str) -> Result<(), OrmError> {
    if !crate::valid_field_name(table) || !crate::valid_field_name(column) {
        return Err(OrmError::Value(format!(
            "refusing to drop invalid column {table:?}.{column:?}"
        )));
    }
    sqlx::query(&format!(
        "DROP INDEX IF EXISTS \"{}\"",
        index_name(table, column)
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!("ALTER TABLE \"{table}\" DROP COLUMN \"{column}\""))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Number of rows of `table` where `column` holds a value (all rows when `column` is `None`).
pub async fn count_values(
    conn: &mut Connection,
    table: &str,
    column: Option<&str>,
) -> Result<i64, OrmError> {
    let names_ok = crate::valid_field_name(table) && column.is_none_or(crate::valid_field_name);
    if !names_ok {
        return Err(OrmError::Value(format!(
            "invalid identifier in {table:?}.{column:?}"
        )));
    }
    let sql = match column {
        Some(c) => format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"{c}\" IS NOT NULL"),
        None => format!("SELECT COUNT(*) FROM \"{table}\""),
    };
    Ok(sqlx::query(&sql)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?)
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
