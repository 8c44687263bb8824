//! Host names, `host[:port]`, URLs and the Cisco provisioning-rule form.
//!
//! The rule form, as the phone's provisioning guide gives it:
//!
//! ```text
//! rule    = [ "(" condition ")" "?" ] [ "[" options "]" ] url
//! options = *( "--" name [ value ] )          e.g. [--key $B] or [--uid u --pwd p]
//! url     = [ scheme "://" ] host [ ":" port ] path     scheme: tftp (default), http, https
//!         / path                                         e.g. /$PSN.xml: the server from DHCP
//! ```
//!
//! Macros (`$MA`, `$PSN`, `$(NAME)`, ...) may appear anywhere; a host written as a macro is
//! kept as [`Host::Macro`] because its value is only known on the phone.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::value::{Param, Port, Problem};

/// A server: a DNS name, an IP address, or a provisioning macro.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written in brackets inside URLs).
    Ipv6(Ipv6Addr),
    /// A host that contains a macro such as `$SERVIP`, as written.
    Macro(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) | Host::Macro(n) => f.write_str(n),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

impl Host {
    /// Parses a host: `[v6]`, a dotted-quad IPv4 address, a name, or text with a macro.
    /// A bare IPv6 address is accepted only when `bare_ipv6` (no port can follow).
    pub(crate) fn parse_text(text: &str, bare_ipv6: bool) -> Result<Host, Problem> {
        if text.is_empty() {
            return Err(Problem::error("the host is empty"));
        }
        if text.contains('$') {
            return Ok(Host::Macro(text.to_owned()));
        }
        if let Some(inner) = text.strip_prefix('[') {
            return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
                Some(Ok(a)) => Ok(Host::Ipv6(a)),
                _ => Err(Problem::error(format!(
                    "`{text}` is not an IPv6 address in brackets"
                ))),
            };
        }
        if text.contains(':') {
            if let (true, Ok(a)) = (bare_ipv6, text.parse::<Ipv6Addr>()) {
                return Ok(Host::Ipv6(a));
            }
            return Err(Problem::error(format!("`{text}` is not a host name or address"))
                .hint("write an IPv6 address in brackets, e.g. [2001:db8::1]"));
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return text.parse::<Ipv4Addr>().map(Host::Ipv4).map_err(|_| {
                Problem::error(format!("`{text}` is not an IPv4 address"))
                    .hint("expected four numbers from 0 to 255, e.g. 192.0.2.10")
            });
        }
        dns_name(text).map(Host::Name)
    }
}

/// Checks and normalises a DNS name: ASCII letters, digits, `-` and `_`, labels of 1 to 63
/// characters, at most 253 in all; lower-cased; one trailing dot removed.
pub(crate) fn dns_name(text: &str) -> Result<String, Problem> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if let Some(pos) = name.find(|c: char| !c.is_ascii()) {
        return Err(Problem::error(format!("`{text}` is not an ASCII host name"))
            .hint("write an internationalised name as its A-label (xn--...)")
            .offset(pos));
    }
    if name.is_empty() || name.len() > 253 {
        return Err(Problem::error(format!("`{text}` is not a host name"))
            .hint("a host name has 1 to 253 characters"));
    }
    let mut offset = 0;
    for label in name.split('.') {
        let bad_char = label
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(|i| offset + i);
        if let Some(at) = bad_char {
            return Err(Problem::error(format!("`{text}` is not a host name"))
                .hint("a host name has letters, digits, `-` and `.` only (no scheme, path or spaces)")
                .offset(at));
        }
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return Err(Problem::error(format!("`{text}` is not a host name"))
                .hint("each dot-separated label has 1 to 63 characters and does not start or end with `-`")
                .offset(offset));
        }
        offset += label.len() + 1;
    }
    Ok(name.to_ascii_lowercase())
}

/// A host and an optional port: `Proxy_n_`, `Outbound_Proxy_n_`, `Syslog_Server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host.
    pub host: Host,
    /// The port, when given.
    pub port: Option<Port>,
}

impl HostPort {
    pub(crate) fn parse_text(text: &str) -> Result<HostPort, Problem> {
        if let Some(i) = text.find("://") {
            return Err(Problem::error(format!("`{text}` has a URL scheme"))
                .hint("write host[:port] without a scheme")
                .offset(i));
        }
        let (host, port) = split_host_port(text)?;
        let port = match port {
            Some((p, at)) => Some(Port::parse_text(p).map_err(|e| e.offset(at))?),
            None => None,
        };
        Ok(HostPort {
            host: Host::parse_text(host, false)?,
            port,
        })
    }
}

/// A port's text and its byte offset in the text it was split from.
type PortText<'a> = Option<(&'a str, usize)>;

/// Splits `host[:port]` (host may be `[v6]`); the port comes with its offset.
fn split_host_port(text: &str) -> Result<(&str, PortText<'_>), Problem> {
    if text.starts_with('[') {
        let end = text
            .find(']')
            .ok_or_else(|| Problem::error(format!("`{text}`: `[` without `]`")))?;
        let (host, rest) = text.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some((port, end + 2)))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(
                Problem::error(format!("`{text}`: unexpected `{rest}` after the address")).offset(end + 1),
            ),
        };
    }
    // A macro such as $(NAME) never holds ':' so the last ':' separates the port.
    match text.rfind(':') {
        Some(i) if text[..i].contains(':') => Ok((text, None)),
        Some(i) => Ok((&text[..i], Some((&text[i + 1..], i + 1)))),
        None => Ok((text, None)),
    }
}

impl Param for HostPort {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        HostPort::parse_text(text).map_err(|p| problems.push(p)).ok()
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl Param for Host {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        if let Some(i) = text.find("://") {
            problems.push(
                Problem::error(format!("`{text}` has a URL scheme"))
                    .hint("write only the host name or IP address, e.g. proxy.example.com")
                    .offset(i),
            );
            return None;
        }
        Host::parse_text(text, true).map_err(|p| problems.push(p)).ok()
    }
}

/// An absolute URL with a host: `scheme://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// The scheme, lower-cased (`http`, `ldaps`, ...).
    pub scheme: String,
    /// The host.
    pub host: Host,
    /// The port, when given.
    pub port: Option<Port>,
    /// The path and anything after it, starting with `/`, or empty.
    pub path: String,
}

impl Url {
    /// Parses `scheme://host[:port][/path]`; `schemes` lists the accepted schemes.
    pub(crate) fn parse_text(text: &str, schemes: &[&str]) -> Result<Url, Problem> {
        let expected = schemes
            .iter()
            .map(|s| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(", ");
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(Problem::error(format!("`{text}` is not a URL"))
                .hint(format!("expected a URL starting with {expected}")));
        };
        let scheme = scheme.to_ascii_lowercase();
        if !schemes.contains(&scheme.as_str()) {
            return Err(
                Problem::error(format!("the scheme `{scheme}` is not supported here"))
                    .hint(format!("expected {expected}")),
            );
        }
        let base = scheme.len() + 3;
        Url::parse_after_scheme(scheme, rest, base)
    }

    fn parse_after_scheme(scheme: String, rest: &str, base: usize) -> Result<Url, Problem> {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if let Some(i) = authority.find('@') {
            return Err(Problem::error("credentials in the URL are not supported")
                .hint("give user names and passwords in their own parameters")
                .offset(base + i));
        }
        let (host, port) = split_host_port(authority).map_err(|p| shift(p, base))?;
        let port = match port {
            Some((p, at)) => Some(Port::parse_text(p).map_err(|e| e.offset(base + at))?),
            None => None,
        };
        let host = Host::parse_text(host, false).map_err(|p| shift(p, base))?;
        if let Some(i) = path.find(char::is_whitespace) {
            return Err(Problem::error("the URL contains a space").offset(base + end + i));
        }
        Ok(Url {
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }
}

fn shift(mut p: Problem, by: usize) -> Problem {
    p.offset = Some(p.offset.unwrap_or(0) + by);
    p
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)
    }
}

/// `PAC_URL`: a URL with scheme `tftp`, `http` or `https`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacUrl(pub Url);

impl Param for PacUrl {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::HttpProxy;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        Url::parse_text(text, &["tftp", "http", "https"])
            .map(PacUrl)
            .map_err(|p| problems.push(p))
            .ok()
    }
}

impl fmt::Display for PacUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One `--name [value]` option of a provisioning rule, e.g. `--key $B`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleOption {
    /// The name without `--`.
    pub name: String,
    /// The value, when the option has one.
    pub value: Option<String>,
}

/// A provisioning rule: `Profile_Rule`, `Upgrade_Rule`, `Report_Rule`, `Custom_CA_Rule`, ...
/// Alternatives are separated by `|` (`(cond)? url | (cond)? url | url`); the fields below are
/// the first alternative's, [`ProvisioningRule::alternatives`] has them all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProvisioningRule {
    /// The condition in `( ... )?`, as written, when there is one.
    pub condition: Option<String>,
    /// The options in `[ ... ]`.
    pub options: Vec<RuleOption>,
    /// The scheme (`tftp` when the rule gives none).
    pub scheme: String,
    /// The server; `None` when the rule is a bare path such as `/$PSN.xml` and the server comes
    /// from DHCP.
    pub host: Option<Host>,
    /// The port, when given.
    pub port: Option<Port>,
    /// The path, e.g. `/cisco/$MA.cfg` (empty when the alternative only assigns).
    pub path: String,
    /// Every `|`-separated alternative, in order.
    pub alternatives: Vec<RuleAlternative>,
    text: String,
    host_offset: Option<usize>,
}

/// One `|`-separated alternative of a rule: `[(cond)?] [(assignments)!] [[options] url]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleAlternative {
    /// The condition in `( ... )?`, as written.
    pub condition: Option<String>,
    /// The assignments in `( ... )!`, as written (`Line_Enable_2_ = "No";`).
    pub assignments: Option<String>,
    /// The options in `[ ... ]`.
    pub options: Vec<RuleOption>,
    /// The scheme (`tftp` when none is given); empty when there is no URL.
    pub scheme: String,
    /// The server, when the URL names one.
    pub host: Option<Host>,
    /// The port, when given.
    pub port: Option<Port>,
    /// The path; `None` when the alternative only assigns.
    pub path: Option<String>,
    /// Byte offset of the host in the rule's text.
    pub host_offset: Option<usize>,
}

/// Splits at `|` outside quotes, brackets and parentheses: (offset, text) per alternative.
fn split_alternatives(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            '|' if !quoted && depth == 0 => {
                out.push((start, text.get(start..i).unwrap_or("")));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((start, text.get(start..).unwrap_or("")));
    out
}

impl ProvisioningRule {
    pub(crate) fn parse_text(text: &str) -> Result<ProvisioningRule, Problem> {
        let parts = split_alternatives(text);
        let n = parts.len();
        let mut alternatives = Vec::new();
        for (i, (base, part)) in parts.into_iter().enumerate() {
            let lead = leading_ws(part);
            let alt = parse_alternative(part.trim(), base + lead)?;
            if alt.condition.is_none() && i + 1 < n {
                return Err(Problem::error(
                    "an alternative without a condition before the last one hides the rest",
                )
                .hint("write (condition)? before it, or make it the last alternative")
                .offset(base + lead));
            }
            alternatives.push(alt);
        }
        let first = alternatives
            .first()
            .cloned()
            .ok_or_else(|| Problem::error("the rule is empty"))?;
        Ok(ProvisioningRule {
            condition: first.condition,
            options: first.options,
            scheme: first.scheme,
            host: first.host,
            port: first.port,
            path: first.path.unwrap_or_default(),
            host_offset: first.host_offset,
            alternatives,
            text: text.to_owned(),
        })
    }
    /// Byte offset of the host in the rule's text, when the rule names a host.
    pub fn host_offset(&self) -> Option<usize> {
        self.host_offset
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// One alternative; `base` is its offset in the rule's text.
fn parse_alternative(text: &str, base: usize) -> Result<RuleAlternative, Problem> {
    let mut pos = 0;
    let rest = |pos: usize| text.get(pos..).unwrap_or("");
    let mut condition = None;
    let mut assignments = None;
    while rest(pos).starts_with('(') {
        let close = find_close(rest(pos), '(', ')')
            .ok_or_else(|| Problem::error("`(` without a matching `)`").offset(base + pos))?;
        let inner = rest(pos).get(1..close).unwrap_or("").trim().to_owned();
        pos += close + 1;
        pos += leading_ws(rest(pos));
        match rest(pos).chars().next() {
            Some('?') if condition.is_none() && assignments.is_none() => condition = Some(inner),
            Some('!') if assignments.is_none() => assignments = Some(inner),
            _ => {
                return Err(Problem::error(
                    "a rule condition `( ... )` must be followed by `?` (or assignments by `!`)",
                )
                .offset(base + pos));
            }
        }
        pos += 1;
        pos += leading_ws(rest(pos));
    }
    let mut options = Vec::new();
    let mut host_offset = None;
    if rest(pos).starts_with('[') {
        let close = find_close(rest(pos), '[', ']')
            .ok_or_else(|| Problem::error("`[` without a matching `]`").offset(base + pos))?;
        options = parse_options(rest(pos).get(1..close).unwrap_or(""), base + pos + 1)?;
        pos += close + 1;
        pos += leading_ws(rest(pos));
    }
    let url = rest(pos);
    if url.is_empty() {
        if assignments.is_some() && options.is_empty() {
            return Ok(RuleAlternative {
                condition,
                assignments,
                options,
                scheme: String::new(),
                host: None,
                port: None,
                path: None,
                host_offset: None,
            });
        }
        return Err(Problem::error("the rule has no URL").offset(base + pos));
    }
    if let Some(i) = url.find(char::is_whitespace) {
        return Err(
            Problem::error(format!("unexpected text after the URL: `{}`", url[i..].trim()))
                .hint("a rule is [options] url; put options inside [ ] before the URL; separate alternatives with |")
                .offset(base + pos + i),
        );
    }
    let at = base + pos;
    let (scheme, host, port, path) = if url.starts_with('/') {
        ("tftp".to_owned(), None, None, url.to_owned())
    } else if let Some(i) = url.find("://") {
        let u = Url::parse_text(url, &["tftp", "http", "https"]).map_err(|p| shift(p, at))?;
        host_offset = Some(at + i + 3);
        (u.scheme, Some(u.host), u.port, u.path)
    } else {
        // host[:port]/path with the default scheme, TFTP.
        let u = Url::parse_after_scheme("tftp".to_owned(), url, at)?;
        host_offset = Some(at);
        (u.scheme, Some(u.host), u.port, u.path)
    };
    Ok(RuleAlternative {
        condition,
        assignments,
        options,
        scheme,
        host,
        port,
        path: Some(path),
        host_offset,
    })
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn find_close(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        if c == open {
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

fn parse_options(inner: &str, base: usize) -> Result<Vec<RuleOption>, Problem> {
    let mut options: Vec<RuleOption> = Vec::new();
    // Tokens split at whitespace outside double quotes; a quoted value loses its quotes.
    let mut tokens: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut quoted = false;
    for (i, c) in inner.char_indices() {
        if c == '"' {
            quoted = !quoted;
            current.get_or_insert((i, String::new()));
        } else if c.is_whitespace() && !quoted {
            tokens.extend(current.take());
        } else {
            current.get_or_insert((i, String::new())).1.push(c);
        }
    }
    if quoted {
        return Err(Problem::error("a quoted option value without its closing `\"`").offset(base));
    }
    tokens.extend(current);
    for (at, token) in tokens {
        if let Some(name) = token.strip_prefix("--") {
            if name.is_empty() {
                return Err(Problem::error("`--` without an option name").offset(base + at));
            }
            options.push(RuleOption {
                name: name.to_owned(),
                value: None,
            });
        } else {
            match options.last_mut() {
                Some(RuleOption { value: v @ None, .. }) => *v = Some(token),
                _ => {
                    return Err(Problem::error(format!("`{token}` is not an option"))
                        .hint("options are written --name [value], e.g. [--key $B]")
                        .offset(base + at));
                }
            }
        }
    }
    Ok(options)
}

impl Param for ProvisioningRule {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::Rule;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        ProvisioningRule::parse_text(text)
            .map_err(|p| problems.push(p))
            .ok()
    }
}

impl fmt::Display for ProvisioningRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `Restricted_Access_Domains`: the domains servers must be in.
///
/// A host is inside the list when it **equals an entry or is a subdomain of one**, compared
/// label by label, case-insensitively, ignoring a trailing dot: with `voiceip.com` listed,
/// `voiceip.com` and `prov.voiceip.com` are inside, `evilvoiceip.com` is not.
///
/// Why subdomains: the parameter is named and documented as a list of *domains*, the guide's
/// example entries (`voiceip.com`, `voiceipl.com`) are domains rather than server names, and a
/// provider's registrars, provisioning and upgrade servers normally live under its domain.
/// Exact matching would force every server name into the list and make the guide's example
/// refuse the very servers it is meant to allow. An IP-literal host is never inside a list
/// of domain names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DomainList(Vec<String>);

impl DomainList {
    /// The normalised entries.
    pub fn domains(&self) -> &[String] {
        &self.0
    }

    /// Whether the list is empty (no restriction).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a host is allowed: always when the list is empty; a name when it equals or
    /// is a subdomain of an entry. `None` for a macro host, whose value is unknown here.
    pub fn allows(&self, host: &Host) -> Option<bool> {
        if self.0.is_empty() {
            return Some(true);
        }
        match host {
            Host::Name(name) => Some(self.0.iter().any(|d| {
                name == d
                    || name
                        .strip_suffix(d.as_str())
                        .is_some_and(|prefix| prefix.ends_with('.'))
            })),
            Host::Ipv4(_) | Host::Ipv6(_) => Some(false),
            Host::Macro(_) => None,
        }
    }
}

impl Param for DomainList {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let mut domains = Vec::new();
        if text.is_empty() {
            return Some(DomainList(domains));
        }
        let mut offset = 0;
        let mut ok = true;
        for entry in text.split(',') {
            let lead = leading_ws(entry);
            let name = entry.trim();
            let at = offset + lead;
            offset += entry.len() + 1;
            if name.is_empty() {
                problems.push(Problem::warning("empty entry in the list").offset(at));
                continue;
            }
            match dns_name(name) {
                Ok(d) if domains.contains(&d) => {
                    problems.push(Problem::warning(format!("`{name}` is listed twice")).offset(at));
                }
                Ok(d) => domains.push(d),
                Err(p) => {
                    ok = false;
                    problems.push(shift(p, at));
                }
            }
        }
        ok.then_some(DomainList(domains))
    }
}

impl fmt::Display for DomainList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_assignments_and_quoted_options() {
        let r = ProvisioningRule::parse_text(
            r#"("$CCERT" eq "Installed")? [--key "My Own Secret"] https://prov.voiceip.com/$MA.cfg | ( GPP_A = "x"; )! | /generic.xml"#,
        );
        // An assignment-only alternative in the middle has no condition: refused (it hides the last).
        assert!(r.is_err());
        let r = ProvisioningRule::parse_text(
            r#"("$CCERT" eq "Installed")? [--key "My Own Secret"] https://prov.voiceip.com/$MA.cfg | ("$SN" eq "1")? ( GPP_A = "x"; )! | /generic.xml"#,
        )
        .unwrap();
        assert_eq!(r.alternatives.len(), 3);
        let a = &r.alternatives[0];
        assert_eq!(a.options[0].value.as_deref(), Some("My Own Secret"));
        assert_eq!(
            a.host.as_ref().map(ToString::to_string).as_deref(),
            Some("prov.voiceip.com")
        );
        assert_eq!(r.alternatives[1].assignments.as_deref(), Some(r#"GPP_A = "x";"#));
        assert_eq!(r.alternatives[1].path, None);
        assert_eq!(r.alternatives[2].path.as_deref(), Some("/generic.xml"));
        // The first alternative's fields stay where they were.
        assert_eq!(r.path, "/$MA.cfg");
    }

    #[test]
    fn rules_in_the_forms_the_guide_uses() {
        let r =
            ProvisioningRule::parse_text("[--key $B] https://prov.voiceip.com:8443/cisco/$MA.cfg").unwrap();
        assert_eq!(
            r.options,
            vec![RuleOption {
                name: "key".into(),
                value: Some("$B".into())
            }]
        );
        assert_eq!(r.scheme, "https");
        assert_eq!(r.host, Some(Host::Name("prov.voiceip.com".into())));
        assert_eq!(r.port, Port::new(8443));
        assert_eq!(r.path, "/cisco/$MA.cfg");

        let r = ProvisioningRule::parse_text("/$PSN.xml").unwrap();
        assert_eq!(
            (r.scheme.as_str(), r.host, r.path.as_str()),
            ("tftp", None, "/$PSN.xml")
        );

        let r = ProvisioningRule::parse_text("192.0.2.5/cfg/$MA.xml").unwrap();
        assert_eq!(r.host, Some(Host::Ipv4(Ipv4Addr::new(192, 0, 2, 5))));

        let r = ProvisioningRule::parse_text(
            "( $SWVER ne sip88xx.12-0-1MPP )? http://upg.voiceip.com/sip88xx.12-0-1MPP.loads",
        )
        .unwrap();
        assert_eq!(r.condition.as_deref(), Some("$SWVER ne sip88xx.12-0-1MPP"));
        assert_eq!(r.host, Some(Host::Name("upg.voiceip.com".into())));

        let r = ProvisioningRule::parse_text("http://$SERVIP/x").unwrap();
        assert_eq!(r.host, Some(Host::Macro("$SERVIP".into())));

        let r = ProvisioningRule::parse_text("https://[2001:db8::1]:443/p").unwrap();
        assert_eq!(r.host, Some(Host::Ipv6("2001:db8::1".parse().unwrap())));
    }

    #[test]
    fn bad_rules_say_where() {
        let e = ProvisioningRule::parse_text("ftp://x.example.com/a").unwrap_err();
        assert!(e.message.contains("`ftp`"), "{e:?}");
        let e = ProvisioningRule::parse_text("[--key $B https://a.example.com/").unwrap_err();
        assert_eq!(e.offset, Some(0));
        let e = ProvisioningRule::parse_text("https://a.example.com:99999/").unwrap_err();
        assert_eq!(e.offset, Some(22));
        let e = ProvisioningRule::parse_text("[key] http://a.example.com/").unwrap_err();
        assert_eq!(e.offset, Some(1));
        let e = ProvisioningRule::parse_text("http://a.example.com/ extra").unwrap_err();
        assert_eq!(e.offset, Some(21));
    }

    #[test]
    fn domain_or_subdomain_on_a_label_boundary() {
        let mut p = Vec::new();
        let list = DomainList::parse_param("voiceip.com, VoiceIPl.com.", &mut p).unwrap();
        assert!(p.is_empty());
        let name = |s: &str| Host::Name(s.into());
        assert_eq!(list.allows(&name("voiceip.com")), Some(true));
        assert_eq!(list.allows(&name("prov.voiceip.com")), Some(true));
        assert_eq!(list.allows(&name("a.voiceipl.com")), Some(true));
        assert_eq!(list.allows(&name("evilvoiceip.com")), Some(false));
        assert_eq!(list.allows(&name("voiceip.com.evil.net")), Some(false));
        assert_eq!(list.allows(&Host::Ipv4(Ipv4Addr::LOCALHOST)), Some(false));
        assert_eq!(list.allows(&Host::Macro("$A".into())), None);
    }

    #[test]
    fn host_port_forms() {
        let hp = HostPort::parse_text("sip.voiceip.com:5061").unwrap();
        assert_eq!(hp.port, Port::new(5061));
        assert!(HostPort::parse_text("sip://x").is_err());
        assert!(HostPort::parse_text("2001:db8::1").is_err()); // ambiguous: brackets needed
        assert!(HostPort::parse_text("[2001:db8::1]:5060").is_ok());
        assert!(HostPort::parse_text("bad host").is_err());
        assert!(HostPort::parse_text("300.1.1.1").is_err());
    }
}

/// `LDAP_Server`: `ldap://host[:port]` (389, StartTLS possible) or `ldaps://host[:port]` (636).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LdapServer(pub Url);

impl LdapServer {
    /// Whether the scheme is `ldaps` (TLS from the first byte).
    pub fn is_ldaps(&self) -> bool {
        self.0.scheme == "ldaps"
    }

    /// The port: the one given, else 636 for `ldaps://` and 389 for `ldap://`.
    pub fn port(&self) -> u16 {
        match self.0.port {
            Some(p) => p.get(),
            None if self.is_ldaps() => 636,
            None => 389,
        }
    }
}

impl Param for LdapServer {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::Ldap;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let url = Url::parse_text(text, &["ldap", "ldaps"])
            .map_err(|p| problems.push(p))
            .ok()?;
        if !url.path.is_empty() && url.path != "/" {
            problems.push(
                Problem::warning(format!("the phone ignores `{}` after the server", url.path))
                    .hint("the search base has its own parameter; write ldap[s]://host[:port]"),
            );
        }
        Some(LdapServer(url))
    }
}

impl fmt::Display for LdapServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
