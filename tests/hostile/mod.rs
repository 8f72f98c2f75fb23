//! Hostile tests: what an attacker sends through each door (raw HTTP
//! bodies, RPC calls as users of the wrong group, compiled hostile addons),
//! on both engines where the database is involved. After every case the
//! server still answers `/health` and the data the attack aimed at is
//! unchanged. One module per class of attack (issue 16).

mod addons;
pub(crate) mod auth;
mod domains;
mod orm;
mod parsers;

/// The server still serves: `/health` answers 200 `{"status": "pass"}`.
pub fn assert_serving(server: &pulse_testing::Server) {
    let response = server
        .request("GET", "/health", &[], "")
        .expect("the server still accepts connections");
    assert_eq!(response.status, 200, "/health: {}", response.body);
    assert!(
        response.body.contains("\"pass\""),
        "/health: {}",
        response.body
    );
}
