//! Reporters: each turns the engine's events into one output format.

pub mod human;
pub mod json;
pub mod junit;
pub mod tap;

use crate::engine::{CaseOutcome, Event, Summary};

/// Collects the outcomes of a run, for formats written at the end.
#[derive(Default)]
pub struct Collected {
    pub outcomes: Vec<CaseOutcome>,
    pub summary: Summary,
}

impl Collected {
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::CaseFinished(outcome) => self.outcomes.push((*outcome).clone()),
            Event::RunFinished(summary) => self.summary = (*summary).clone(),
            _ => {}
        }
    }
}

/// Lines of a target's output stream worth showing, or None if empty.
pub fn tail(snapshot: &crate::target::OutputSnapshot, lines: usize) -> Option<String> {
    let text = snapshot.last_lines(lines);
    (!text.trim().is_empty()).then_some(text)
}
