//! Compile-error UI tests (trybuild): one rule per file under `tests/ui/fail`,
//! each with its `.stderr`; passing layouts under `tests/ui/pass`. One test
//! function so trybuild builds a single crate. Bless with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
