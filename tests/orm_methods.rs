//! Odoo 19's ORM methods over XML-RPC and JSON-RPC, on SQLite and
//! PostgreSQL, as a Python script written against Odoo calls them (see
//! `tests/python/orm_methods.py`): `formatted_read_group` and the older
//! `read_group`, `web_search_read`, `web_read` and `web_save` with field
//! specifications, `name_create`, `search_fetch`, `export_data`, `load`,
//! `fields_get` and `get_views`, on a model with many2one, one2many,
//! many2many, date, float and monetary fields. Hostile calls (specifications
//! nested 1000 deep, huge limits, unknown fields, malformed import rows, a
//! user without rights) are refused by Odoo's exception kinds, nothing is
//! written, and the server goes on serving.

use std::collections::BTreeMap;

use pulse_testing::{Backend, Pulse, build_addons};
use serde_json::{Value, json};

on_both! {
    odoo_19_orm_methods_answer_python_clients_as_odoo_does => orm_methods;
}

/// Each step's value, and the ids the script had made by then.
struct Steps {
    transport: &'static str,
    values: BTreeMap<String, (Value, Value)>,
    output: String,
}

impl Steps {
    fn read(output: &str, transport: &'static str) -> Steps {
        let values = output
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|line| line["transport"] == transport)
            .map(|line| {
                (
                    line["step"].as_str().unwrap().to_string(),
                    (line["value"].clone(), line["ids"].clone()),
                )
            })
            .collect();
        Steps {
            transport,
            values,
            output: output.to_string(),
        }
    }

    fn get(&self, name: &str) -> Value {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("{}: no step {name}:\n{}", self.transport, self.output))
            .0
            .clone()
    }

    fn id(&self, name: &str) -> i64 {
        // Steps are kept by name; the ids grow as the script goes on.
        self.values
            .values()
            .find_map(|(_, ids)| ids[name].as_i64())
            .unwrap_or_else(|| panic!("{}: no id {name}", self.transport))
    }

    /// A refused step's (fault, message).
    fn refused(&self, name: &str) -> (Value, String) {
        let value = self.get(name);
        assert!(
            value.get("fault").is_some(),
            "{} {name} must be refused: {value}",
            self.transport
        );
        (
            value["fault"].clone(),
            value["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// The fault a kind has on this transport.
    fn kind(&self, name: &str) -> Value {
        if self.transport == "jsonrpc" {
            return json!(name);
        }
        json!(match name {
            "odoo.exceptions.AccessError" => 4,
            "odoo.exceptions.MissingError" => 2,
            _ => 1,
        })
    }
}

fn orm_methods(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "domain_lab"]);
    let server = pulse.serve();
    let output = pulse_testing::python_script("orm_methods.py", &[&server.url, &pulse.db_name]);
    for transport in ["xmlrpc", "jsonrpc"] {
        let steps = Steps::read(&output, transport);
        grouping(&steps);
        web_reads(&steps);
        import_export(&steps);
        descriptions(&steps);
        hostile(&steps);
    }
    deeper_than_any_parser(&pulse, &server);
}

fn grouping(steps: &Steps) {
    let t = steps.transport;
    let (parent, country) = (steps.id("parent"), steps.id("country"));
    let p = format!("OM {t} ");
    // Odoo 19's formatted_read_group: many2one as [id, display_name],
    // aggregates under their specification, __count only when asked.
    assert_eq!(
        steps.get("frg many2one"),
        json!([
            {"parent_id": [parent, format!("{p}Parent")], "__count": 2, "score:sum": 4.0,
             "credit_limit:sum": 150.0, "__extra_domain": [["parent_id", "=", parent]]},
            {"parent_id": false, "__count": 2, "score:sum": 4.0, "credit_limit:sum": 25.0,
             "__extra_domain": [["parent_id", "=", false]]},
        ]),
        "{t}"
    );
    // Dates as [first day, label], the period as the group's condition.
    let month = |from: &str, to: &str, label: &str| {
        json!({"birthday:month": [from, label], "__count": 1,
               "__extra_domain": ["&", ["birthday", ">=", from], ["birthday", "<", to]]})
    };
    assert_eq!(
        steps.get("frg month"),
        json!([
            month("2024-01-01", "2024-02-01", "January 2024"),
            month("2024-02-01", "2024-03-01", "February 2024"),
            month("2024-04-01", "2024-05-01", "April 2024"),
        ]),
        "{t}"
    );
    assert_eq!(
        steps.get("frg quarter"),
        json!([
            {"birthday:quarter": ["2024-01-01", "Q1 2024"], "age:sum": 70,
             "__extra_domain": ["&", ["birthday", ">=", "2024-01-01"], ["birthday", "<", "2024-04-01"]]},
            {"birthday:quarter": ["2024-04-01", "Q2 2024"], "age:sum": 20,
             "__extra_domain": ["&", ["birthday", ">=", "2024-04-01"], ["birthday", "<", "2024-07-01"]]},
        ]),
        "{t}"
    );
    assert_eq!(
        steps.get("frg two groupbys"),
        json!([
            {"parent_id": [parent, format!("{p}Parent")], "kind": "person", "__count": 2,
             "__extra_domain": ["&", ["parent_id", "=", parent], ["kind", "=", "person"]]},
            {"parent_id": false, "kind": "company", "__count": 1,
             "__extra_domain": ["&", ["parent_id", "=", false], ["kind", "=", "company"]]},
            {"parent_id": false, "kind": "person", "__count": 1,
             "__extra_domain": ["&", ["parent_id", "=", false], ["kind", "=", "person"]]},
        ]),
        "{t}"
    );
    assert_eq!(
        steps.get("frg having order"),
        json!([{"kind": "person", "__count": 3, "age:max": 40,
                "__extra_domain": [["kind", "=", "person"]]}]),
        "{t}"
    );
    let ages: Vec<Value> = steps
        .get("frg order limit")
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["age"].clone())
        .collect();
    assert_eq!(
        ages,
        vec![json!(30), json!(20)],
        "{t}: age desc, offset 1, limit 2"
    );
    let all = steps.get("frg no groupby");
    assert_eq!(
        (
            &all[0]["__count"],
            &all[0]["age:min"],
            &all[0]["__extra_domain"]
        ),
        (&json!(4), &json!(20), &json!([])),
        "{t}"
    );
    assert!(
        (all[0]["score:avg"].as_f64().unwrap() - 8.0 / 3.0).abs() < 1e-9,
        "{t}: {all}"
    );
    assert_eq!(
        steps.get("frg many2many count"),
        json!([
            {"country_id": [country, format!("{p}Land")], "parent_id:count": 1,
             "__extra_domain": [["country_id", "=", country]]},
            {"country_id": false, "parent_id:count": 1, "__extra_domain": [["country_id", "=", false]]},
        ]),
        "{t}: records with a country and a parent, and without a country and with one"
    );
    // The older read_group: lazy counts as <field>_count, __domain with the
    // search domain, __context with the groupbys left, __range for dates.
    let mine = json!(["name", "=like", format!("{p}%")]);
    assert_eq!(
        steps.get("read_group lazy"),
        json!([
            {"parent_id": [parent, format!("{p}Parent")], "parent_id_count": 2, "score": 4.0,
             "__domain": ["&", mine, ["parent_id", "=", parent]], "__context": {"group_by": ["kind"]}},
            {"parent_id": false, "parent_id_count": 2, "score": 4.0,
             "__domain": ["&", mine, ["parent_id", "=", false]], "__context": {"group_by": ["kind"]}},
        ]),
        "{t}"
    );
    let not_lazy = steps.get("read_group not lazy");
    assert_eq!(not_lazy.as_array().unwrap().len(), 3, "{t}: {not_lazy}");
    assert_eq!(
        not_lazy[0],
        json!({"parent_id": [parent, format!("{p}Parent")], "kind": "person", "__count": 2, "score": 4.0,
               "__domain": ["&", "&", mine, ["parent_id", "=", parent], ["kind", "=", "person"]]}),
        "{t}"
    );
    let by_month = steps.get("read_group month");
    assert_eq!(
        by_month[0],
        json!({"birthday:month": "January 2024", "birthday_count": 1, "age": 30,
               "__range": {"birthday:month": {"from": "2024-01-01", "to": "2024-02-01"}},
               "__domain": ["&", "&", mine, ["birthday", "!=", false],
                            "&", ["birthday", ">=", "2024-01-01"], ["birthday", "<", "2024-02-01"]]}),
        "{t}"
    );
    let kinds: Vec<Value> = steps
        .get("read_group orderby")
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("person"), json!("company")],
        "{t}: orderby kind desc"
    );
}

fn web_reads(steps: &Steps) {
    let t = steps.transport;
    let p = format!("OM {t} ");
    let (parent, a, b) = (steps.id("parent"), steps.id("a"), steps.id("b"));
    let (red, blue, country) = (steps.id("red"), steps.id("blue"), steps.id("country"));
    let parent_value = json!({"id": parent, "display_name": format!("{p}Parent")});
    assert_eq!(
        steps.get("web_search_read"),
        json!({"length": 4, "records": [
            {"id": a, "name": format!("{p}A"), "parent_id": parent_value, "birthday": "2024-01-15",
             "country_id": {"id": country, "name": format!("{p}Land"), "display_name": format!("{p}Land")},
             // Ordered by name; the first `limit` of each record read.
             "tag_ids": [{"id": blue, "name": format!("{p}blue")}, {"id": red, "name": format!("{p}red")}],
             "child_ids": []},
            {"id": b, "name": format!("{p}B"), "parent_id": parent_value, "birthday": "2024-02-10",
             "country_id": false, "tag_ids": [{"id": red, "name": format!("{p}red")}], "child_ids": []},
        ]}),
        "{t}"
    );
    assert_eq!(
        steps.get("web_search_read count_limit"),
        json!({"length": 3, "records": [{"id": a, "name": format!("{p}A")}]}),
        "{t}: the count stops at count_limit"
    );
    assert_eq!(
        steps.get("web_search_read nothing"),
        json!({"length": 0, "records": []})
    );
    assert_eq!(
        steps.get("web_read"),
        json!([{"id": parent, "display_name": format!("{p}Parent"), "country_id": country,
                "child_ids": [{"id": b, "name": format!("{p}B"), "parent_id": parent},
                              {"id": a, "name": format!("{p}A"), "parent_id": parent}]}]),
        "{t}: a many2one without fields is its id"
    );
    assert_eq!(steps.get("web_read ids only"), json!([{"id": a}]), "{t}");
    let e = steps.id("e");
    assert_eq!(
        steps.get("web_save create"),
        json!([{"id": e, "display_name": format!("{p}E"), "parent_id": parent_value}]),
        "{t}"
    );
    assert_eq!(
        steps.get("web_save write"),
        json!([{"id": e, "score": 9.0}]),
        "{t}"
    );
    let created = steps.get("name_create");
    assert_eq!(created[1], json!(format!("{p}green")), "{t}: {created}");
    assert!(created[0].is_i64(), "{t}: {created}");
    // A recordset comes back over RPC as its ids. Ages: B 40, A 30, the
    // parent none (first, as PostgreSQL orders NULL in a descending sort).
    let fetched = steps.get("search_fetch");
    assert_eq!(fetched.as_array().unwrap().len(), 2, "{t}: {fetched}");
    assert!(
        fetched.as_array().unwrap().contains(&json!(b)),
        "{t}: {fetched}"
    );
}

fn import_export(steps: &Steps) {
    let t = steps.transport;
    let p = format!("OM {t} ");
    let (a, b) = (steps.id("a"), steps.id("b"));
    let datas = steps.get("export_data")["datas"].clone();
    let rows = datas.as_array().unwrap();
    assert_eq!(
        rows.len(),
        3,
        "{t}: A's second tag on a line of its own: {datas}"
    );
    let xmlid_a = rows[0][0].as_str().unwrap().to_string();
    assert!(
        xmlid_a.starts_with(&format!("__export__.lab_partner_{a}_")),
        "{t}: {datas}"
    );
    assert!(
        rows[0][5]
            .as_str()
            .unwrap()
            .starts_with("__export__.lab_country_"),
        "{t}: {datas}"
    );
    assert_eq!(
        rows[0].as_array().unwrap()[1..5].to_vec(),
        vec![
            json!(format!("{p}A")),
            json!(format!("{p}Parent")),
            json!(format!("{p}Parent")),
            json!(format!("{p}red"))
        ],
        "{t}"
    );
    assert_eq!(
        rows[0].as_array().unwrap()[6..].to_vec(),
        vec![
            json!("2024-01-15"),
            json!("Person"),
            json!(1.5),
            json!(a.to_string())
        ],
        "{t}: the selection's label, the database id as text"
    );
    assert_eq!(
        rows[1],
        json!(["", "", "", "", format!("{p}blue"), "", "", "", "", ""]),
        "{t}"
    );
    assert_eq!(rows[2][9], json!(b.to_string()), "{t}");
    assert_eq!(rows[2][5], json!(""), "{t}: B has no country");
    // The external id an export gave is kept.
    assert_eq!(
        steps.get("export_data ids again"),
        json!({"datas": [[xmlid_a]]}),
        "{t}"
    );
    // load: creates, then updates by external id.
    let loaded = steps.get("load");
    assert_eq!(loaded["messages"], json!([]), "{t}: {loaded}");
    let ids = loaded["ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2, "{t}: {loaded}");
    assert_eq!(steps.get("load update")["ids"], json!([ids[0]]), "{t}");
    let (parent, red, blue) = (steps.id("parent"), steps.id("red"), steps.id("blue"));
    let mut tags = vec![red, blue];
    tags.sort();
    assert_eq!(
        steps.get("read loaded"),
        json!([
            {"id": ids[0], "name": format!("{p}F"), "parent_id": [parent, format!("{p}Parent")],
             "tag_ids": tags, "kind": "person", "age": 9, "birthday": "2024-05-05"},
            {"id": ids[1], "name": format!("{p}G"), "parent_id": false, "tag_ids": [],
             "kind": "company", "age": 8, "birthday": false},
        ]),
        "{t}"
    );
    // Every bad row reported, nothing written.
    let bad = steps.get("load bad rows");
    assert_eq!(bad["ids"], json!(false), "{t}");
    let messages = bad["messages"].as_array().unwrap();
    let rows_and_fields: Vec<(Value, Value)> = messages
        .iter()
        .map(|m| (m["record"].clone(), m["field"].clone()))
        .collect();
    assert_eq!(
        rows_and_fields,
        vec![
            (json!(0), json!("parent_id")),
            (json!(1), json!("age")),
            (json!(2), Value::Null),
            (json!(3), Value::Null),
            (json!(4), json!("kind")),
        ],
        "{t}: {bad}"
    );
    assert!(messages.iter().all(|m| m["type"] == "error"), "{t}: {bad}");
    assert!(
        messages[0]["message"]
            .as_str()
            .unwrap()
            .contains("No matching record found for name 'No Such Parent'"),
        "{t}: {bad}"
    );
    let failing = steps.get("load failing create");
    assert_eq!(
        (&failing["ids"], &failing["messages"][0]["record"]),
        (&json!(false), &json!(1)),
        "{t}: {failing}"
    );
    assert!(
        failing["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{t}: {failing}"
    );
    assert_eq!(steps.get("load unknown column")["ids"], json!(false), "{t}");
    assert_eq!(
        steps.get("nothing loaded"),
        json!(0),
        "{t}: the first row of a failed load is rolled back too"
    );
}

fn descriptions(steps: &Steps) {
    let t = steps.transport;
    let fields = steps.get("fields_get");
    assert_eq!(
        fields["child_ids"],
        json!({"name": "child_ids", "type": "one2many", "string": "Child Ids", "help": "",
               "relation": "lab.partner", "relation_field": "parent_id", "required": false,
               "readonly": false, "store": true, "sortable": false, "groupable": false,
               "searchable": true}),
        "{t}"
    );
    assert_eq!(
        fields["kind"]["selection"],
        json!([["person", "Person"], ["company", "Company"]]),
        "{t}"
    );
    assert_eq!(fields["parent_id"]["relation"], json!("lab.partner"), "{t}");
    assert_eq!(
        (
            &fields["birthday"]["type"],
            &fields["birthday"]["groupable"]
        ),
        (&json!("date"), &json!(true)),
        "{t}"
    );
    assert_eq!(
        fields.as_object().unwrap().len(),
        5,
        "{t}: allfields filters: {fields}"
    );
    let defaults = steps.get("get_views default");
    let views = &defaults["views"];
    if t == "xmlrpc" {
        assert_eq!(
            views["list"],
            json!({"arch": "<list><field name=\"name\"/></list>", "id": false, "model": "lab.partner"}),
            "{t}: a default list when the model has none"
        );
    }
    assert_eq!(
        views["search"]["arch"],
        json!("<search><field name=\"name\"/></search>"),
        "{t}"
    );
    let form = views["form"]["arch"].as_str().unwrap();
    assert!(
        form.starts_with("<form>") && form.contains("<field name=\"parent_id\"/>"),
        "{t}: {form}"
    );
    assert_eq!(
        defaults["models"]["lab.partner"]["fields"]["name"]["type"],
        json!("char"),
        "{t}"
    );
    let view = steps.id("view");
    let stored = steps.get("get_views stored");
    assert_eq!(
        stored["views"]["list"],
        json!({"arch": "<list><field name=\"name\"/><field name=\"age\"/></list>", "id": view, "model": "lab.partner"}),
        "{t}: the model's own view"
    );
    assert_eq!(stored["views"]["kanban"]["id"], json!(false), "{t}");
}

fn hostile(steps: &Steps) {
    let t = steps.transport;
    let value_error = steps.kind("builtins.ValueError");
    let type_error = steps.kind("builtins.TypeError");
    for (step, fault, text) in [
        ("spec 40 deep", &value_error, "nests more than 16 deep"),
        (
            "unknown spec field",
            &value_error,
            "Invalid field 'nope' on model 'lab.partner'",
        ),
        (
            "unknown nested spec field",
            &value_error,
            "Invalid field 'nope'",
        ),
        (
            "spec not a dict",
            &type_error,
            "specification must be a dictionary",
        ),
        (
            "unknown groupby",
            &value_error,
            "Invalid field 'nope' on model 'lab.partner'",
        ),
        ("unknown aggregate", &value_error, "Invalid field 'nope'"),
        (
            "aggregate without function",
            &value_error,
            "Invalid aggregate specification 'score'",
        ),
        (
            "bad aggregate function",
            &value_error,
            "Invalid aggregate function 'median'",
        ),
        (
            "non-groupable groupby",
            &value_error,
            "Cannot group by 'child_ids'",
        ),
        (
            "bad granularity",
            &value_error,
            "Invalid date granularity 'century'",
        ),
        ("bad order", &value_error, "Invalid order term"),
        ("unknown export path", &value_error, "Invalid field 'nope'"),
        (
            "load data not a list",
            &type_error,
            "data must be a list of rows",
        ),
        (
            "unknown view type",
            &value_error,
            "Invalid view type: 'gantt'",
        ),
    ] {
        let (got, message) = steps.refused(step);
        assert_eq!(&got, fault, "{t} {step}: {message}");
        assert!(message.contains(text), "{t} {step}: {message}");
    }
    let huge = steps.get("huge limit");
    assert_eq!(huge["length"], json!(7), "{t}: {huge}");
    // Nothing changed by the refused calls: the four, E, F and G.
    assert_eq!(steps.get("count after"), json!(7), "{t}");
    let access_error = steps.kind("odoo.exceptions.AccessError");
    for step in [
        "stranger web_search_read",
        "stranger web_read",
        "stranger formatted_read_group",
        "stranger export_data",
        "stranger name_create",
        "stranger web_save",
        "stranger get_views",
    ] {
        let (got, message) = steps.refused(step);
        assert_eq!(got, access_error, "{t} {step}: {message}");
    }
    // load reports what Odoo's load reports: the refusal as a message.
    let load = steps.get("stranger load");
    assert_eq!(load["ids"], json!(false), "{t}: {load}");
    assert!(
        load["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not allowed to create"),
        "{t}: {load}"
    );
    assert_eq!(steps.get("count at the end"), json!(7), "{t}");
}

/// A specification nested 1000 deep, sent as raw JSON-RPC and XML-RPC (no
/// Python client nests that deep): refused, and the server goes on serving.
fn deeper_than_any_parser(pulse: &Pulse, server: &pulse_testing::Server) {
    let deep = format!(
        "{}{{}}{}",
        "{\"parent_id\": {\"fields\": ".repeat(1000),
        "}}".repeat(1000)
    );
    let body = format!(
        r#"{{"jsonrpc": "2.0", "method": "call", "id": 1, "params": {{"service": "object", "method": "execute_kw", "args": ["{}", 2, "admin", "lab.partner", "web_search_read", [[], {deep}], {{}}]}}}}"#,
        pulse.db_name
    );
    let response = server
        .request(
            "POST",
            "/jsonrpc",
            &[("Content-Type", "application/json")],
            &body,
        )
        .expect("request sent");
    let answer: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    assert!(answer.get("result").is_none(), "refused: {}", response.body);
    let member =
        "<member><name>parent_id</name><value><struct><member><name>fields</name><value><struct>";
    let close = "</struct></value></member></struct></value></member>";
    let xml = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>execute_kw</methodName><params>\
         <param><value><string>{}</string></value></param><param><value><int>2</int></value></param>\
         <param><value><string>admin</string></value></param><param><value><string>lab.partner</string></value></param>\
         <param><value><string>web_search_read</string></value></param>\
         <param><value><array><data><value><array><data></data></array></value><value><struct>{}{}</struct></value></data></array></value></param>\
         </params></methodCall>",
        pulse.db_name,
        member.repeat(1000),
        close.repeat(1000)
    );
    let response = server
        .request(
            "POST",
            "/xmlrpc/2/object",
            &[("Content-Type", "text/xml")],
            &xml,
        )
        .expect("request sent");
    assert!(
        response.body.contains("<fault>"),
        "refused: {}",
        &response.body[..response.body.len().min(500)]
    );
    println!(
        "1000 deep over XML-RPC: {}",
        &response.body[..response.body.len().min(500)]
    );
    // Still serving.
    let version = server
        .request("POST", "/jsonrpc", &[("Content-Type", "application/json")],
            r#"{"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "common", "method": "version", "args": []}}"#)
        .expect("request sent");
    assert!(version.body.contains("server_version"), "{}", version.body);
}
