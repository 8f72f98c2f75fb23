use pulse_core::routes::{Found, MAX_BODY_LIMIT, RouteTable, validate};
use pulse_schema::{RouteAuth, RouteSpec};

fn spec(name: &str, method: &str, path: &str) -> RouteSpec {
    RouteSpec {
        name: name.into(),
        method: method.into(),
        path: path.into(),
        auth: RouteAuth::User,
        max_body: None,
    }
}

#[test]
fn literal_segments_win_and_methods_are_told_apart() {
    let a = [
        spec("by_id", "GET", "/x/{id}"),
        spec("new", "GET", "/x/new"),
    ];
    let b = [spec("post", "POST", "/x/{id}")];
    let table = RouteTable::build([("a", &a[..]), ("b", &b[..])]);
    match table.find("GET", "/x/new") {
        Found::Route(r, params) => assert_eq!((r.spec.name.as_str(), params.len()), ("new", 0)),
        _ => panic!("no route"),
    }
    match table.find("GET", "/x/caf%C3%A9") {
        Found::Route(r, params) => {
            assert_eq!(r.spec.name, "by_id");
            assert_eq!(params, [("id".to_string(), "café".to_string())]);
        }
        _ => panic!("no route"),
    }
    assert!(matches!(table.find("DELETE", "/x/1"), Found::WrongMethod(m) if m.len() == 2));
    assert!(matches!(table.find("GET", "/x/1/more"), Found::Nothing));
    assert!(matches!(table.find("GET", "/x/"), Found::Nothing));
}

#[test]
fn a_later_addon_overrides_a_route_of_the_same_shape() {
    let a = [spec("one", "GET", "/x/{id}")];
    let b = [spec("two", "GET", "/x/{record}")];
    let table = RouteTable::build([("a", &a[..]), ("b", &b[..])]);
    assert_eq!(table.routes.len(), 1);
    assert!(matches!(table.find("GET", "/x/1"), Found::Route(r, _) if r.addon == "b"));
}

#[test]
fn bad_routes_are_refused_with_the_reason() {
    let check = |routes: &[RouteSpec]| validate("shop", routes).unwrap_err().to_string();
    assert!(check(&[spec("a", "TRACE", "/x")]).contains("method 'TRACE'"));
    assert!(check(&[spec("a", "GET", "/jsonrpc")]).contains("host serves itself"));
    assert!(check(&[spec("a", "GET", "/web/login")]).contains("host serves itself"));
    assert!(check(&[spec("a", "GET", "x")]).contains("must start with '/'"));
    assert!(check(&[spec("a", "GET", "/x/{a}"), spec("b", "GET", "/x/{b}")]).contains("twice"));
    let mut big = spec("a", "POST", "/x");
    big.max_body = Some(MAX_BODY_LIMIT + 1);
    assert!(check(&[big]).contains("body limit"));
    assert!(
        validate(
            "shop",
            &[
                spec("a", "GET", "/webhooks/x"),
                spec("b", "POST", "/x/{id}")
            ]
        )
        .is_ok()
    );
}
