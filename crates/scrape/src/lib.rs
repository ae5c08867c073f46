//! Prometheus-compatible scraping: exposition parsers, relabelling, targets and scrape loops.
