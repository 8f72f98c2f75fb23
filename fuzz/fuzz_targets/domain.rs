//! The domain compiler: JSON text parsed as a domain, compiled to SQL on
//! both engines for each model of a small registry with relations (also
//! as a user's search, narrowed by rules on the models it reaches), and
//! combined with itself and with the empty domain (whatever parses back
//! must be the same tree).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::{MODEL_NAMES, on_worker_stack, registry};
use pulse_orm::{Comodel, Comodels, Dialect, Domain};

/// What a user sees of a model reached through a relation: partners by a
/// rule, companies all, tags not at all.
fn comodel_rule(model: &str) -> Comodel {
    match model {
        "res.partner" => Comodel::Visible(Domain::parse_str(r#"[["active", "=", true]]"#).ok()),
        "res.company" => Comodel::Visible(None),
        _ => Comodel::Denied(format!("You are not allowed to access '{model}' records.")),
    }
}

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
                let _ = domain.to_sql(registry, model, dialect, &mut Vec::new());
            }
            // As a user's search: what the domain reaches through
            // relations is narrowed by rules, or refused.
            if let Ok(reached) = domain.comodels(registry, model) {
                let mut comodels = Comodels::default();
                for name in reached {
                    comodels.insert(&name, comodel_rule(&name));
                }
                let restricted = domain.clone().restricted(comodels);
                for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                    let _ = restricted.to_sql(registry, model, dialect, &mut Vec::new());
                }
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
