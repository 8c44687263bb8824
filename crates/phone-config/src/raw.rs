//! One parameter as read from the file ([`RawParam`], with the [`LineIndex`] that places it) and
//! how a typed [`Value`] takes it. Shared by the XML walk (`parse.rs`), the settings tree
//! (`settings.rs`) and the cross-parameter checks (`checks.rs`), none of which imports another
//! back.

use crate::diagnostic::{Diagnostic, Kind, Location};
use crate::value::{Access, Param, Problem, Value};

/// Maps byte offsets to line and column.
pub(crate) struct LineIndex<'a> {
    pub(crate) text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub fn location(&self, offset: usize) -> Location {
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = match self.text.get(start..offset) {
            Some(s) => s.chars().count(),
            None => offset.saturating_sub(start),
        };
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

/// One parameter element as read from the file.
pub(crate) struct RawParam<'a> {
    /// The element name as written.
    pub name: &'a str,
    /// The text, trimmed.
    pub text: &'a str,
    pub access: Option<Access>,
    /// Where the value starts (the element when it is empty).
    pub location: Location,
    /// Byte offset of `text` in the input when the file spells it literally (no entities),
    /// so that a problem's offset inside the value maps to an exact column.
    pub exact_start: Option<usize>,
    pub index: &'a LineIndex<'a>,
}

impl RawParam<'_> {
    fn diagnostic(&self, kind: Kind, problem: Problem) -> Diagnostic {
        let location = match (self.exact_start, problem.offset) {
            (Some(start), Some(off)) => self.index.location(start + off),
            _ => self.location,
        };
        let mut d = Diagnostic::new(problem.severity, kind, problem.message)
            .param(self.name)
            .at(Some(location));
        d.hint = problem.hint;
        d
    }
}

#[allow(private_bounds)]
impl<T: Param> Value<T> {
    pub(crate) fn assign(&mut self, raw: &RawParam<'_>, out: &mut Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let parsed = T::parse_param(raw.text, &mut problems);
        out.extend(problems.into_iter().map(|p| raw.diagnostic(T::KIND, p)));
        match parsed {
            Some(v) => self.set(v, raw.access, raw.location, raw.exact_start),
            None => {
                let text = if T::SECRET {
                    "<redacted>".to_owned()
                } else {
                    raw.text.to_owned()
                };
                self.reject(raw.access, raw.location, text);
            }
        }
    }

    pub(crate) fn entry(&self, name: &str, suffix: &str) -> crate::Entry {
        crate::Entry {
            name: format!("{name}{suffix}"),
            value: self.get().show(),
            access: self.access(),
            origin: self.origin().clone(),
        }
    }
}
