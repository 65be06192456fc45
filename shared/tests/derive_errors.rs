//! Wrong `#[net(...)]` attributes and unsupported types are compile errors that say what is
//! wrong (the expected messages are the `.stderr` files beside each case).

#[test]
fn wrong_attributes_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/derive_fail/*.rs");
}
