//! Stored computed fields, related fields, check constraints, validation
//! methods, `ondelete` and float digits, driven over JSON-RPC against the
//! `compute_lab` fixture addon, on SQLite and PostgreSQL; and a computed
//! field added by an upgrade to a model that already holds many records.

use pulse_testing::{Backend, Pulse, Rpc, build_addons, ok, refused, text};
use serde_json::{Value, json};

on_both! {
    computed_fields_follow_their_dependencies => computed_fields;
    related_fields_read_and_search_through_the_path => related_fields;
    constraints_refuse_bad_data_and_write_nothing => constraints;
    ondelete_cascades_restricts_or_empties => ondelete;
    an_upgrade_computes_a_new_field_for_existing_records => upgrade_computes;
}

fn lab(backend: Backend) -> (Pulse, pulse_testing::Server, Rpc) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "compute_lab"]);
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    (pulse, server, rpc)
}

/// `field` of each record `ids`, in order.
fn read(rpc: &mut Rpc, model: &str, ids: &[i64], field: &str) -> Vec<Value> {
    let records = ok(rpc, model, "read", json!([ids, [field]]));
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].clone())
        .collect()
}

fn computed_fields(backend: Backend) {
    let (_pulse, _server, mut rpc) = lab(backend);
    // An order created with its lines (x2many create commands).
    let order = ok(
        &mut rpc,
        "shop.order",
        "create",
        json!([{"name": "SO1", "line_ids": [
            [0, 0, {"qty": 2, "price": 10.0}],
            [0, 0, {"qty": 1.5, "price": 4.0}],
        ]}]),
    )
    .as_i64()
    .unwrap();
    let lines: Vec<i64> =
        serde_json::from_value(read(&mut rpc, "shop.order", &[order], "line_ids")[0].clone())
            .unwrap();
    assert_eq!(
        read(&mut rpc, "shop.order.line", &lines, "subtotal"),
        [json!(20.0), json!(6.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(26.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "line_count"),
        [json!(2)]
    );

    // A dependency of a dependency changes: line subtotal, then the order total.
    ok(
        &mut rpc,
        "shop.order.line",
        "write",
        json!([[lines[0]], {"qty": 3}]),
    );
    assert_eq!(
        read(&mut rpc, "shop.order.line", &[lines[0]], "subtotal"),
        [json!(30.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(36.0)]
    );

    // A line moves to another order: both totals follow.
    let other = ok(&mut rpc, "shop.order", "create", json!([{"name": "SO2"}]))
        .as_i64()
        .unwrap();
    assert_eq!(
        read(&mut rpc, "shop.order", &[other], "amount_total"),
        [json!(0.0)]
    );
    ok(
        &mut rpc,
        "shop.order.line",
        "write",
        json!([[lines[1]], {"order_id": other}]),
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order, other], "amount_total"),
        [json!(30.0), json!(6.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order, other], "line_count"),
        [json!(1), json!(1)]
    );

    // A line created on its own, then deleted.
    let extra = ok(
        &mut rpc,
        "shop.order.line",
        "create",
        json!([{"order_id": order, "qty": 1, "price": 0.5}]),
    )
    .as_i64()
    .unwrap();
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(30.5)]
    );
    ok(&mut rpc, "shop.order.line", "unlink", json!([[extra]]));
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(30.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "line_count"),
        [json!(1)]
    );

    // Stored, so searchable and groupable like any column.
    let big = ok(
        &mut rpc,
        "shop.order",
        "search",
        json!([[["amount_total", ">", 10]]]),
    );
    assert_eq!(big, json!([order]));

    // Computed fields are the host's to write, never a client's.
    let (kind, message) = refused(
        &mut rpc,
        "shop.order",
        "write",
        json!([[order], {"amount_total": 1}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("computed by the method 'compute_total'"),
        "{message}"
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(30.0)]
    );

    // Digits: quantities are rounded to two decimals on write.
    ok(
        &mut rpc,
        "shop.order.line",
        "write",
        json!([[lines[0]], {"qty": 1.005}]),
    );
    assert_eq!(
        read(&mut rpc, "shop.order.line", &[lines[0]], "qty"),
        [json!(1.01)]
    );

    // read skips ids that do not exist, as Odoo's does.
    assert_eq!(
        ok(
            &mut rpc,
            "shop.order",
            "read",
            json!([[order, 999_999], ["name"]])
        ),
        json!([{"id": order, "name": "SO1"}])
    );
    // fields_get narrowed to some fields and attributes.
    assert_eq!(
        ok(
            &mut rpc,
            "shop.order",
            "fields_get",
            json!([["amount_total"], ["type", "readonly"]])
        ),
        json!({"amount_total": {"type": "float", "readonly": true}})
    );
    // fields_get tells clients what is computed, related and read-only.
    let fields = ok(&mut rpc, "shop.order", "fields_get", json!([]));
    assert_eq!(fields["amount_total"]["readonly"], json!(true));
    assert_eq!(fields["amount_total"]["store"], json!(true));
    assert_eq!(
        fields["amount_total"]["depends"],
        json!(["line_ids.subtotal"])
    );
    assert_eq!(fields["amount_total"]["digits"], json!([16, 2]));
    assert_eq!(
        fields["customer_name"]["related"],
        json!("customer_id.name")
    );
    assert_eq!(fields["customer_name"]["store"], json!(false));
    assert_eq!(fields["name"]["readonly"], json!(false));
}

fn related_fields(backend: Backend) {
    let (pulse, _server, mut rpc) = lab(backend);
    let ana = ok(
        &mut rpc,
        "shop.customer",
        "create",
        json!([{"name": "Ana", "city": "Manila"}]),
    )
    .as_i64()
    .unwrap();
    let ben = ok(
        &mut rpc,
        "shop.customer",
        "create",
        json!([{"name": "Ben"}]),
    )
    .as_i64()
    .unwrap();
    let orders = ok(
        &mut rpc,
        "shop.order",
        "create",
        json!([[
            {"name": "A1", "customer_id": ana},
            {"name": "B1", "customer_id": ben},
            {"name": "X1"},
        ]]),
    );
    let ids: Vec<i64> = serde_json::from_value(orders).unwrap();
    let records = ok(
        &mut rpc,
        "shop.order",
        "search_read",
        json!([[], ["name", "customer_name", "customer_city"]]),
    );
    assert_eq!(
        records,
        json!([
            {"id": ids[0], "name": "A1", "customer_name": "Ana", "customer_city": "Manila"},
            {"id": ids[1], "name": "B1", "customer_name": "Ben", "customer_city": false},
            {"id": ids[2], "name": "X1", "customer_name": false, "customer_city": false},
        ])
    );
    // Searched through the path it shows.
    let found = ok(
        &mut rpc,
        "shop.order",
        "search",
        json!([[["customer_name", "ilike", "an"]]]),
    );
    assert_eq!(found, json!([ids[0]]));
    // Like the path `customer_id.city` (an `any` on the customer), so an
    // order without a customer matches no condition on its city.
    let found = ok(
        &mut rpc,
        "shop.order",
        "search",
        json!([[["customer_city", "=", false]]]),
    );
    assert_eq!(found, json!([ids[1]]));
    // The source changes, the related field shows it at once.
    ok(
        &mut rpc,
        "shop.customer",
        "write",
        json!([[ana], {"name": "Ana Cruz"}]),
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[ids[0]], "customer_name"),
        [json!("Ana Cruz")]
    );
    // Not writable, not stored, not sortable.
    let (kind, message) = refused(
        &mut rpc,
        "shop.order",
        "write",
        json!([[ids[0]], {"customer_name": "Z"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("related to 'customer_id.name'"),
        "{message}"
    );
    assert!(
        !pulse
            .columns("shop_order")
            .contains(&"customer_name".to_string())
    );
    let (_, message) = refused(
        &mut rpc,
        "shop.order",
        "search",
        json!([[], 0, 0, "customer_name"]),
    );
    assert!(message.contains("not stored"), "{message}");
}

fn constraints(backend: Backend) {
    let (pulse, _server, mut rpc) = lab(backend);
    let order = ok(&mut rpc, "shop.order", "create", json!([{"name": "SO1"}]))
        .as_i64()
        .unwrap();
    let lines_before = pulse.scalar("SELECT COUNT(*) FROM shop_order_line");

    // A check constraint on create: nothing is written, not even the good rows.
    let (kind, message) = refused(
        &mut rpc,
        "shop.order.line",
        "create",
        json!([[
            {"order_id": order, "qty": 1, "price": 1},
            {"order_id": order, "qty": -2, "price": 1},
        ]]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("The quantity of a line cannot be negative"),
        "{message}"
    );
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM shop_order_line"),
        lines_before
    );

    // A check on a computed value, broken through a dependency.
    let line = ok(
        &mut rpc,
        "shop.order.line",
        "create",
        json!([{"order_id": order, "qty": 1, "price": 100}]),
    )
    .as_i64()
    .unwrap();
    let (kind, message) = refused(
        &mut rpc,
        "shop.order.line",
        "write",
        json!([[line], {"price": 2000000}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("An order may not exceed 1,000,000"),
        "{message}"
    );
    assert_eq!(
        read(&mut rpc, "shop.order.line", &[line], "price"),
        [json!(100.0)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "amount_total"),
        [json!(100.0)]
    );

    // The addon's validation method, on create and on write.
    let (kind, message) = refused(
        &mut rpc,
        "shop.order",
        "create",
        json!([{"name": "Forbidden deal"}]),
    );
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(
        message.contains("The order name 'Forbidden deal' is not allowed"),
        "{message}"
    );
    let (_, message) = refused(
        &mut rpc,
        "shop.order",
        "write",
        json!([[order], {"name": "forbidden"}]),
    );
    assert!(message.contains("is not allowed"), "{message}");
    assert_eq!(
        read(&mut rpc, "shop.order", &[order], "name"),
        [json!("SO1")]
    );
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM shop_order"), 1);

    // Addon code that catches a refusal keeps what it did before it.
    let outcome = ok(
        &mut rpc,
        "shop.order",
        "create_despite_refusal",
        json!([[], "SO9"]),
    );
    assert!(
        outcome["refused"]
            .as_str()
            .is_some_and(|m| m.contains("cannot be negative")),
        "{outcome}"
    );
    let made = outcome["order"].as_i64().unwrap();
    assert_eq!(
        read(&mut rpc, "shop.order", &[made], "line_count"),
        [json!(1)]
    );
    assert_eq!(
        read(&mut rpc, "shop.order", &[made], "amount_total"),
        [json!(10.0)]
    );
}

fn ondelete(backend: Backend) {
    let (pulse, _server, mut rpc) = lab(backend);
    let ana = ok(
        &mut rpc,
        "shop.customer",
        "create",
        json!([{"name": "Ana"}]),
    )
    .as_i64()
    .unwrap();
    let order = ok(
        &mut rpc,
        "shop.order",
        "create",
        json!([{"name": "SO1", "customer_id": ana, "line_ids": [[0, 0, {"qty": 1, "price": 1}]]}]),
    )
    .as_i64()
    .unwrap();
    // restrict: the customer stays while an order points at it.
    let (kind, message) = refused(&mut rpc, "shop.customer", "unlink", json!([[ana]]));
    assert_eq!(kind, "odoo.exceptions.ValidationError");
    assert!(message.contains("shop.order.customer_id"), "{message}");
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM shop_customer"), 1);
    // Removing a line from its order with (3, id) deletes it, since the
    // line cannot live without its order (ondelete cascade), as in Odoo.
    let extra = ok(
        &mut rpc,
        "shop.order.line",
        "create",
        json!([{"order_id": order, "qty": 2, "price": 1}]),
    )
    .as_i64()
    .unwrap();
    ok(
        &mut rpc,
        "shop.order",
        "write",
        json!([[order], {"line_ids": [[3, extra, 0]]}]),
    );
    assert_eq!(
        pulse.scalar(&format!(
            "SELECT COUNT(*) FROM shop_order_line WHERE id = {extra}"
        )),
        0
    );
    // cascade: deleting the order deletes its lines.
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM shop_order_line"), 1);
    ok(&mut rpc, "shop.order", "unlink", json!([[order]]));
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM shop_order_line"), 0);
    // Now the customer can go.
    ok(&mut rpc, "shop.customer", "unlink", json!([[ana]]));
    assert_eq!(pulse.scalar("SELECT COUNT(*) FROM shop_customer"), 0);
}

fn upgrade_computes(backend: Backend) {
    build_addons();
    let mut pulse = Pulse::on(backend, &["tests/fixtures/upgrade/v2"]);
    pulse.ok(&["install", "adds_field"]);
    let count = 2500;
    {
        let server = pulse.serve_in_process();
        let mut rpc = Rpc::new(&server);
        rpc.login(&pulse.db_name);
        let rows: Vec<Value> = (0..count)
            .map(|i| json!({"name": "x".repeat(i % 7 + 1)}))
            .collect();
        ok(&mut rpc, "u.note", "create", json!([rows]));
    }
    pulse.set_addons_paths(&["tests/fixtures/upgrade/v3_computed"]);
    let out = pulse.run(&["upgrade", "adds_field"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    // In batches, with progress.
    assert!(log.contains("computed 1000/2500 records"), "{log}");
    assert!(log.contains("computed 2500/2500 records"), "{log}");
    assert_eq!(
        pulse.scalar("SELECT COUNT(*) FROM u_note WHERE chars = LENGTH(name)"),
        count as i64
    );
    // From now on the field follows its dependency.
    let server = pulse.serve_in_process();
    let mut rpc = Rpc::new(&server);
    rpc.login(&pulse.db_name);
    ok(
        &mut rpc,
        "u.note",
        "write",
        json!([[1], {"name": "hello world"}]),
    );
    assert_eq!(read(&mut rpc, "u.note", &[1], "chars"), [json!(11)]);
}
