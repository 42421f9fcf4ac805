//! Values inside steps: byte payloads and templates, hex, durations,
//! percentages, sizes. Each is checked where it is written.

use super::{Checker, Scope, MAX_DURATION, MAX_PAYLOAD};
use crate::speclang::locate::child_key;
use crate::speclang::model::*;
use crate::speclang::SpecError;
use std::time::Duration;

impl Checker<'_> {
    pub(super) fn repeat(&self, path: &str, repeat: Option<usize>) -> Result<usize, SpecError> {
        match repeat {
            Some(0) => Err(self.error(&child_key(path, "repeat"), "`repeat` must be at least 1")),
            Some(n) if n > MAX_PAYLOAD => Err(self.error(
                &child_key(path, "repeat"),
                format!("`repeat` may be at most {MAX_PAYLOAD}"),
            )),
            Some(n) => Ok(n),
            None => Ok(1),
        }
    }

    /// Rejects a payload that would stand for more than MAX_PAYLOAD bytes
    /// (captures not counted: they hold what a target sent, already capped).
    pub(super) fn check_size(&self, path: &str, payload: &Payload) -> Result<(), SpecError> {
        let once: usize = payload
            .parts
            .iter()
            .map(|part| match part {
                Part::Literal(bytes) => bytes.len(),
                Part::Capture { .. } => 0,
            })
            .sum();
        if once.saturating_mul(payload.repeat) > MAX_PAYLOAD {
            return Err(self.error(
                path,
                format!(
                    "this stands for more than {} MiB of data",
                    MAX_PAYLOAD >> 20
                ),
            ));
        }
        Ok(())
    }

    /// Text with `{capture}` / `{capture|upper}` references; `{{` and `}}`
    /// stand for literal braces.
    pub(super) fn template(
        &self,
        path: &str,
        text: &str,
        scope: &Scope,
    ) -> Result<Payload, SpecError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(brace) = rest.find(['{', '}']) {
            literal.push_str(&rest[..brace]);
            let tail = &rest[brace..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                literal.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(self.error(
                    path,
                    "unmatched `}` in text: write `}}` for a literal brace",
                ));
            }
            let Some(end) = tail.find('}') else {
                return Err(
                    self.error(path, "unclosed `{` in text: write `{{` for a literal brace")
                );
            };
            let reference = &tail[1..end];
            let (name, transform) = match reference.split_once('|') {
                Some((name, transform)) => (name.trim(), self.transform(path, transform.trim())?),
                None => (reference.trim(), Transform::None),
            };
            if !scope.captures.contains(name) {
                return Err(self.error(
                    path,
                    format!("`{{{name}}}` refers to no capture: an earlier step needs `capture: {name}`"),
                ));
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal).into_bytes()));
            }
            parts.push(Part::Capture {
                name: name.to_string(),
                transform,
            });
            rest = &tail[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.into_bytes()));
        }
        Ok(Payload { parts, repeat: 1 })
    }

    pub(super) fn transform(&self, path: &str, name: &str) -> Result<Transform, SpecError> {
        match name {
            "upper" => Ok(Transform::Upper),
            "lower" => Ok(Transform::Lower),
            "trim" => Ok(Transform::Trim),
            other => Err(self.error(
                path,
                format!("unknown transform `{other}`: use upper, lower or trim"),
            )),
        }
    }

    pub(super) fn hex(&self, path: &str, hex: &str) -> Result<Payload, SpecError> {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(self.error(path, "hex needs an even number of digits"));
        }
        let bytes = digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| self.error(path, format!("`{hex}` is not hex (digits 0-9, a-f)")))?;
        Ok(Payload {
            parts: vec![Part::Literal(bytes)],
            repeat: 1,
        })
    }

    pub(super) fn timeout_or(
        &self,
        path: &str,
        text: &Option<String>,
        default: Duration,
    ) -> Result<Duration, SpecError> {
        match text {
            Some(text) => self.positive_duration(&child_key(path, "timeout"), text),
            None => Ok(default),
        }
    }

    pub(super) fn duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        let duration = self.any_duration(path, text)?;
        if duration > MAX_DURATION {
            return Err(self.error(
                path,
                format!("`{text}` is longer than a day: no step of a spec waits that long"),
            ));
        }
        Ok(duration)
    }

    pub(super) fn any_duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        humantime::parse_duration(text.trim()).map_err(|_| {
            self.error(
                path,
                format!("`{text}` is not a duration: write a positive amount with a unit, like 2s or 500ms"),
            )
        })
    }

    pub(super) fn positive_duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        let duration = self.duration(path, text)?;
        if duration.is_zero() {
            return Err(self.error(path, "the duration must be greater than zero"));
        }
        Ok(duration)
    }

    /// `10%`, `10` or `0.5%` -> a fraction of one core.
    pub(super) fn percent(&self, path: &str, value: &serde_yaml::Value) -> Result<f64, SpecError> {
        let number = match value {
            serde_yaml::Value::Number(n) => n.as_f64(),
            serde_yaml::Value::String(s) => s.trim().trim_end_matches('%').trim().parse().ok(),
            _ => None,
        };
        match number {
            Some(n) if (0.0..=100.0).contains(&n) => Ok(n / 100.0),
            _ => Err(self.error(
                path,
                "`max-cpu` is a percentage of one core, from 0% to 100%",
            )),
        }
    }
}
