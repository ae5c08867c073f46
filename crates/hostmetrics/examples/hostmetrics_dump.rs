//! Prints the host metrics of this machine, as `/metrics/node` would serve
//! them: `cargo run -p sightline-hostmetrics --example hostmetrics_dump`.

use sightline_hostmetrics::{HostCollector, HostCollectorOptions};

fn main() {
    let c = HostCollector::new(HostCollectorOptions::default());
    let mut out = String::new();
    for (name, e) in c.render_reporting(&mut out) {
        eprintln!("collector {name} failed: {e}");
    }
    out.clear();
    c.render(&mut out);
    print!("{out}");
}
