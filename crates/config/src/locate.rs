//! Maps a key path (`scrape_configs[1].scrape_timeout`) back to a line and column.
//!
//! serde reports type errors with positions, but checks that span several fields
//! (a timeout longer than its interval, duplicate job names) run after decoding, when
//! positions are gone. This module re-reads the YAML event stream once and records
//! where each key path starts, so those errors can point at the line too.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions (1-based line, 1-based column) of every mapping key and sequence item.
#[derive(Debug, Default)]
pub struct Locations {
    map: HashMap<String, (usize, usize)>,
}

impl Locations {
    /// Indexes `text`; a document that does not parse yields an empty index.
    pub fn index(text: &str) -> Self {
        let mut r = Recorder::default();
        let mut p = Parser::new_from_str(text);
        if p.load(&mut r, false).is_err() {
            return Locations::default();
        }
        Locations { map: r.map }
    }

    /// The position of `path`, or of its closest recorded ancestor.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path.to_string();
        loop {
            if let Some(pos) = self.map.get(&p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }
}

enum Frame {
    Map {
        expecting_key: bool,
        key: Option<String>,
    },
    Seq {
        index: usize,
    },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<(String, Frame)>,
    map: HashMap<String, (usize, usize)>,
}

impl Recorder {
    /// Path of the node about to start in the current container, recording its mark.
    fn child_path(&mut self, mark: Marker) -> Option<String> {
        let (base, frame) = self.stack.last_mut()?;
        let path = match frame {
            Frame::Map { key, .. } => {
                let k = key.take()?;
                if base.is_empty() {
                    k
                } else {
                    format!("{base}.{k}")
                }
            }
            Frame::Seq { index } => {
                let p = format!("{base}[{index}]");
                *index += 1;
                self.map
                    .entry(p.clone())
                    .or_insert((mark.line(), mark.col() + 1));
                p
            }
        };
        Some(path)
    }

    /// Called after a value node completes in the current container.
    fn value_done(&mut self) {
        if let Some((_, Frame::Map { expecting_key, .. })) = self.stack.last_mut() {
            *expecting_key = true;
        }
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                if let Some((base, Frame::Map { expecting_key, key })) = self.stack.last_mut() {
                    if *expecting_key {
                        let path = if base.is_empty() {
                            value.clone()
                        } else {
                            format!("{base}.{value}")
                        };
                        self.map
                            .entry(path)
                            .or_insert((mark.line(), mark.col() + 1));
                        *key = Some(value);
                        *expecting_key = false;
                        return;
                    }
                }
                let _ = self.child_path(mark);
                self.value_done();
            }
            Event::Alias(_) => {
                let _ = self.child_path(mark);
                self.value_done();
            }
            Event::MappingStart(..) => {
                let path = if self.stack.is_empty() {
                    String::new()
                } else {
                    self.child_path(mark).unwrap_or_default()
                };
                self.stack.push((
                    path,
                    Frame::Map {
                        expecting_key: true,
                        key: None,
                    },
                ));
            }
            Event::SequenceStart(..) => {
                let path = if self.stack.is_empty() {
                    String::new()
                } else {
                    self.child_path(mark).unwrap_or_default()
                };
                self.stack.push((path, Frame::Seq { index: 0 }));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_items() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_timeout: 1m\n";
        let l = Locations::index(text);
        assert_eq!(l.find("global.scrape_interval"), Some((2, 3)));
        assert_eq!(l.find("scrape_configs[1].scrape_timeout"), Some((6, 5)));
        assert_eq!(l.find("scrape_configs[1].job_name"), Some((5, 5)));
        assert_eq!(l.find("scrape_configs[1].nope").map(|p| p.0), Some(5));
    }
}
