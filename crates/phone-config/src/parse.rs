//! From bytes to [`Settings`]: the XML walk, name dispatch and per-value diagnostics.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Kind, Location, Severity};
use crate::raw::{LineIndex, RawParam};
use crate::settings::{LINES, Line, Settings, UnknownParameter, system_names};
use crate::value::Access;

/// The largest input [`parse`](crate::parse) reads. Real `cfg.xml` files are a few hundred
/// kilobytes; anything much larger is not a phone configuration.
pub const MAX_INPUT_LEN: usize = 8 << 20;

/// Elements that hold parameters rather than being one.
const CONTAINERS: &[&str] = &["flat-profile", "device"];

/// A `cfg.xml` read into settings, with everything worth saying about it.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The effective settings: the file's valid values over the defaults.
    pub settings: Settings,
    /// Findings in file order (cross-parameter findings last).
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// The most serious severity among the diagnostics, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.worst() == Some(Severity::Error)
    }
}

/// The file could not be read as XML at all; nothing in it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(Box<Diagnostic>);

impl ParseError {
    /// The diagnostic: what is wrong and where.
    pub fn diagnostic(&self) -> &Diagnostic {
        &self.0
    }

    /// The diagnostic, owned.
    pub fn into_diagnostic(self) -> Diagnostic {
        *self.0
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ParseError {}

fn fatal(kind: Kind, location: Option<Location>, message: String, hint: Option<String>) -> ParseError {
    let mut d = Diagnostic::new(Severity::Error, kind, message).at(location);
    d.hint = hint;
    ParseError(Box::new(d))
}

/// Parses a `cfg.xml`.
///
/// Returns `Err` only when the bytes are not a well-formed XML document (or not UTF-8, or
/// larger than [`MAX_INPUT_LEN`], or nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH)); every other problem is a [`Diagnostic`] in
/// [`Parsed::diagnostics`], and the settings hold the defaults wherever the file's value was
/// rejected. Never panics.
pub fn parse(input: &[u8]) -> Result<Parsed, ParseError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(fatal(
            Kind::Input,
            None,
            format!("the file has {} bytes; the limit is {MAX_INPUT_LEN}", input.len()),
            Some("a phone configuration is at most a few hundred kilobytes".into()),
        ));
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = match std::str::from_utf8(input) {
        Ok(t) => t,
        Err(e) => {
            let good = input.get(..e.valid_up_to()).unwrap_or_default();
            let good = std::str::from_utf8(good).unwrap_or_default();
            let loc = LineIndex::new(good).location(good.len());
            return Err(fatal(
                Kind::Input,
                Some(loc),
                format!("byte {} is not UTF-8", e.valid_up_to()),
                Some("save the file as UTF-8".into()),
            ));
        }
    };
    let index = LineIndex::new(text);
    if let Some(at) = xml_depth::too_deep(text.as_bytes(), crate::depth::MAX_DEPTH) {
        return Err(fatal(
            Kind::Xml,
            Some(index.location(at)),
            format!(
                "elements are nested more than {} levels deep",
                crate::depth::MAX_DEPTH
            ),
            Some("a cfg.xml is flat: <flat-profile> holding one element per parameter".into()),
        ));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| xml_error(&e, text))?;
    let mut settings = Settings::default();
    let mut out = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    let root = doc.root_element();
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        if node.children().any(|c| c.is_element()) {
            continue; // a container such as <flat-profile>
        }
        let name = node.tag_name().name();
        if node == root && CONTAINERS.contains(&name) {
            continue;
        }
        read_param(node, name, &index, &mut settings, &mut seen, &mut out);
    }
    crate::checks::check(&settings, &index, &mut out);
    // File order; findings about the file as a whole last.
    out.sort_by_key(|d| d.location.map_or((u32::MAX, u32::MAX), |l| (l.line, l.column)));
    Ok(Parsed {
        settings,
        diagnostics: out,
    })
}

fn xml_error(e: &roxmltree::Error, text: &str) -> ParseError {
    let pos = e.pos();
    let location = Location {
        line: pos.row,
        column: pos.col,
    };
    let message = e.to_string();
    let message = match message.rsplit_once(" at ") {
        Some((m, _)) => m.to_owned(),
        None => message,
    };
    let hint = xml_hint(e, text, location);
    fatal(
        Kind::Xml,
        Some(location),
        format!("malformed XML: {message}"),
        hint,
    )
}

/// Hints for the mistakes the guide's own snippets make.
fn xml_hint(e: &roxmltree::Error, text: &str, at: Location) -> Option<String> {
    use roxmltree::Error as E;
    match e {
        E::UnexpectedCloseTag(open, close, _) => {
            let (open, close) = (open.as_str(), close.as_str());
            let hint = if close.strip_suffix('_') == Some(open) {
                format!(
                    "the element is opened as <{open}> and closed as </{close}>; per-line \
                     parameters end in `_n_`: write <{close}>...</{close}>"
                )
            } else {
                format!("the element is opened as <{open}> but closed as </{close}>; the names must match")
            };
            Some(hint)
        }
        E::DtdDetected => Some("cfg.xml has no DTD; remove the <!DOCTYPE ...> declaration".into()),
        E::UnexpectedEndOfStream => Some("the file ends inside an element; is it truncated?".into()),
        _ => {
            let line = text.lines().nth(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
            let glued = line.match_indices("ua=").any(|(i, _)| {
                line.get(..i)
                    .is_some_and(|b| !b.is_empty() && !b.ends_with(char::is_whitespace))
            });
            glued
                .then(|| "a space is missing before the `ua` attribute: write <Name_1_ ua=\"na\">".to_owned())
        }
    }
}

fn read_param(
    node: roxmltree::Node<'_, '_>,
    name: &str,
    index: &LineIndex<'_>,
    settings: &mut Settings,
    seen: &mut HashMap<String, Location>,
    out: &mut Vec<Diagnostic>,
) {
    let element_at = index.location(node.range().start);
    let mut access = None;
    for attr in node.attributes() {
        if attr.name() == "ua" {
            access = Access::parse(attr.value());
            if access.is_none() {
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        Kind::Attribute,
                        format!("ua=\"{}\" is not a user access level", attr.value()),
                    )
                    .param(name)
                    .at(Some(element_at))
                    .hint("expected na (no access), ro (read only) or rw (read/write)"),
                );
            }
        } else {
            out.push(
                Diagnostic::new(
                    Severity::Note,
                    Kind::Attribute,
                    format!("the attribute `{}` is ignored", attr.name()),
                )
                .param(name)
                .at(Some(element_at)),
            );
        }
    }
    let texts: Vec<roxmltree::Node<'_, '_>> = node.children().filter(|c| c.is_text()).collect();
    let joined: String;
    let (full, raw_start) = match texts.as_slice() {
        [] => ("", None),
        [one] => {
            let t = one.text().unwrap_or("");
            let r = one.range();
            let literal = index.text.get(r.clone()) == Some(t);
            (t, literal.then_some(r.start))
        }
        many => {
            joined = many.iter().filter_map(|n| n.text()).collect();
            (joined.as_str(), None)
        }
    };
    let lead = full.len() - full.trim_start().len();
    let trimmed = full.trim();
    let location = match (trimmed.is_empty(), texts.first()) {
        (false, Some(t)) => index.location(raw_start.map_or(t.range().start, |s| s + lead)),
        _ => element_at,
    };
    let raw = RawParam {
        name,
        text: trimmed,
        access,
        location,
        exact_start: raw_start.map(|s| s + lead),
        index,
    };

    if let Some((canonical, why)) = alias(name) {
        out.push(
            Diagnostic::new(
                Severity::Note,
                Kind::Ldap,
                format!("read as `{canonical}` ({why})"),
            )
            .param(name)
            .at(Some(element_at))
            .hint(format!("the phone's element name is `{canonical}`")),
        );
        let raw = RawParam {
            name: canonical,
            ..raw
        };
        if settings.assign_system(canonical, &raw, out) {
            note_duplicate(canonical, element_at, seen, out);
        }
        return;
    }
    if settings.assign_system(name, &raw, out) {
        note_duplicate(name, element_at, seen, out);
        return;
    }
    if let Some((base, n)) = split_line_suffix(name) {
        if Line::NAMES.contains(&base) {
            match usize::from(n)
                .checked_sub(1)
                .and_then(|i| settings.lines.get_mut(i))
            {
                Some(line) => {
                    line.assign(base, &raw, out);
                    note_duplicate(name, element_at, seen, out);
                }
                None => {
                    out.push(
                        Diagnostic::new(
                            Severity::Error,
                            Kind::LineNumber,
                            format!("line {n} does not exist"),
                        )
                        .param(name)
                        .at(Some(element_at))
                        .hint(format!("lines are numbered 1 to {LINES}")),
                    );
                    keep_unknown(settings, &raw);
                }
            }
            return;
        }
    }
    keep_unknown(settings, &raw);
    let d = match suggest(name) {
        Some(s) => Diagnostic::new(
            Severity::Warning,
            Kind::UnknownParameter,
            "unknown parameter; it is kept but not checked",
        )
        .hint(format!("did you mean `{s}`?")),
        None => Diagnostic::new(
            Severity::Note,
            Kind::UnknownParameter,
            "unknown parameter; it is kept but not checked",
        ),
    };
    out.push(d.param(name).at(Some(element_at)));
}

/// Other spellings of known parameters found in real provisioning templates: the canonical
/// name and where the spelling comes from.
fn alias(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "LDAP_Username" => Some(("LDAP_User_Name", "the spelling of SPA-lineage templates")),
        "LDAP_item_3_Filter" => Some(("LDAP_Item_3_Filter", "a template's lower-case `item`")),
        "LDAP_item_4_Filter" => Some(("LDAP_Item_4_Filter", "a template's lower-case `item`")),
        _ => None,
    }
}

fn keep_unknown(settings: &mut Settings, raw: &RawParam<'_>) {
    settings.unknown.push(UnknownParameter {
        name: raw.name.to_owned(),
        value: raw.text.to_owned(),
        access: raw.access,
        location: raw.location,
    });
}

fn note_duplicate(name: &str, at: Location, seen: &mut HashMap<String, Location>, out: &mut Vec<Diagnostic>) {
    if let Some(first) = seen.get(name) {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                Kind::Duplicate,
                format!(
                    "set again (first set at line {}); this later value is the one used",
                    first.line
                ),
            )
            .param(name)
            .at(Some(at))
            .hint("remove one of the two elements"),
        );
    } else {
        seen.insert(name.to_owned(), at);
    }
}

/// `Proxy_12_` -> `("Proxy", 12)`.
fn split_line_suffix(name: &str) -> Option<(&str, u16)> {
    let body = name.strip_suffix('_')?;
    let (base, digits) = body.rsplit_once('_')?;
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, digits.parse().ok()?))
}

/// A known name the unknown `name` is probably a misspelling of.
fn suggest(name: &str) -> Option<String> {
    let line_n = split_line_suffix(name)
        .map(|(_, n)| n)
        .or_else(|| split_line_suffix(&format!("{name}_")).map(|(_, n)| n))
        .unwrap_or(1);
    let suffix_len = line_n.to_string().len() + 2;
    let candidates = system_names().map(std::borrow::Cow::Borrowed).chain(
        Line::NAMES
            .iter()
            .filter(|b| (b.len() + suffix_len).abs_diff(name.len()) <= 2)
            .map(|b| std::borrow::Cow::Owned(format!("{b}_{line_n}_"))),
    );
    let mut best: Option<(usize, std::borrow::Cow<'static, str>)> = None;
    let name_hist = histogram(name);
    for c in candidates {
        let limit = if c.len() >= 8 { 2 } else { 1 };
        if c.len().abs_diff(name.len()) > limit {
            continue; // the edit distance is at least the difference in length
        }
        // Each edit changes the character counts by at most 2: a cheap test first.
        let hist_diff: u32 = histogram(&c)
            .iter()
            .zip(&name_hist)
            .map(|(a, b)| a.abs_diff(*b))
            .sum();
        if hist_diff > 2 * limit as u32 {
            continue;
        }
        let Some(d) = edit_distance(&c, name, limit) else {
            continue;
        };
        if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.into_owned())
}

/// Counts of characters by class (ASCII case-insensitive letters, digits, `_`, others).
fn histogram(s: &str) -> [u32; 40] {
    let mut h = [0u32; 40];
    for b in s.bytes() {
        let class = match b.to_ascii_lowercase() {
            c @ b'a'..=b'z' => usize::from(c - b'a'),
            c @ b'0'..=b'9' => 26 + usize::from(c - b'0'),
            b'_' => 36,
            b'.' => 37,
            b'-' => 38,
            _ => 39,
        };
        if let Some(slot) = h.get_mut(class) {
            *slot += 1;
        }
    }
    h
}

/// Levenshtein distance between `a` and `b` if it is at most `limit` (ASCII case-insensitive).
/// Stops as soon as every cell of a row exceeds the limit, so unrelated names cost a few rows.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.bytes().map(|c| c.to_ascii_lowercase()).enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        let mut row_min = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            let d = sub.min(del).min(ins);
            row_min = row_min.min(d);
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = d;
            }
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().filter(|d| *d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_suffixes() {
        assert_eq!(split_line_suffix("Proxy_12_"), Some(("Proxy", 12)));
        assert_eq!(split_line_suffix("Auth_INVITE_1"), None);
        assert_eq!(split_line_suffix("Use_Auto_Discovery__WPAD_"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("Auth_INVITE_1").as_deref(), Some("Auth_INVITE_1_"));
        assert_eq!(suggest("firewall").as_deref(), Some("Firewall"));
        assert_eq!(suggest("Firewal_Config").as_deref(), Some("Firewall_Config"));
        assert_eq!(suggest("Station_Name"), None);
        assert_eq!(suggest("SIP_Transprt_3_").as_deref(), Some("SIP_Transport_3_"));
    }

    #[test]
    fn line_index_counts_characters() {
        let idx = LineIndex::new("ab\n예x\n");
        assert_eq!(idx.location(0), Location { line: 1, column: 1 });
        assert_eq!(idx.location(3), Location { line: 2, column: 1 });
        assert_eq!(idx.location(6), Location { line: 2, column: 2 });
    }
}
