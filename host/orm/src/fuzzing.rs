//! Doors for the fuzz targets in `fuzz/`, not an API: ORM internals they
//! feed arbitrary input, reachable without making the internals public.

pub use crate::compile::order_by;
pub use crate::values::{SqlValue, to_sql as value_to_sql};
