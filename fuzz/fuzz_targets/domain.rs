//! The domain compiler: JSON text parsed as a domain, compiled to SQL on
//! both engines for each model of a small registry with relations, and
//! combined with itself and with the empty domain (whatever parses back
//! must be the same tree).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::{MODEL_NAMES, on_worker_stack, registry};
use pulse_orm::{Dialect, Domain};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    on_worker_stack(|| {
        let Ok(domain) = Domain::parse_str(text) else {
            return;
        };
        let registry = registry();
        for name in MODEL_NAMES {
            let model = registry.get(name).expect("a model of the registry");
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let mut params = Vec::new();
                let _ = domain.to_sql(registry, model, dialect, &mut params);
            }
        }
        // Combining may pass the term or nesting limits; whatever parses
        // back must be the same tree.
        for combined in [domain.and(&domain), domain.or(&Domain::all())] {
            if let Ok(reparsed) = Domain::parse(combined.source()) {
                assert_eq!(reparsed.root(), combined.root(), "{}", combined.source());
            }
        }
    });
});
