//! Tables for models and their many2many relation tables: create, alter
//! and drop. Identifiers come from validated [`ModelDef`]s only.

use sqlx::Row;

use crate::dialect::Dialect;
use crate::error::OrmError;
use crate::registry::{FieldDef, ModelDef, table_name, valid_field_name};
use crate::sql::Connection;

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
    execute(
        conn,
        &format!("CREATE TABLE \"{}\" ({})", model.table, columns.join(", ")),
    )
    .await?;
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
        create_relation_table(conn, model, field).await?;
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
    field: &FieldDef,
) -> Result<(), OrmError> {
    if field.spec.related.is_some() {
        return Ok(());
    }
    match field.ttype() {
        pulse_schema::FieldType::One2many => return Ok(()),
        pulse_schema::FieldType::Many2many => {
            create_relation_table(conn, model, field).await?;
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
    execute(conn, &ddl).await?;
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
    execute(conn, &ddl).await
}

/// Runs one DDL statement.
async fn execute(conn: &mut Connection, ddl: &str) -> Result<(), OrmError> {
    sqlx::query(ddl).execute(&mut *conn).await?;
    Ok(())
}

/// Refuses with `refusal` unless every one of `names` is a valid
/// identifier: names read back from the ledger are written into DDL,
/// where no bind parameter can stand for them.
fn valid_names(names: &[&str], refusal: impl FnOnce() -> String) -> Result<(), OrmError> {
    if names.iter().all(|name| valid_field_name(name)) {
        Ok(())
    } else {
        Err(OrmError::value(refusal()))
    }
}

/// Drops the column `column` of `table` (names from the ownership ledger),
/// with its index.
pub async fn drop_column(conn: &mut Connection, table: &str, column: &str) -> Result<(), OrmError> {
    valid_names(&[table, column], || {
        format!("refusing to drop invalid column {table:?}.{column:?}")
    })?;
    let index = index_name(table, column);
    execute(conn, &format!("DROP INDEX IF EXISTS \"{index}\"")).await?;
    execute(
        conn,
        &format!("ALTER TABLE \"{table}\" DROP COLUMN \"{column}\""),
    )
    .await
}

/// Number of rows of `table` where `column` holds a value (all rows when `column` is `None`).
pub async fn count_values(
    conn: &mut Connection,
    table: &str,
    column: Option<&str>,
) -> Result<i64, OrmError> {
    let names: Vec<&str> = std::iter::once(table).chain(column).collect();
    valid_names(&names, || {
        format!("invalid identifier in {table:?}.{column:?}")
    })?;
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
    valid_names(&[table], || {
        format!("refusing to drop invalid table name {table:?}")
    })?;
    let cascade = match dialect {
        Dialect::Postgres => " CASCADE",
        Dialect::Sqlite => "",
    };
    execute(conn, &format!("DROP TABLE IF EXISTS \"{table}\"{cascade}")).await
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

/// The relation table of a many2many and its two columns: this side's, the other side's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationTable {
    /// The table, e.g. `lab_partner_lab_tag_rel`.
    pub table: String,
    /// The column holding ids of the field's own model.
    pub own: String,
    /// The column holding ids of the related model.
    pub other: String,
}

/// The relation table of the many2many `field` of `model`.
pub fn relation_table(model: &ModelDef, field: &FieldDef) -> Result<RelationTable, OrmError> {
    let target = table_name(field.spec.relation.as_deref().unwrap_or_default());
    if target == model.table {
        // A model related to itself (e.g. groups implying groups): the
        // table and the second column are named after the field.
        return Ok(RelationTable {
            table: format!("{}_{}_rel", model.table, field.name()),
            own: format!("{}_id", model.table),
            other: format!("{}_id", field.name()),
        });
    }
    let (first, second) = if model.table < target {
        (&model.table, &target)
    } else {
        (&target, &model.table)
    };
    Ok(RelationTable {
        table: format!("{first}_{second}_rel"),
        own: format!("{}_id", model.table),
        other: format!("{target}_id"),
    })
}

/// Creates the relation table of a many2many (shared by both sides).
pub async fn create_relation_table(
    conn: &mut Connection,
    model: &ModelDef,
    field: &FieldDef,
) -> Result<RelationTable, OrmError> {
    let rel = relation_table(model, field)?;
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS \"{t}\" (\"{a}\" BIGINT NOT NULL, \"{b}\" BIGINT NOT NULL, PRIMARY KEY (\"{a}\", \"{b}\"))",
        t = rel.table,
        a = rel.own,
        b = rel.other
    );
    execute(conn, &ddl).await?;
    Ok(rel)
}
