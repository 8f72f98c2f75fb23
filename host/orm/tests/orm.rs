//! Unit tests of `pulse-orm`, compiled into the end-to-end test binary
//! (`tests/e2e.rs`, module `units::orm`): one binary to build and link
//! instead of the crate compiled a second time as its own test harness.

mod values {
    use pulse_orm::internals::{is_date, is_datetime, round_to};

    #[test]
    fn floats_round_to_their_scale() {
        assert_eq!(round_to(1.234, 2), 1.23);
        assert_eq!(round_to(1.235, 2), 1.24);
        assert_eq!(round_to(2.675, 2), 2.68);
        assert_eq!(round_to(-1.005, 2), -1.01);
        assert_eq!(round_to(7.0, 0), 7.0);
    }

    #[test]
    fn date_formats() {
        assert!(is_date("2026-11-26"));
        assert!(!is_date("2026-1-26"));
        assert!(!is_date("2026-13-01"), "no month 13");
        assert!(!is_date("2026-02-30"), "no 30 February");
        assert!(is_date("2024-02-29"), "a leap day");
        assert!(!is_date("2026-02-29"), "not a leap year");
        assert!(!is_datetime("2026-11-26 24:00:00"));
        assert!(!is_datetime("2026-11-26 10:60:00"));
        assert!(is_datetime("2026-11-26 10:00:00"));
        assert!(!is_datetime("2026-11-26"));
        assert!(
            !is_datetime("2024-01-0\u{e9}12:00:00"),
            "multi-byte text is no datetime, and no panic"
        );
    }
}

mod compile {
    use std::collections::BTreeSet;

    use pulse_orm::internals::{SqlValue, order_by};
    use pulse_orm::{Comodel, Comodels, Dialect, Domain, ModelDef, OrmError, Registry, Term};
    use pulse_schema::{Exception, FieldSpec, FieldType, ModelSpec};
    use serde_json::{Value, json};

    fn model() -> ModelDef {
        let field = |name: &str, ttype| FieldSpec::new(name, ttype);
        ModelDef::from_spec(
            &ModelSpec {
                name: "todo.task".into(),
                description: String::new(),
                fields: vec![
                    field("name", FieldType::Char),
                    field("done", FieldType::Boolean),
                ],
                extends: false,
                checks: Vec::new(),
            },
            "todo",
        )
        .unwrap()
    }

    fn sql(domain: Value) -> Result<(String, Vec<SqlValue>), OrmError> {
        let mut params = Vec::new();
        let mut registry = Registry::new();
        registry.insert(model())?;
        let sql =
            Domain::parse(&domain)?.to_sql(&registry, &model(), Dialect::Postgres, &mut params)?;
        Ok((sql, params))
    }

    #[test]
    fn prefix_operators_and_implicit_and() {
        let (s, p) = sql(json!([
            "|",
            ["name", "=", "a"],
            ["done", "=", true],
            ["id", ">", 3]
        ]))
        .unwrap();
        assert_eq!(s, "((\"name\" = $1 OR \"done\" = $2) AND \"id\" > $3)");
        assert_eq!(
            p,
            vec![
                SqlValue::Text("a".into()),
                SqlValue::Bool(true),
                SqlValue::Int(3)
            ]
        );
    }

    #[test]
    fn like_is_escaped_and_bound() {
        let (s, p) = sql(json!([["name", "ilike", "50%_off"]])).unwrap();
        assert_eq!(s, "LOWER(\"name\") LIKE LOWER($1) ESCAPE '\\'");
        assert_eq!(p, vec![SqlValue::Text("%50\\%\\_off%".into())]);
    }

    #[test]
    fn hostile_input_is_rejected() {
        assert!(sql(json!([["name; drop table x", "=", 1]])).is_err());
        assert!(sql(json!([["name", "= 1 or 1=1 --", 1]])).is_err());
        assert!(sql(json!(["&", ["name", "=", 1]])).is_err());
        assert!(order_by(&model(), Some("name; drop table x")).is_err());
        assert!(order_by(&model(), Some("name desc, secret")).is_err());
        assert_eq!(
            order_by(&model(), Some("name desc")).unwrap(),
            "\"name\" DESC NULLS FIRST, \"id\" ASC"
        );
    }

    /// `hr.employee` (with a manager and a user) and `res.users`.
    fn directory() -> Registry {
        let field = |name: &str, ttype| FieldSpec::new(name, ttype);
        let relation = |name: &str, ttype, model: &str| FieldSpec {
            relation: Some(model.into()),
            ..FieldSpec::new(name, ttype)
        };
        let spec = |name: &str, fields| ModelSpec {
            name: String::from(name),
            description: String::new(),
            fields,
            extends: false,
            checks: Vec::new(),
        };
        let mut registry = Registry::new();
        let users = spec(
            "res.users",
            vec![
                field("login", FieldType::Char),
                FieldSpec {
                    inverse: Some("user_id".into()),
                    ..relation("employee_ids", FieldType::One2many, "hr.employee")
                },
            ],
        );
        let employees = spec(
            "hr.employee",
            vec![
                field("name", FieldType::Char),
                relation("user_id", FieldType::Many2one, "res.users"),
                relation("parent_id", FieldType::Many2one, "hr.employee"),
            ],
        );
        registry
            .insert(ModelDef::from_spec(&users, "base").unwrap())
            .unwrap();
        registry
            .insert(ModelDef::from_spec(&employees, "hr").unwrap())
            .unwrap();
        registry
    }

    fn employee_sql(domain: &Domain) -> Result<String, OrmError> {
        let registry = directory();
        let model = registry.get("hr.employee").unwrap().clone();
        domain.to_sql(&registry, &model, Dialect::Postgres, &mut Vec::new())
    }

    fn message(error: OrmError) -> String {
        match error {
            OrmError::Raised(Exception::Value(m)) => m,
            other => panic!("expected a ValueError, got {other:?}"),
        }
    }

    #[test]
    fn a_path_of_thousands_of_fields_is_refused_by_name() {
        let path = vec!["parent_id"; 5_000].join(".") + ".name";
        let error = Domain::parse(&json!([[path, "=", "x"]])).unwrap_err();
        let text = message(error);
        assert!(
            text.contains("goes through 5001 fields, more than the 16 a path may have"),
            "{text}"
        );
        assert!(text.len() < 300, "the message repeats the path in full");
        let path = vec!["parent_id"; 15].join(".") + ".name";
        let ok = Domain::parse(&json!([[path, "=", "x"]])).unwrap();
        employee_sql(&ok).unwrap();
    }

    #[test]
    fn long_chains_of_one_operator_flatten_and_alternations_are_bounded() {
        // Odoo's OR() of 5,000 leaves: '|' * 4999 then the leaves.
        let mut items: Vec<Value> = vec![json!("|"); 4_999];
        items.extend((0..5_000).map(|i| json!(["id", "=", i])));
        let domain = Domain::parse(&Value::Array(items)).unwrap();
        let Term::Or(children) = domain.root() else {
            panic!("one OR node")
        };
        assert_eq!(children.len(), 5_000);
        let sql = employee_sql(&domain).unwrap();
        // SQLite refuses expressions past 1,000 deep: the SQL is a balanced
        // tree of 5,000 leaves, not a chain of them.
        let (mut depth, mut deepest) = (0i32, 0);
        for c in sql.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        assert_eq!(sql.matches(" OR ").count(), 4_999);
        assert!(deepest <= 14, "{deepest} deep");
        // Right-nested: '|', a, '|', b, '|', c, …
        let mut items = Vec::new();
        for i in 0..4_999 {
            items.push(json!("|"));
            items.push(json!(["id", "=", i]));
        }
        items.push(json!(["id", "=", 4_999]));
        let right = Domain::parse(&Value::Array(items)).unwrap();
        assert_eq!(right.root(), domain.root());
        // '!' and '|' alternating, 5,000 deep: refused, naming the limit.
        let mut items = Vec::new();
        for _ in 0..2_500 {
            items.push(json!("!"));
            items.push(json!("|"));
            items.push(json!(["id", "=", 1]));
        }
        items.push(json!(["id", "=", 2]));
        let text = message(Domain::parse(&Value::Array(items)).unwrap_err());
        assert!(text.contains("nest more than 32 deep"), "{text}");
        // 'any' sub-domains count as nesting.
        let mut nested = json!([["id", "=", 1]]);
        for _ in 0..100 {
            nested = json!([["parent_id", "any", nested]]);
        }
        let text = message(Domain::parse(&nested).unwrap_err());
        assert!(text.contains("nest more than 32 deep"), "{text}");
        // Terms of sub-domains count towards the domain's terms.
        let wide: Vec<Value> = (0..6_000).map(|i| json!(["id", "=", i])).collect();
        let twice = json!([["parent_id", "any", wide], ["user_id", "any", wide]]);
        let text = message(Domain::parse(&twice).unwrap_err());
        assert!(text.contains("more than the 10000 allowed"), "{text}");
    }

    #[test]
    fn searches_through_relations_apply_the_comodels_rules() {
        let registry = directory();
        let employees = registry.get("hr.employee").unwrap().clone();
        let leak = Domain::parse(&json!([["user_id.login", "=like", "ad%"]])).unwrap();
        let reached = leak.comodels(&registry, &employees).unwrap();
        assert_eq!(reached, BTreeSet::from(["res.users".to_string()]));
        // Without read access to the comodel: refused.
        let mut denied = Comodels::default();
        denied.insert("res.users", Comodel::Denied("no users for you".into()));
        let error = employee_sql(&leak.clone().restricted(denied.clone())).unwrap_err();
        assert!(
            matches!(&error, OrmError::Raised(Exception::Access(m)) if m == "no users for you")
        );
        // With rules: they are AND-ed inside the subquery.
        let mut ruled = Comodels::default();
        let own = Domain::parse(&json!([["id", "=", 7]])).unwrap();
        ruled.insert("res.users", Comodel::Visible(Some(own)));
        let sql = employee_sql(&leak.clone().restricted(ruled.clone())).unwrap();
        assert_eq!(
            sql,
            "\"user_id\" IN (SELECT \"id\" FROM \"res_users\" WHERE \"login\" LIKE $1 ESCAPE '\\' AND (\"id\" = $2))"
        );
        // The same for any, x2many paths and hierarchies; a model nobody
        // decided on is refused.
        for domain in [
            json!([["user_id", "any", [["login", "=", "admin"]]]]),
            json!([["user_id", "not any", [["login", "=", "admin"]]]]),
            json!([["user_id.employee_ids.name", "=", "x"]]),
            json!([["parent_id", "child_of", 1]]),
            json!([["id", "parent_of", 1]]),
        ] {
            let domain = Domain::parse(&domain).unwrap();
            let reached = domain.comodels(&registry, &employees).unwrap();
            assert!(!reached.is_empty(), "{domain:?}");
            let error = employee_sql(&domain.restricted(Comodels::default())).unwrap_err();
            assert!(
                matches!(error, OrmError::Raised(Exception::Access(_))),
                "{error:?}"
            );
        }
        // Rules of the comodel are compiled as superuser: their own paths
        // need no further decision.
        let mut by_path = Comodels::default();
        let rule = Domain::parse(&json!([["employee_ids.name", "=", "x"]])).unwrap();
        by_path.insert("res.users", Comodel::Visible(Some(rule)));
        employee_sql(&leak.restricted(by_path)).unwrap();
    }

    #[test]
    fn related_fields_that_loop_are_bounded_at_compile_time() {
        let mut registry = directory();
        let looping = ModelSpec {
            name: "loop.model".into(),
            description: String::new(),
            fields: vec![
                FieldSpec {
                    related: Some("b".into()),
                    ..FieldSpec::new("a", FieldType::Char)
                },
                FieldSpec {
                    related: Some("a".into()),
                    ..FieldSpec::new("b", FieldType::Char)
                },
            ],
            extends: false,
            checks: Vec::new(),
        };
        registry
            .insert(ModelDef::from_spec(&looping, "x").unwrap())
            .unwrap();
        let error = registry.validate().unwrap_err().to_string();
        assert!(
            error.contains("related fields loop: loop.model."),
            "{error}"
        );
        let model = registry.get("loop.model").unwrap().clone();
        let domain = Domain::parse(&json!([["a", "=", "x"]])).unwrap();
        let text = message(
            domain
                .to_sql(&registry, &model, Dialect::Sqlite, &mut Vec::new())
                .unwrap_err(),
        );
        assert!(text.contains("more than 128 levels deep"), "{text}");
    }

    /// `res.partner` with `active`, a parent and its children.
    fn contacts() -> Registry {
        let field = |name: &str, ttype| FieldSpec::new(name, ttype);
        let spec = ModelSpec {
            name: "res.partner".into(),
            description: String::new(),
            fields: vec![
                field("name", FieldType::Char),
                field("email", FieldType::Char),
                field("active", FieldType::Boolean),
                FieldSpec {
                    relation: Some("res.partner".into()),
                    ..field("parent_id", FieldType::Many2one)
                },
                FieldSpec {
                    relation: Some("res.partner".into()),
                    inverse: Some("parent_id".into()),
                    ..field("child_ids", FieldType::One2many)
                },
            ],
            extends: false,
            checks: Vec::new(),
        };
        let mut registry = Registry::new();
        registry
            .insert(ModelDef::from_spec(&spec, "base").unwrap())
            .unwrap();
        registry
    }

    fn contact_sql(domain: &Domain) -> (String, Vec<SqlValue>) {
        let registry = contacts();
        let model = registry.get("res.partner").unwrap().clone();
        let mut params = Vec::new();
        let sql = domain
            .to_sql(&registry, &model, Dialect::Postgres, &mut params)
            .unwrap();
        (sql, params)
    }

    #[test]
    fn domains_normalise_as_odoo_does() {
        let same = |a: Value, b: Value| {
            let (a, b) = (Domain::parse(&a).unwrap(), Domain::parse(&b).unwrap());
            assert_eq!(a.root(), b.root());
            assert_eq!(contact_sql(&a), contact_sql(&b));
        };
        same(
            json!([["email", "=", ["a@b.c", "d@e.f"]]]),
            json!([["email", "in", ["a@b.c", "d@e.f"]]]),
        );
        same(
            json!([["email", "!=", ["a@b.c"]]]),
            json!([["email", "not in", ["a@b.c"]]]),
        );
        same(json!([["id", "in", 7]]), json!([["id", "in", [7]]]));
        same(json!([["id", "not in", 7]]), json!([["id", "not in", [7]]]));
        same(json!([["email", "=", []]]), json!([["email", "=", false]]));
        same(
            json!([["email", "!=", []]]),
            json!([["email", "!=", false]]),
        );
        same(json!([["email", "<>", "x"]]), json!([["email", "!=", "x"]]));
        same(json!([["email", "==", "x"]]), json!([["email", "=", "x"]]));
        same(json!([["email", "=?", "x"]]), json!([["email", "=", "x"]]));
        same(
            json!([["email", "=?", ["a", "b"]]]),
            json!([["email", "in", ["a", "b"]]]),
        );
        for empty in [json!(false), json!(null), json!(""), json!(0), json!([])] {
            same(
                json!([["name", "=", "a"], ["email", "=?", empty]]),
                json!([["name", "=", "a"], [1, "=", 1]]),
            );
        }
        assert_eq!(
            contact_sql(&Domain::parse(&json!([["email", "=", ["a", "b"]]])).unwrap()).0,
            "\"email\" IN ($1, $2)"
        );
    }

    #[test]
    fn active_test_hides_archived_records_unless_the_domain_names_active() {
        let sql = |domain: Value| contact_sql(&Domain::parse(&domain).unwrap().active_test()).0;
        assert_eq!(sql(json!([])), "\"active\" = $1");
        assert_eq!(
            sql(json!([["name", "=", "a"]])),
            "(\"name\" = $1 AND \"active\" = $2)"
        );
        // A condition on `active`, anywhere among the operators, is the
        // domain's own say.
        assert_eq!(
            sql(json!([["active", "=", false]])),
            "(\"active\" IS NULL OR \"active\" = $1)"
        );
        assert_eq!(
            sql(json!(["|", ["name", "=", "a"], "!", ["active", "=", true]])),
            "(\"name\" = $1 OR (NOT \"active\" = $2))"
        );
        // Without active_test, nothing is added.
        let plain = contact_sql(&Domain::parse(&json!([["name", "=", "a"]])).unwrap()).0;
        assert_eq!(plain, "\"name\" = $1");
        // One2many sub-searches leave archived children out, unless they
        // name `active`; many2one targets and ids are reached whatever their state.
        let children = sql(json!([["child_ids.name", "=", "k"]]));
        assert!(
            children.contains(
                "WHERE \"parent_id\" IS NOT NULL AND (\"name\" = $1 AND \"active\" = $2)"
            ),
            "{children}"
        );
        let any = sql(json!([["child_ids", "any", [["name", "=", "k"]]]]));
        assert!(any.contains("(\"name\" = $1 AND \"active\" = $2)"), "{any}");
        let named = sql(json!([["child_ids", "any", [["active", "=", false]]]]));
        assert_eq!(named.matches("\"active\"").count(), 3, "{named}");
        let by_name = sql(json!([["child_ids", "ilike", "k"]]));
        assert!(by_name.contains("AND \"active\" = $2)"), "{by_name}");
        let ids = sql(json!([["child_ids", "in", [4]]]));
        assert_eq!(ids.matches("\"active\"").count(), 1, "{ids}");
        let parent = sql(json!([["parent_id.name", "=", "p"]]));
        assert_eq!(parent.matches("\"active\"").count(), 1, "{parent}");
        // A comodel's record rules are applied with active_test off.
        let mut rules = Comodels::default();
        let rule = Domain::parse(&json!([["child_ids.name", "!=", "secret"]])).unwrap();
        rules.insert("res.partner", Comodel::Visible(Some(rule)));
        let domain = Domain::parse(&json!([["parent_id.name", "=", "p"]]))
            .unwrap()
            .active_test()
            .restricted(rules);
        let ruled = contact_sql(&domain).0;
        assert_eq!(ruled.matches("\"active\"").count(), 1, "{ruled}");
    }

    #[test]
    fn empty_values_mean_null() {
        assert_eq!(
            sql(json!([["name", "=", false]])).unwrap().0,
            "\"name\" IS NULL"
        );
        assert_eq!(sql(json!([["id", "in", []]])).unwrap().0, "1=0");
    }
}

mod domain {
    use pulse_orm::Domain;
    use serde_json::json;

    #[test]
    fn domains_combine_into_prefix_notation() {
        let a = Domain::parse(&json!([["a", "=", 1], ["b", "=", 2]])).unwrap();
        let c = Domain::parse(&json!(["|", ["c", "=", 3], ["d", "=", 4]])).unwrap();
        let both = a.or(&c);
        // One chain of `|`: the two ORs flatten into one.
        assert_eq!(
            both.source(),
            &json!([
                "|",
                "|",
                "&",
                ["a", "=", 1],
                ["b", "=", 2],
                ["c", "=", 3],
                ["d", "=", 4]
            ])
        );
        let reparsed = Domain::parse(both.source()).unwrap();
        assert_eq!(reparsed.root(), both.root());
        let all = Domain::all().and(&a);
        assert_eq!(Domain::parse(all.source()).unwrap().root(), all.root());
    }
}

mod registry {
    use pulse_orm::{table_name, valid_field_name, valid_model_name};

    #[test]
    fn names_are_validated() {
        assert!(valid_model_name("todo.task"));
        assert!(valid_model_name("finance.ssc.month_end_closing"));
        assert!(!valid_model_name("Todo.task"));
        assert!(!valid_model_name("todo..task"));
        assert!(!valid_model_name("todo;drop table x"));
        assert!(valid_field_name("due_date"));
        assert!(!valid_field_name("1abc"));
        assert!(!valid_field_name("name\"--"));
        assert_eq!(table_name("todo.task"), "todo_task");
    }
}

mod group {
    use pulse_orm::internals::{Granularity, date_group, iso_week};

    #[test]
    fn dates_group_by_label() {
        assert_eq!(date_group("2026-02", Granularity::Month).1, "February 2026");
        assert_eq!(
            date_group("2026-05", Granularity::Quarter),
            ("2026-Q2".into(), "Q2 2026".into())
        );
        assert_eq!(iso_week("2026-01-01").unwrap(), "W01 2026");
        for bad in ["2026-13", "2026-00", "20é6-01", "", "2026-02-30", "ab"] {
            for granularity in [
                Granularity::Day,
                Granularity::Week,
                Granularity::Month,
                Granularity::Quarter,
                Granularity::Year,
            ] {
                // No panic: bad stored text groups under itself.
                let (key, _) = date_group(bad, granularity);
                assert!(!key.is_empty() || bad.is_empty());
            }
        }
        assert_eq!(iso_week("2027-01-01").unwrap(), "W53 2026");
        assert_eq!(iso_week("2024-12-30").unwrap(), "W01 2025");
        assert_eq!(date_group("2026-03-09", Granularity::Day).1, "09 Mar 2026");
    }
}

mod fuzzing {
    use pulse_orm::{Dialect, Domain, Registry};

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
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions/domain");
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
