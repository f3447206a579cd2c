//! instant-local binary
fn main() {}
