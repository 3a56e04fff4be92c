//! *Expected outcomes*: each statement of `expect` parses, and each metric is one the
//! scenario's `summary.json` will have (see `crate::expect`).

use super::checker::Checker;
use super::limits;
use crate::expect::{Expectation, parse};
use crate::scenario::model::Scenario;
use crate::scenario::spans::Step;

impl Checker<'_> {
    /// Parses the `expect` list; statements that do not parse are reported and left out.
    pub fn expect(&mut self, statements: &[String]) -> Vec<(usize, Expectation)> {
        if !self.list_len(statements.len(), "expect", None, limits::MAX_LIST) {
            return Vec::new();
        }
        let mut parsed = Vec::new();
        for (k, text) in statements.iter().enumerate() {
            match parse(text) {
                Ok(e) => parsed.push((k, e)),
                Err(e) => self.within(&[Step::Item(k)], |c| {
                    c.at_value(text, None, e.message, e.help)
                }),
            }
        }
        parsed
    }

    /// Reports metrics `scenario` cannot have; returns the statements.
    pub fn expect_metrics(
        &mut self,
        statements: &[String],
        parsed: Vec<(usize, Expectation)>,
        scenario: &Scenario,
    ) -> Vec<Expectation> {
        for (k, e) in &parsed {
            if let Expectation::Compare { metric, .. } = e
                && let Err((message, help)) = metric.check(scenario)
            {
                let text = &statements[*k];
                self.within(&[Step::Item(*k)], |c| c.at_value(text, None, message, help));
            }
        }
        parsed.into_iter().map(|(_, e)| e).collect()
    }
}
