//! Where in a message a transcoder is, kept as a stack and rendered only for errors.

use core::fmt::Write as _;

/// One step into a value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

/// The steps from the message to the current value.
#[derive(Debug, Default)]
pub(crate) struct Path<'a> {
    steps: Vec<Step<'a>>,
}

impl<'a> Path<'a> {
    pub(crate) fn push(&mut self, step: Step<'a>) {
        self.steps.push(step);
    }

    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }

    /// `$`, `$.amount`, `$.cells[2].x`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("$");
        for step in &self.steps {
            let _ = match step {
                Step::Field(name) => write!(out, ".{name}"),
                Step::Index(i) => write!(out, "[{i}]"),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_in_jsonpath_style() {
        let mut path = Path::default();
        assert_eq!(path.render(), "$");
        path.push(Step::Field("cells"));
        path.push(Step::Index(2));
        path.push(Step::Field("x"));
        assert_eq!(path.render(), "$.cells[2].x");
        path.pop();
        path.pop();
        assert_eq!(path.render(), "$.cells");
    }
}
