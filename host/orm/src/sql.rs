//! The SQL helpers every part of the ORM shares: the connection type,
//! parameter lists, id chunks and how a database error reads. A leaf: it
//! knows no model, so any module may use it without a cycle.

use sqlx::any::AnyRow;

use crate::dialect::Dialect;
use crate::error::OrmError;

/// The connection type every ORM call runs on (a transaction derefs to it).
pub type Connection = sqlx::AnyConnection;

/// How many ids go into one `IN (…)` list.
pub(crate) const ID_CHUNK: usize = 1000;

/// `$start, $start+1, …` for `count` parameters.
pub(crate) fn placeholders(dialect: Dialect, start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| dialect.param(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Database constraint violations are the caller's mistake: a ValidationError.
/// The same words on every engine for a unique violation, naming the
/// column (`table.column`) when the engine says which.
pub(crate) fn constraint_error(error: sqlx::Error) -> OrmError {
    match &error {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            // SQLite: "UNIQUE constraint failed: table.column"; PostgreSQL
            // names the index, `<table>__<column>_index`.
            let column = db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .map(str::to_string)
                .or_else(|| {
                    let index = db.constraint()?;
                    let (table, rest) = index.split_once("__")?;
                    Some(format!("{table}.{}", rest.strip_suffix("_index")?))
                });
            OrmError::validation(match column {
                Some(column) => format!(
                    "The operation cannot be completed: another record already has this value of {column}, which must be unique"
                ),
                None => "The operation cannot be completed: another record already has a value that must be unique".to_string(),
            })
        }
        sqlx::Error::Database(db) if db.kind() != sqlx::error::ErrorKind::Other => {
            OrmError::validation(format!(
                "The operation cannot be completed: {}",
                db.message()
            ))
        }
        _ => OrmError::Database(error),
    }
}

/// The first two columns of every row `select` (a query without
/// parameters) answers.
pub async fn pairs<A, B>(conn: &mut Connection, select: &str) -> Result<Vec<(A, B)>, sqlx::Error>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    B: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    sqlx::query(select)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Binds `ids` to the next parameters of `query`.
fn bind_ids<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ids: &[i64],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for id in ids {
        query = query.bind(*id);
    }
    query
}

/// The rows of one statement per [`ID_CHUNK`] of `ids`: `statement` is
/// given the placeholders of a chunk (`$1, $2, …`) and answers the SQL,
/// which is run with the chunk's ids bound.
pub(crate) async fn fetch_by_ids(
    conn: &mut Connection,
    dialect: Dialect,
    ids: &[i64],
    statement: impl Fn(&str) -> String,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = statement(&placeholders(dialect, 1, chunk.len()));
        rows.extend(
            bind_ids(sqlx::query(&sql), chunk)
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(rows)
}

/// [`fetch_by_ids`] for statements that answer no rows.
pub(crate) async fn execute_by_ids(
    conn: &mut Connection,
    dialect: Dialect,
    ids: &[i64],
    statement: impl Fn(&str) -> String,
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = statement(&placeholders(dialect, 1, chunk.len()));
        bind_ids(sqlx::query(&sql), chunk)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `ids` in ascending order, each once.
pub(crate) fn sorted_unique(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    ids.into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
