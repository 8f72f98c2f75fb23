//! Unit tests of `pulse-manifest`, compiled into the end-to-end test binary
//! (`tests/e2e.rs`, module `units::manifest`): one binary to build and link
//! instead of the crate compiled a second time as its own test harness. One
//! module per source file of `host/manifest/src/`.

mod lib {
    use std::path::Path;

    use pulse_manifest::{AutoInstall, Manifest, Problem};

    fn parse(text: &str) -> Result<Manifest, Vec<Problem>> {
        Manifest::parse(text, Path::new("addon.toml"))
    }

    #[test]
    fn parses_a_full_manifest() {
        let m = parse(
            r#"
            name = "ipai_finance_ssc"
            version = "1.2.0"
            depends = ["account ^1.0", "hr"]
            auto_install = ["hr"]
            [permissions]
            outbound_hosts = ["api.example.com"]
            "#,
        )
        .unwrap();
        assert_eq!(m.depends[0].name, "account");
        assert!(
            m.depends[0]
                .req
                .as_ref()
                .unwrap()
                .matches(&semver::Version::new(1, 4, 0))
        );
        assert_eq!(m.auto_install, AutoInstall::Triggers(vec!["hr".into()]));
        assert!(m.is_installable());
        assert_eq!(m.component_file(), "ipai_finance_ssc.wasm");
    }

    #[test]
    fn unknown_keys_and_bad_names_are_errors() {
        let e = parse("name = \"x\"\nversion = \"1.0.0\"\ndepend = []\n").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "addon.toml:3: depend: unknown key `depend`; did you mean `depends`?"
        );
        let e = parse("name = \"Bad-Name\"\nversion = \"1.0.0\"\n").unwrap_err();
        assert!(e[0].message.contains("not a valid technical name"), "{e:?}");
    }
}

mod build {
    use std::path::Path;

    use pulse_manifest::build::{BuildError, Built, Progress, build_addons};
    use pulse_manifest::internals::one_package_cargo_build;
    use pulse_manifest::{Addon, Discovery};

    fn addon(dir: &Path, manifest: &str) -> Addon {
        let manifest = pulse_manifest::Manifest::parse(manifest, &dir.join("addon.toml"))
            .expect("a valid test manifest");
        Addon {
            manifest,
            dir: dir.to_path_buf(),
        }
    }

    fn found(addons: Vec<Addon>) -> Discovery {
        let mut found = Discovery::default();
        for a in addons {
            found.addons.insert(a.name().to_string(), a);
        }
        found
    }

    #[test]
    fn a_build_runs_the_command_and_places_its_output() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().to_path_buf();
        let found = found(vec![addon(
            &dir,
            "name = \"shell\"\nversion = \"1.0.0\"\n[build]\ncommand = \"printf wasm > out.bin\"\noutput = \"out.bin\"\n",
        )]);
        let mut events = Vec::new();
        let built = build_addons(&found, std::slice::from_ref(&dir), &[], |p| {
            events.push(match p {
                Progress::InstallingTarget => "target".to_string(),
                Progress::Compiling { command, .. } => format!("together {command}"),
                Progress::Building { addon, command } => format!("{} {command}", addon.name()),
                Progress::Built(b) => format!("built {}", b.addon),
            })
        })
        .unwrap();
        assert_eq!(events, ["shell printf wasm > out.bin", "built shell"]);
        assert_eq!(
            built,
            [Built {
                addon: "shell".into(),
                component: dir.join("shell.wasm")
            }]
        );
        assert_eq!(std::fs::read(dir.join("shell.wasm")).unwrap(), b"wasm");
    }

    #[test]
    fn a_crate_dependency_on_another_addon_must_be_in_depends() {
        let scratch = tempfile::tempdir().unwrap();
        let callee = scratch.path().join("account");
        let caller = scratch.path().join("expense");
        std::fs::create_dir_all(&callee).unwrap();
        std::fs::create_dir_all(&caller).unwrap();
        let cargo =
            |deps: &str| format!("[package]\nname = \"expense\"\n\n[dependencies]\n{deps}\n");
        let build = "[build]\ncommand = \"printf wasm > out.bin\"\noutput = \"out.bin\"\n";
        let unlisted = found(vec![
            addon(&callee, "name = \"account\"\nversion = \"1.0.0\"\n"),
            addon(
                &caller,
                &format!("name = \"expense\"\nversion = \"1.0.0\"\ndepends = [\"base\"]\n{build}"),
            ),
        ]);
        let paths = [scratch.path().to_path_buf()];
        std::fs::write(
            caller.join("Cargo.toml"),
            cargo("pulse-sdk = \"0.2\"\naccount = { path = \"../account\", default-features = false, features = [\"client\"] }"),
        )
        .unwrap();
        let e = build_addons(&unlisted, &paths, &["expense".into()], |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:6: dependencies.account: the crate depends on addon \"account\" (its models and client), but addon.toml does not list it in `depends`; add \"account\" to `depends`",
                caller.join("Cargo.toml").display()
            )
        );
        assert!(!caller.join("expense.wasm").exists(), "nothing is built");

        // Listed, but with the default features (the whole addon): refused too.
        let listed = found(vec![
            addon(&callee, "name = \"account\"\nversion = \"1.0.0\"\n"),
            addon(
                &caller,
                &format!(
                    "name = \"expense\"\nversion = \"1.0.0\"\ndepends = [\"account\"]\n{build}"
                ),
            ),
        ]);
        std::fs::write(
            caller.join("Cargo.toml"),
            cargo("billing = { package = \"account\", path = \"../account\" }"),
        )
        .unwrap();
        let e = build_addons(&listed, &paths, &["expense".into()], |_| {}).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "dependencies.billing: addon \"account\" is a dependency with its default features, which export it as an addon; take it with `default-features = false, features = [\"client\"]`"
            ),
            "{e}"
        );

        std::fs::write(
            caller.join("Cargo.toml"),
            cargo("account = { path = \"../account\", default-features = false, features = [\"client\"] }"),
        )
        .unwrap();
        build_addons(&listed, &paths, &["expense".into()], |_| {}).unwrap();
        assert_eq!(std::fs::read(caller.join("expense.wasm")).unwrap(), b"wasm");
    }

    #[test]
    fn failures_name_the_addon_and_the_cause() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().to_path_buf();
        let found = found(vec![
            addon(
                &dir,
                "name = \"broken\"\nversion = \"1.0.0\"\n[build]\ncommand = \"exit 3\"\n",
            ),
            addon(&dir, "name = \"plain\"\nversion = \"1.0.0\"\n"),
            addon(
                &dir,
                "name = \"lost\"\nversion = \"1.0.0\"\n[build]\ncommand = \"true\"\noutput = \"nowhere.wasm\"\n",
            ),
        ]);
        let paths = [dir.clone()];
        let e = build_addons(&found, &paths, &["broken".into()], |_| {}).unwrap_err();
        assert!(matches!(e, BuildError::CommandFailed { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("building addon 'broken' failed ("),
            "{e}"
        );
        assert!(e.to_string().ends_with("): exit 3"), "{e}");

        let e = build_addons(&found, &paths, &["plain".into()], |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "addon 'plain' has no [build] section in its addon.toml"
        );

        let e = build_addons(&found, &paths, &["lost".into()], |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the build of 'lost' did not leave {} to copy to {}",
                dir.join("nowhere.wasm").display(),
                dir.join("lost.wasm").display()
            )
        );

        let e = build_addons(&found, &paths, &["absent".into()], |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("addon 'absent' is not in the addons paths {paths:?}")
        );
        let e = build_addons(&Discovery::default(), &paths, &[], |_| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no addon to build in the addons paths {paths:?}")
        );
    }

    #[test]
    fn only_plain_one_package_cargo_builds_are_compiled_together() {
        let parsed =
            one_package_cargo_build("cargo build --release --target wasm32-wasip2 -p todo");
        assert_eq!(
            parsed,
            Some((
                "cargo build --release --target wasm32-wasip2".to_string(),
                "todo".to_string()
            ))
        );
        for command in [
            "cargo build --release",
            "cargo build -p a -p b",
            "cargo build -p",
            "cargo build -p todo && rm -rf /",
            "cargo build -p 'todo'",
            "make -p todo x",
            "cargo test --release -p todo",
        ] {
            assert_eq!(one_package_cargo_build(command), None, "{command}");
        }
    }
}

mod graph {
    use std::collections::BTreeMap;

    use pulse_manifest::Discovery;
    use pulse_manifest::graph::{GraphQuery, GraphView, why};
    use pulse_manifest::plan::Installed;

    fn deps() -> BTreeMap<String, Vec<String>> {
        [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec![]),
            ("x", vec!["c"]),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), d.into_iter().map(String::from).collect()))
        .collect()
    }

    #[test]
    fn roots_cut_the_graph_both_ways() {
        let view = GraphView::new(&deps(), &BTreeMap::new(), Some("b"), false);
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["b", "c"]);
        let view = GraphView::new(&deps(), &BTreeMap::new(), Some("b"), true);
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(view.to_dot().contains("\"a\" -> \"b\";"));
        assert!(view.to_mermaid().contains("a --> b"));
    }

    fn found(manifests: &[&str]) -> Discovery {
        let mut found = Discovery::default();
        for text in manifests {
            let manifest =
                pulse_manifest::Manifest::parse(text, std::path::Path::new("addon.toml"))
                    .expect("a valid test manifest");
            let dir = std::path::PathBuf::from(&manifest.name);
            found.addons.insert(
                manifest.name.clone(),
                pulse_manifest::Addon { manifest, dir },
            );
        }
        found
    }

    fn installed(pairs: &[(&str, &[&str])]) -> Installed {
        pairs
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|d| d.to_string()).collect()))
            .collect()
    }

    #[test]
    fn addons_are_labelled_with_version_and_state_and_host_modules_only_when_needed() {
        let found = found(&[
            "name = \"sale\"\nversion = \"1.2.0\"\ndepends = [\"base\"]\n",
            "name = \"crm\"\nversion = \"0.3.0\"\ndepends = [\"sale\"]\n",
        ]);
        let installed = installed(&[("base", &[]), ("sale", &["base"])]);
        let view = GraphView::of_addons(&found, &installed, GraphQuery::default()).unwrap();
        assert_eq!(
            view.nodes,
            BTreeMap::from([
                ("base".to_string(), "host installed".to_string()),
                ("crm".to_string(), "0.3.0 uninstalled".to_string()),
                ("sale".to_string(), "1.2.0 installed".to_string()),
            ])
        );
        assert!(
            view.edges
                .contains(&("sale".to_string(), "base".to_string()))
        );

        // Installed only: crm is gone; web is drawn only when asked for.
        let only = GraphQuery {
            installed_only: true,
            ..GraphQuery::default()
        };
        let view = GraphView::of_addons(&found, &installed, only).unwrap();
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["base", "sale"]);
        let web = GraphQuery {
            root: Some("web"),
            ..only
        };
        let view = GraphView::of_addons(&found, &installed, web).unwrap();
        assert_eq!(view.nodes.keys().collect::<Vec<_>>(), ["web"]);
    }

    #[test]
    fn an_unknown_root_is_an_error_naming_it() {
        let found = found(&["name = \"sale\"\nversion = \"1.0.0\"\n"]);
        let root = GraphQuery {
            root: Some("nope"),
            ..GraphQuery::default()
        };
        let e = GraphView::of_addons(&found, &Installed::new(), root).unwrap_err();
        assert_eq!(e.to_string(), "addon 'nope' is not in the graph");
    }

    #[test]
    fn why_lists_shortest_paths() {
        assert_eq!(
            why(&deps(), "c"),
            vec![
                vec!["b".to_string(), "c".into()],
                vec!["x".into(), "c".into()],
                vec!["a".into(), "b".into(), "c".into()]
            ]
        );
    }
}

mod plan {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use pulse_manifest::plan::Installed;
    use pulse_manifest::{Action, Addon, Manifest, plan_install, plan_uninstall, plan_upgrade};

    fn set(specs: &[&str]) -> BTreeMap<String, Addon> {
        specs
            .iter()
            .map(|s| {
                let m = Manifest::parse(s, Path::new("addon.toml")).unwrap();
                (
                    m.name.clone(),
                    Addon {
                        manifest: m,
                        dir: PathBuf::new(),
                    },
                )
            })
            .collect()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dependencies_come_first_and_glue_auto_installs() {
        let addons = set(&[
            "name='a'\nversion='1.0.0'\ndepends=['b','c']",
            "name='b'\nversion='1.0.0'",
            "name='c'\nversion='1.0.0'",
            "name='glue'\nversion='1.0.0'\ndepends=['a','c']\nauto_install=true",
        ]);
        let plan = plan_install(&addons, &Installed::new(), &names(&["a"])).unwrap();
        assert_eq!(plan.addons(), names(&["b", "c", "a", "glue"]));
        assert_eq!(plan.steps[0].reason, "dependency of a");
        assert_eq!(plan.steps[3].reason, "auto-install (triggers: a, c)");
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let addons = set(&[
            "name='a'\nversion='1.0.0'\ndepends=['b']",
            "name='b'\nversion='1.0.0'\ndepends=['c']",
            "name='c'\nversion='1.0.0'\ndepends=['a']",
        ]);
        let e = plan_install(&addons, &Installed::new(), &names(&["a"])).unwrap_err();
        assert_eq!(e.to_string(), "dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn uninstall_takes_dependents_first() {
        let installed: Installed = [("a", vec!["b", "c"]), ("b", vec![]), ("c", vec![])]
            .into_iter()
            .map(|(n, d)| (n.to_string(), names(&d)))
            .collect();
        let plan = plan_uninstall(&installed, &names(&["b"])).unwrap();
        assert_eq!(plan.addons(), names(&["a", "b"]));
        assert_eq!(plan.steps[0].reason, "depends on b");
    }

    #[test]
    fn upgrade_takes_dependents_and_installs_new_dependencies() {
        let addons = set(&[
            "name='a'\nversion='2.0.0'\ndepends=['b','n']",
            "name='b'\nversion='1.1.0'",
            "name='n'\nversion='1.0.0'",
            "name='c'\nversion='1.0.0'",
        ]);
        let installed: Installed = [("a", vec!["b"]), ("b", vec![]), ("c", vec![])]
            .into_iter()
            .map(|(n, d)| (n.to_string(), names(&d)))
            .collect();
        let plan = plan_upgrade(&addons, &installed, &names(&["b"])).unwrap();
        let steps: Vec<(String, Action)> = plan
            .steps
            .iter()
            .map(|s| (s.addon.clone(), s.action))
            .collect();
        assert_eq!(
            steps,
            vec![
                ("b".into(), Action::Upgrade),
                ("n".into(), Action::Install),
                ("a".into(), Action::Upgrade)
            ]
        );
    }

    #[test]
    fn unknown_dependency_names_both() {
        let addons = set(&["name='a'\nversion='1.0.0'\ndepends=['ghost']"]);
        let e = plan_install(&addons, &Installed::new(), &names(&["a"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"a\" that depends on module \"ghost\""),
            "{e}"
        );
    }
}

mod validate {
    use std::path::Path;

    use pulse_manifest::internals::{PERMISSION_KEYS, line_of};
    use pulse_manifest::{KEYS, check_manifest, did_you_mean};

    #[test]
    fn did_you_mean_finds_typos() {
        assert_eq!(did_you_mean("dependss", &KEYS), Some("depends"));
        assert_eq!(did_you_mean("auto_instal", &KEYS), Some("auto_install"));
        assert_eq!(did_you_mean("zzz", &KEYS), None);
        assert_eq!(
            did_you_mean("outbound", &PERMISSION_KEYS),
            Some("outbound_hosts")
        );
    }

    #[test]
    fn lines_are_found_in_tables() {
        let text = "name = \"x\"\n[build]\ncommand = \"make\"\nname = \"y\"\n";
        assert_eq!(line_of(text, None, "name"), Some(1));
        assert_eq!(line_of(text, Some("build"), "command"), Some(3));
        assert_eq!(line_of(text, None, "build"), Some(2));
    }

    #[test]
    fn every_problem_of_a_manifest_is_reported() {
        let text = "name = \"Bad\"\nversion = \"1.0\"\ndependss = []\napplication = \"yes\"\n[build]\ncmd = \"x\"\n";
        let problems = check_manifest(text, Path::new("bad/addon.toml")).unwrap_err();
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 6, "{shown:#?}");
        assert!(
            shown.contains(
                &"bad/addon.toml:3: dependss: unknown key `dependss`; did you mean `depends`?"
                    .to_string()
            ),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("bad/addon.toml:6: build.cmd: unknown key `cmd`")),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("bad/addon.toml:5: build.command: missing required key")),
            "{shown:#?}"
        );
    }
}
