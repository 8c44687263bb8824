//! Profile rules (7832 Admin Guide, "Profile Rules", "URL Syntax"):
//!
//! ```text
//! rule        = alternative *( "|" alternative )
//! alternative = [ "(" condition ")?" ] [ "(" assignments ")!" ] [ "[" options "]" ] [ url ]
//! condition   = comparison *( "and" comparison )
//! comparison  = operand op operand        ; op: = != < <= > >= eq ne lt le gt ge
//! url         = [ scheme "://" ] [ host [ ":" port ] ] "/" path   ; scheme tftp (default), http, https
//! ```
//!
//! Every alternative but the last needs a condition (an unconditional one would hide the rest).
//! Macros are expanded in conditions and URLs when the rule is evaluated, not when it is parsed.

use std::cmp::Ordering;
use std::fmt;

use crate::macros::{MacroError, Macros};

/// The largest rule accepted, in bytes.
pub const MAX_RULE: usize = 4096;

/// A parse or evaluation error, with the byte offset in the rule's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule is longer than [`MAX_RULE`].
    #[error("the rule is {len} bytes, more than {MAX_RULE}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A bracket or parenthesis without its closing partner.
    #[error("`{open}` at byte {offset} has no closing `{close}`")]
    Unclosed {
        /// The opening character.
        open: char,
        /// The expected closing character.
        close: char,
        /// Where it opened.
        offset: usize,
    },
    /// `( … )` followed by neither `?` nor `!`.
    #[error("`( … )` at byte {offset} must be followed by `?` (condition) or `!` (assignments)")]
    BadGroup {
        /// Where the group opened.
        offset: usize,
    },
    /// An alternative without a condition that is not the last.
    #[error(
        "the alternative at byte {offset} has no condition but is not the last: the ones after it could never be used"
    )]
    UnconditionalNotLast {
        /// Where the alternative starts.
        offset: usize,
    },
    /// A malformed option list.
    #[error("option list at byte {offset}: {why}")]
    BadOption {
        /// Where the token starts.
        offset: usize,
        /// What was wrong.
        why: String,
    },
    /// A malformed assignment.
    #[error("assignment at byte {offset}: expected NAME = \"value\";")]
    BadAssignment {
        /// Where it starts.
        offset: usize,
    },
    /// A malformed condition.
    #[error("condition at byte {offset}: {why}")]
    BadCondition {
        /// Where the condition starts.
        offset: usize,
        /// What was wrong.
        why: String,
    },
    /// The URL (after macro expansion) is malformed.
    #[error("URL `{url}`: {why}")]
    BadUrl {
        /// The URL as expanded.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// Text after the URL.
    #[error("unexpected text at byte {offset} after the URL")]
    TrailingText {
        /// Where it starts.
        offset: usize,
    },
    /// A macro could not be expanded.
    #[error("macro expansion: {0}")]
    Macro(#[from] MacroError),
}

/// One `--name [value]` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOption {
    /// The name without `--` (`key`, `uid`, `pwd`, `post`, `alias`).
    pub name: String,
    /// Its value, when it has one.
    pub value: Option<String>,
}

/// One `|`-separated alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// The condition's text, as written (macros unexpanded).
    pub condition: Option<String>,
    /// `NAME = "value"` assignments, in order.
    pub assignments: Vec<(String, String)>,
    /// The `[ … ]` options.
    pub options: Vec<RuleOption>,
    /// The URL as written (macros unexpanded); `None` for an alternative that only assigns.
    pub url: Option<String>,
    /// Byte offset of the alternative in the rule.
    pub offset: usize,
}

/// A parsed profile rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRule {
    text: String,
    alternatives: Vec<Alternative>,
}

/// URL schemes a rule may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `tftp://` (the default), port 69.
    Tftp,
    /// `http://`, port 80.
    Http,
    /// `https://`, port 443.
    Https,
}

impl Scheme {
    /// The scheme's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Tftp => "tftp",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// Its default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Tftp => 69,
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A URL after macro expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// The host; `None` when the rule names none (the DHCP option-66/150/159 server is used).
    pub host: Option<String>,
    /// The port (the scheme's default when not given).
    pub port: u16,
    /// The absolute path (with any query).
    pub path: String,
}

impl RequestUrl {
    /// The absolute URL with `host` (the rule's, or the DHCP server standing in for a rule
    /// without one) and the port always written: `scheme://host:port/path`, an IPv6 literal
    /// in brackets. This is the request-target of a request through an HTTP proxy and the URL
    /// a PAC script is asked about.
    ///
    /// ```
    /// use phone_provisioning::RequestUrl;
    /// let url = RequestUrl::parse("http:///cfg/$MA.xml").unwrap();
    /// assert_eq!(url.absolute_with_host("fd00::9"), "http://[fd00::9]:80/cfg/$MA.xml");
    /// ```
    pub fn absolute_with_host(&self, host: &str) -> String {
        if host.contains(':') {
            format!("{}://[{host}]:{}{}", self.scheme, self.port, self.path)
        } else {
            format!("{}://{host}:{}{}", self.scheme, self.port, self.path)
        }
    }

    /// Parses `[scheme://][host[:port]]/path`.
    pub fn parse(url: &str) -> Result<RequestUrl, RuleError> {
        let bad = |why: &str| RuleError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let (scheme, rest) = match url.split_once("://") {
            Some((s, r)) => (
                match s.to_ascii_lowercase().as_str() {
                    "tftp" => Scheme::Tftp,
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    _ => return Err(bad("the scheme must be tftp, http or https")),
                },
                r,
            ),
            None => (Scheme::Tftp, url),
        };
        let slash = rest
            .find('/')
            .ok_or_else(|| bad("the path must be absolute (start with `/`)"))?;
        let (authority, path) = rest.split_at(slash);
        if authority.contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        let (host, port) = if authority.is_empty() {
            (None, scheme.default_port())
        } else if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("`[` without `]`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("the port is not a number 0-65535"))?,
                None if after.is_empty() => scheme.default_port(),
                None => return Err(bad("unexpected text after `]`")),
            };
            (Some(h.to_owned()), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    Some(h.to_owned()),
                    p.parse().map_err(|_| bad("the port is not a number 0-65535"))?,
                ),
                None => (Some(authority.to_owned()), scheme.default_port()),
            }
        };
        if let Some(h) = &host {
            if h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
            {
                return Err(bad("the host is not a name or an address"));
            }
        }
        if path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("the path contains white space or control characters"));
        }
        Ok(RequestUrl {
            scheme,
            host: host.map(|h| h.to_ascii_lowercase()),
            port,
            path: path.to_owned(),
        })
    }
}

impl fmt::Display for RequestUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            Some(h) if h.contains(':') => write!(f, "[{h}]")?,
            Some(h) => f.write_str(h)?,
            None => f.write_str("<dhcp-server>")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

/// What an evaluated rule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Which alternative (0-based).
    pub alternative: usize,
    /// Assignments to apply (values macro-expanded).
    pub assignments: Vec<(String, String)>,
    /// Options (values macro-expanded).
    pub options: Vec<RuleOption>,
    /// The URL to fetch, expanded and parsed; `None` when the alternative only assigns.
    pub url: Option<RequestUrl>,
}

impl ProfileRule {
    /// Parses a rule. Macros are left for [`ProfileRule::evaluate`].
    pub fn parse(text: &str) -> Result<ProfileRule, RuleError> {
        if text.len() > MAX_RULE {
            return Err(RuleError::TooLong { len: text.len() });
        }
        let mut alternatives = Vec::new();
        for (offset, part) in split_top(text, '|')? {
            alternatives.push(parse_alternative(part, offset)?);
        }
        let n = alternatives.len();
        for (i, a) in alternatives.iter().enumerate() {
            if a.condition.is_none() && i + 1 < n {
                return Err(RuleError::UnconditionalNotLast { offset: a.offset });
            }
        }
        Ok(ProfileRule {
            text: text.to_owned(),
            alternatives,
        })
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The alternatives.
    pub fn alternatives(&self) -> &[Alternative] {
        &self.alternatives
    }

    /// The first alternative whose condition holds, with its assignments, options and URL
    /// expanded; `None` when no condition holds (the rule is skipped) or the rule is empty.
    pub fn evaluate(&self, macros: &Macros) -> Result<Option<Selected>, RuleError> {
        for (i, a) in self.alternatives.iter().enumerate() {
            if let Some(c) = &a.condition {
                let expanded = macros.expand(c)?;
                if !eval_condition(&expanded, a.offset)? {
                    continue;
                }
            }
            let assignments = a
                .assignments
                .iter()
                .map(|(n, v)| Ok((n.clone(), macros.expand(v)?)))
                .collect::<Result<Vec<_>, RuleError>>()?;
            let options = a
                .options
                .iter()
                .map(|o| {
                    Ok(RuleOption {
                        name: o.name.clone(),
                        value: o.value.as_deref().map(|v| macros.expand(v)).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>, RuleError>>()?;
            let url = a
                .url
                .as_deref()
                .map(|u| {
                    macros
                        .expand(u)
                        .map_err(RuleError::from)
                        .and_then(|u| RequestUrl::parse(&u))
                })
                .transpose()?;
            return Ok(Some(Selected {
                alternative: i,
                assignments,
                options,
                url,
            }));
        }
        Ok(None)
    }
}

/// Splits at `sep` outside `( )`, `[ ]` and `"…"`; yields (offset, part).
fn split_top(text: &str, sep: char) -> Result<Vec<(usize, &str)>, RuleError> {
    let mut parts = Vec::new();
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut in_quote = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if in_quote {
            in_quote = c != '"';
            continue;
        }
        match c {
            '"' => in_quote = true,
            '(' => stack.push((')', i)),
            '[' => stack.push((']', i)),
            ')' | ']' if stack.last().map(|s| s.0) == Some(c) => {
                stack.pop();
            }
            c if c == sep && stack.is_empty() => {
                parts.push((start, &text[start..i]));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if let Some((close, offset)) = stack.pop() {
        let open = if close == ')' { '(' } else { '[' };
        return Err(RuleError::Unclosed { open, close, offset });
    }
    parts.push((start, &text[start..]));
    Ok(parts)
}

/// The index of the character closing the group opened at byte 0 of `s`.
fn close_of(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            in_quote = c != '"';
        } else if c == '"' {
            in_quote = true;
        } else if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

fn parse_alternative(part: &str, base: usize) -> Result<Alternative, RuleError> {
    let mut alt = Alternative {
        condition: None,
        assignments: Vec::new(),
        options: Vec::new(),
        url: None,
        offset: base + (part.len() - part.trim_start().len()),
    };
    let mut pos = part.len() - part.trim_start().len();
    let rest = |pos: usize| part.get(pos..).unwrap_or_default();
    // Up to two groups: a condition `( )?` and assignments `( )!`, in either order.
    while rest(pos).starts_with('(') {
        let close = close_of(rest(pos), '(', ')').ok_or(RuleError::Unclosed {
            open: '(',
            close: ')',
            offset: base + pos,
        })?;
        let inner = &rest(pos)[1..close];
        let after = rest(pos + close + 1).trim_start();
        let skipped = rest(pos + close + 1).len() - after.len();
        match after.chars().next() {
            Some('?') if alt.condition.is_none() => alt.condition = Some(inner.trim().to_owned()),
            Some('!') => alt.assignments.extend(parse_assignments(inner, base + pos + 1)?),
            _ => return Err(RuleError::BadGroup { offset: base + pos }),
        }
        pos += close + 1 + skipped + 1;
        pos += rest(pos).len() - rest(pos).trim_start().len();
    }
    if rest(pos).starts_with('[') {
        let close = close_of(rest(pos), '[', ']').ok_or(RuleError::Unclosed {
            open: '[',
            close: ']',
            offset: base + pos,
        })?;
        alt.options = parse_options(&rest(pos)[1..close], base + pos + 1)?;
        pos += close + 1;
        pos += rest(pos).len() - rest(pos).trim_start().len();
    }
    let url = rest(pos).trim_end();
    if !url.is_empty() {
        if let Some(i) = url.find(char::is_whitespace) {
            return Err(RuleError::TrailingText {
                offset: base + pos + i,
            });
        }
        alt.url = Some(url.to_owned());
    }
    Ok(alt)
}

fn parse_options(inner: &str, base: usize) -> Result<Vec<RuleOption>, RuleError> {
    let mut options: Vec<RuleOption> = Vec::new();
    let mut search = 0;
    for token in inner.split_whitespace() {
        let at = inner[search..].find(token).map_or(search, |i| search + i);
        search = at + token.len();
        if let Some(name) = token.strip_prefix("--") {
            if name.is_empty() {
                return Err(RuleError::BadOption {
                    offset: base + at,
                    why: "`--` without a name".into(),
                });
            }
            options.push(RuleOption {
                name: name.to_owned(),
                value: None,
            });
        } else {
            match options.last_mut() {
                Some(RuleOption { value: v @ None, .. }) => *v = Some(token.to_owned()),
                _ => {
                    return Err(RuleError::BadOption {
                        offset: base + at,
                        why: format!("`{token}` is not an option (options are --name [value])"),
                    });
                }
            }
        }
    }
    Ok(options)
}

fn parse_assignments(inner: &str, base: usize) -> Result<Vec<(String, String)>, RuleError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for stmt in split_top(inner, ';')? {
        let (at, s) = stmt;
        offset = at;
        let s_trim = s.trim();
        if s_trim.is_empty() {
            continue;
        }
        let (name, value) = s_trim
            .split_once('=')
            .ok_or(RuleError::BadAssignment { offset: base + at })?;
        let name = name.trim();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(RuleError::BadAssignment { offset: base + at });
        }
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        out.push((name.to_owned(), value.to_owned()));
    }
    let _ = offset;
    Ok(out)
}

/// An operand of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    Int(i64),
    /// A firmware version: numbers compared in order (`sip7832.11-3-2MPP0001-609` →
    /// [11, 3, 2, 1, 609]).
    Version(Vec<u64>),
    Str(String),
}

fn operand(tok: &str) -> Operand {
    if let Some(s) = tok.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Operand::Str(s.to_owned());
    }
    if let Ok(n) = tok.parse::<i64>() {
        return Operand::Int(n);
    }
    let nums: Vec<u64> = tok
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    // A version has a product prefix then dotted/dashed numbers.
    if nums.len() >= 2 && tok.contains(['.', '-']) {
        // Skip the model digits glued to the prefix (`sip7832.`): they are not the version.
        let after_dot = tok.split_once('.').map_or(tok, |(_, r)| r);
        let v: Vec<u64> = after_dot
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        return Operand::Version(v);
    }
    Operand::Str(tok.to_owned())
}

/// Tokens of a condition: quoted strings kept whole.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if in_quote {
            cur.push(c);
            if c == '"' {
                in_quote = false;
                flush(&mut cur, &mut out);
            }
        } else if c == '"' {
            flush(&mut cur, &mut out);
            cur.push(c);
            in_quote = true;
        } else if c.is_whitespace() {
            flush(&mut cur, &mut out);
        } else if matches!(c, '=' | '!' | '<' | '>') {
            flush(&mut cur, &mut out);
            let mut op = c.to_string();
            if chars.get(i + 1) == Some(&'=') {
                op.push('=');
                i += 1;
            }
            out.push(op);
        } else {
            cur.push(c);
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    out
}

fn eval_condition(text: &str, offset: usize) -> Result<bool, RuleError> {
    let bad = |why: String| RuleError::BadCondition { offset, why };
    let toks = tokens(text);
    let mut result = true;
    let mut i = 0;
    loop {
        let (Some(a), Some(op), Some(b)) = (toks.get(i), toks.get(i + 1), toks.get(i + 2)) else {
            return Err(bad(format!("expected `operand operator operand` in `{text}`")));
        };
        let ord = match (operand(a), operand(b)) {
            (Operand::Int(x), Operand::Int(y)) => Some(x.cmp(&y)),
            (Operand::Version(x), Operand::Version(y)) => Some(x.cmp(&y)),
            (Operand::Str(x), Operand::Str(y)) => Some(x.cmp(&y)),
            // Mixed kinds compare as the strings written (equality only).
            _ => None,
        };
        let equal = ord.map_or_else(
            || a.trim_matches('"') == b.trim_matches('"'),
            |o| o == Ordering::Equal,
        );
        let string_cmp = matches!(operand(a), Operand::Str(_)) || matches!(operand(b), Operand::Str(_));
        let holds = match op.to_ascii_lowercase().as_str() {
            "=" | "==" | "eq" => equal,
            "!=" | "ne" => !equal,
            op @ ("<" | "<=" | ">" | ">=" | "lt" | "le" | "gt" | "ge") => {
                if string_cmp {
                    return Err(bad(format!(
                        "`{op}` on a string: strings compare with = and != only"
                    )));
                }
                let Some(o) = ord else {
                    return Err(bad(format!("`{a}` and `{b}` are not comparable")));
                };
                match op {
                    "<" | "lt" => o == Ordering::Less,
                    "<=" | "le" => o != Ordering::Greater,
                    ">" | "gt" => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                }
            }
            other => return Err(bad(format!("`{other}` is not a comparison operator"))),
        };
        result &= holds;
        match toks.get(i + 3).map(|t| t.to_ascii_lowercase()) {
            None => return Ok(result),
            Some(t) if t == "and" => i += 4,
            Some(t) => return Err(bad(format!("expected `and` between comparisons, found `{t}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Macros {
        let mut m = Macros::for_device(
            [0, 0x0e, 8, 0xab, 0xcd, 0xef],
            "CP-7832-3PCC",
            "7832",
            "SN1",
            true,
        );
        m.set("SWVER", "sip7832.11-3-2MPP0001-609");
        m
    }

    #[test]
    fn default_rule_is_a_tftp_path_from_dhcp() {
        let r = ProfileRule::parse("/$PSN.xml").unwrap();
        let s = r.evaluate(&m()).unwrap().unwrap();
        assert_eq!(
            s.url,
            Some(RequestUrl {
                scheme: Scheme::Tftp,
                host: None,
                port: 69,
                path: "/7832.xml".into()
            })
        );
    }

    #[test]
    fn conditions_pick_the_alternative() {
        let text = r#"("$CCERT" eq "Not Installed")? http://a.example.com/gen.xml | ($SWVER ge sip7832.11-3-1MPP0001-100)? [--key $B] https://prov.example.com:8443/$MA.xml | /fallback.xml"#;
        let r = ProfileRule::parse(text).unwrap();
        let mut macros = m();
        macros.set("B", "secret");
        let s = r.evaluate(&macros).unwrap().unwrap();
        assert_eq!(s.alternative, 1);
        assert_eq!(
            s.options,
            [RuleOption {
                name: "key".into(),
                value: Some("secret".into())
            }]
        );
        let u = s.url.unwrap();
        assert_eq!(u.to_string(), "https://prov.example.com:8443/000e08abcdef.xml");
        macros.set("SWVER", "sip7832.11-2-9MPP0001-1");
        assert_eq!(r.evaluate(&macros).unwrap().unwrap().alternative, 2);
    }

    #[test]
    fn assignments_and_a_rule_that_only_assigns() {
        let r = ProfileRule::parse(r#"(Line_Enable_2_ = "No"; GPP_A = "$MA";)!"#).unwrap();
        let s = r.evaluate(&m()).unwrap().unwrap();
        assert_eq!(
            s.assignments,
            [
                ("Line_Enable_2_".into(), "No".into()),
                ("GPP_A".into(), "000e08abcdef".into())
            ]
        );
        assert_eq!(s.url, None);
    }

    #[test]
    fn no_condition_holds_means_skipped() {
        let r = ProfileRule::parse(r#"("$PN" eq "CP-8841-3PCC")? /x.xml"#).unwrap();
        assert_eq!(r.evaluate(&m()).unwrap(), None);
    }

    #[test]
    fn errors_with_offsets() {
        assert_eq!(
            ProfileRule::parse("/a.xml | /b.xml"),
            Err(RuleError::UnconditionalNotLast { offset: 0 })
        );
        assert_eq!(
            ProfileRule::parse("(1 = 1? /a"),
            Err(RuleError::Unclosed {
                open: '(',
                close: ')',
                offset: 0
            })
        );
        assert!(matches!(
            ProfileRule::parse("(1 = 1) /a"),
            Err(RuleError::BadGroup { offset: 0 })
        ));
        assert!(matches!(
            ProfileRule::parse("[key] /a"),
            Err(RuleError::BadOption { offset: 1, .. })
        ));
        let r = ProfileRule::parse(r#"("a" lt "b")? /a"#).unwrap();
        assert!(matches!(r.evaluate(&m()), Err(RuleError::BadCondition { .. })));
        let r = ProfileRule::parse("ftp://x/a").unwrap();
        assert!(matches!(r.evaluate(&m()), Err(RuleError::BadUrl { .. })));
    }

    #[test]
    fn urls() {
        let u = RequestUrl::parse("http://[2001:db8::1]:8080/p").unwrap();
        assert_eq!((u.host.as_deref(), u.port), (Some("2001:db8::1"), 8080));
        let u = RequestUrl::parse("prov.example.com/p.xml").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_deref(), u.port),
            (Scheme::Tftp, Some("prov.example.com"), 69)
        );
        assert!(RequestUrl::parse("https://u:p@h/p").is_err());
        assert!(RequestUrl::parse("https://h").is_err());
        assert!(RequestUrl::parse("https://h:99999/").is_err());
    }
}
