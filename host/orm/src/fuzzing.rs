//! Doors for the fuzz targets in `fuzz/`, not an API: ORM internals they
//! feed arbitrary input, reachable without making the internals public.

pub use crate::compile::order_by;
pub use crate::values::{SqlValue, to_sql as value_to_sql};

#[cfg(test)]
mod tests {
    use crate::dialect::Dialect;
    use crate::domain::Domain;
    use crate::registry::Registry;

    /// Where the server decodes requests: a tokio worker's stack.
    const WORKER_STACK: usize = 2 << 20;

    /// The domain target's saved crashers (`fuzz/regressions/domain/`,
    /// paths of 1,500 fields through many2one and one2many fields that
    /// overflowed a worker's stack) are refused by the path limit, on a
    /// stack the size of the server's.
    #[test]
    fn saved_domain_crashers_are_refused() {
        let spec = serde_json::json!({"name": "res.partner", "fields": [
            {"name": "name", "type": "char"},
            {"name": "parent_id", "type": "many2one", "relation": "res.partner"},
            {"name": "child_ids", "type": "one2many", "relation": "res.partner", "inverse": "parent_id"},
        ]});
        let mut registry = Registry::new();
        registry
            .apply(&serde_json::from_value(spec).unwrap(), "fuzz")
            .unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/regressions/domain");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let registry = registry.clone();
            let outcome = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    let model = registry.get("res.partner").unwrap();
                    let domain = Domain::parse_str(&text)?;
                    domain.to_sql(&registry, model, Dialect::Postgres, &mut Vec::new())
                })
                .unwrap()
                .join()
                .unwrap();
            let error = outcome.expect_err("a path of 1,500 fields is refused");
            assert!(
                error
                    .to_string()
                    .contains("goes through 1501 fields, more than the 16"),
                "{}: {error}",
                path.display()
            );
            seen += 1;
        }
        assert_eq!(seen, 2, "the saved crashers of {dir}");
    }
}
