//! Maps a path inside a YAML document (`cases[1].steps[0].send.on`) to the
//! line and column where that node starts.
//!
//! serde_yaml reports a location for syntax and type errors, but not for a
//! missing field, a duplicate key, or for problems found after
//! deserialisation (a duplicate case id, an unknown connection name). A
//! second, event-level parse with marks lets every such error point at the
//! right place.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in a spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Positions of every node and every mapping key of one YAML document.
#[derive(Debug, Default)]
pub struct Locator {
    nodes: HashMap<String, Position>,
    /// Every place a key is written: a duplicate key has several.
    keys: HashMap<String, Vec<Position>>,
}

impl Locator {
    /// Parses `text`; a document that does not parse yields an empty locator
    /// (the syntax error itself is reported by serde_yaml with its location).
    pub fn new(text: &str) -> Locator {
        // Events are pulled one by one (Parser::load would recurse once per
        // nesting level, and a hostile file can nest thousands deep).
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        loop {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => return builder.locator,
                Ok((event, mark)) => builder.on_event(event, mark),
                Err(_) => return Locator::default(),
            }
        }
    }

    /// Where the value at `path` starts, or the nearest ancestor that exists.
    pub fn value(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.nodes.get(path) {
                return Some(*position);
            }
            path = parent(path)?;
        }
    }

    /// Where the key of the mapping entry at `path` is written for the
    /// `nth` time (0 for the first), falling back to the value's position.
    pub fn key(&self, path: &str, nth: usize) -> Option<Position> {
        self.keys
            .get(path)
            .and_then(|places| places.get(nth))
            .copied()
            .or_else(|| self.value(path))
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> `` -> None.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a parent path and a mapping key.
pub fn child_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a parent path and a sequence index.
pub fn child_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Sequence {
        path: String,
        next: usize,
    },
    /// `key` holds the pending key once read; the next node is its value.
    Mapping {
        path: String,
        key: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    locator: Locator,
    stack: Vec<Frame>,
}

impl Builder {
    /// Decides the path of the node that starts now. Returns None when the
    /// node is a mapping key (recorded as such and not descended into).
    fn place_node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        let path = match self.stack.last_mut() {
            None => String::new(),
            Some(Frame::Sequence { path, next }) => {
                let child = child_index(path, *next);
                *next += 1;
                child
            }
            Some(Frame::Mapping { path, key }) => match key.take() {
                Some(key) => child_key(path, &key),
                None => {
                    // This node is a key. Complex (non-scalar) keys never
                    // occur in specs; they get an unmatchable name.
                    let name = scalar.unwrap_or("?").to_string();
                    let key_path = child_key(path, &name);
                    self.locator
                        .keys
                        .entry(key_path)
                        .or_default()
                        .push(position);
                    *key = Some(name);
                    return None;
                }
            },
        };
        self.locator.nodes.entry(path.clone()).or_insert(position);
        Some(path)
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.place_node(Some(&value), mark);
            }
            Event::Alias(_) => {
                self.place_node(None, mark);
            }
            Event::SequenceStart(..) => {
                let path = self.place_node(None, mark).unwrap_or_default();
                self.stack.push(Frame::Sequence { path, next: 0 });
            }
            Event::MappingStart(..) => {
                let path = self.place_node(None, mark).unwrap_or_default();
                self.stack.push(Frame::Mapping { path, key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "spec: x\ncases:\n  - id: one\n    steps:\n      - send: { on: a, text: hi }\n      - eof: a\n";

    #[test]
    fn finds_nested_values_and_keys() {
        let locator = Locator::new(DOC);
        assert_eq!(locator.value("spec"), Some(Position { line: 1, column: 7 }));
        assert_eq!(
            locator.key("cases[0].id", 0),
            Some(Position { line: 3, column: 5 })
        );
        assert_eq!(
            locator.value("cases[0].steps[0].send.on"),
            Some(Position {
                line: 5,
                column: 21
            })
        );
        assert_eq!(
            locator.value("cases[0].steps[1].eof"),
            Some(Position {
                line: 6,
                column: 14
            })
        );
    }

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        let locator = Locator::new(DOC);
        assert_eq!(
            locator.value("cases[0].steps[1].eof.timeout"),
            Some(Position {
                line: 6,
                column: 14
            })
        );
    }

    #[test]
    fn finds_the_second_place_of_a_duplicate_key() {
        let locator = Locator::new("a: 1\nb: 2\na: 3\n");
        assert_eq!(locator.key("a", 1), Some(Position { line: 3, column: 1 }));
    }

    #[test]
    fn broken_yaml_gives_no_positions() {
        assert_eq!(Locator::new("a: [1, 2").value("a"), None);
    }
}
