//! Built-in host collector with node_exporter-compatible metric names.
