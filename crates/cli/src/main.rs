//! The `sightline` command line.
fn main() {}
