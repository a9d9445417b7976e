//! Not built yet: see its issue.
fn main() {}
