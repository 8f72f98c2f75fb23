//! The macros' compile errors, as an addon author sees them: each file of
//! `tests/ui/` must fail to compile with exactly the message beside it
//! (`.stderr`). After changing a message on purpose, regenerate them with
//! `TRYBUILD=overwrite cargo test --release --workspace --test ui`.

#[test]
fn macro_errors_name_what_is_wrong() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
