//! Maps a YAML key path (`groups[0].rules[2].expr`) to its line and column.
//!
//! serde reports positions only for syntax and type errors; the semantic checks
//! (expression parses, names valid, duplicate groups) run on decoded values. This
//! module walks the YAML event stream once and remembers where each mapping key
//! and sequence item starts, so those errors can name the line as well.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Index of key paths to 1-based (line, column).
#[derive(Debug, Default)]
pub struct Locator {
    at: HashMap<String, (usize, usize)>,
}

impl Locator {
    /// Indexes `text`. Documents that do not parse give an empty index (their
    /// syntax error already carries a position).
    pub fn new(text: &str) -> Locator {
        let mut w = Walker::default();
        if Parser::new_from_str(text).load(&mut w, false).is_err() {
            return Locator::default();
        }
        Locator { at: w.at }
    }

    /// The position of `path`, or of its nearest recorded ancestor.
    pub fn find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.at.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
        /// Set for a mapping that is a sequence item: its position is that of its
        /// first key (the parser marks the mapping start lazily).
        item: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    at: HashMap<String, (usize, usize)>,
}

impl Walker {
    fn pos(m: &Marker) -> (usize, usize) {
        (m.line(), m.col() + 1)
    }

    /// Handles a node (scalar or container start) in the current container and
    /// returns its path.
    fn node(&mut self, mark: &Marker, scalar: Option<&str>, map_start: bool) -> Option<String> {
        match self.stack.last_mut()? {
            Frame::Map { path, key, item } => match key.take() {
                None => {
                    // This node is a key.
                    if let Some(it) = item.take() {
                        self.at.entry(it).or_insert(Self::pos(mark));
                    }
                    let k = scalar.unwrap_or("?").to_string();
                    let full = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.at.entry(full).or_insert(Self::pos(mark));
                    *key = Some(k);
                    None
                }
                Some(k) => Some(if path.is_empty() {
                    k
                } else {
                    format!("{path}.{k}")
                }),
            },
            Frame::Seq { path, next } => {
                let full = format!("{path}[{next}]");
                *next += 1;
                if !map_start {
                    self.at.entry(full.clone()).or_insert(Self::pos(mark));
                }
                Some(full)
            }
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(v, ..) => {
                self.node(&mark, Some(&v), false);
            }
            Event::Alias(_) => {
                self.node(&mark, Some("*"), false);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let in_seq = matches!(self.stack.last(), Some(Frame::Seq { .. }));
                let path = if self.stack.is_empty() {
                    Some(String::new())
                } else {
                    self.node(&mark, None, is_map)
                };
                // A container used as a mapping key gets a placeholder path.
                let path = path.unwrap_or_else(|| "?".to_string());
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map {
                        item: (in_seq).then(|| path.clone()),
                        path,
                        key: None,
                    },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_paths() {
        let y = "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n      - alert: B\n        expr: |\n          foo\n";
        let l = Locator::new(y);
        assert_eq!(l.find("groups"), Some((1, 1)));
        assert_eq!(l.find("groups[0].name"), Some((2, 5)));
        assert_eq!(l.find("groups[0].rules[0].expr"), Some((5, 9)));
        assert_eq!(l.find("groups[0].rules[1]"), Some((6, 9)));
        assert_eq!(l.find("groups[0].rules[1].expr"), Some((7, 9)));
        assert_eq!(l.find("groups[0].rules[1].labels.x"), Some((6, 9)));
    }
}
