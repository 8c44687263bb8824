//! The corporate directory's search parameters (Cisco MPP "Corporate and Personal Directory
//! Setup"): name filters, display attributes and the number of records shown.

use std::fmt;

use crate::value::{Param, Problem, parse_number};

/// The text the phone substitutes with what the user typed.
pub const VALUE_MACRO: &str = "$VALUE";

/// `LDAP_Last_Name_Filter`, `LDAP_First_Name_Filter`, `LDAP_Item_n_Filter`: an LDAP search
/// filter (RFC 4515) with `$VALUE` where the typed text goes, optionally after a label:
/// `sn:(sn=$VALUE*)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LdapFilter {
    label: Option<String>,
    filter: String,
}

/// The most `(` a filter may nest; the phone's filters nest two or three deep.
const MAX_FILTER_DEPTH: usize = 16;

impl LdapFilter {
    /// The label before the filter (`sn` in `sn:(sn=$VALUE*)`), if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The filter, `$VALUE` not yet substituted.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The filter with `$VALUE` replaced by `value`, escaped as RFC 4515 §3 requires (`*`, `(`,
    /// `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`), so typed text can never
    /// change the filter's structure.
    pub fn substitute(&self, value: &str) -> String {
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            match c {
                '*' => escaped.push_str("\\2a"),
                '(' => escaped.push_str("\\28"),
                ')' => escaped.push_str("\\29"),
                '\\' => escaped.push_str("\\5c"),
                '\0' => escaped.push_str("\\00"),
                c => escaped.push(c),
            }
        }
        self.filter.replace(VALUE_MACRO, &escaped)
    }

    pub(crate) fn parse_text(text: &str) -> Result<(LdapFilter, Option<Problem>), Problem> {
        let (label, filter, at) = match text.find('(') {
            Some(0) => (None, text, 0),
            Some(i) => {
                let before = text.get(..i).unwrap_or_default();
                let Some(label) = before.strip_suffix(':') else {
                    return Err(
                        Problem::error("a filter starts with `(`, or with a label and `:`")
                            .hint("write e.g. sn:(sn=$VALUE*) or (sn=$VALUE*)")
                            .offset(0),
                    );
                };
                let label = label.trim();
                if label.is_empty() || label.contains(char::is_whitespace) {
                    return Err(Problem::error(format!("`{before}` is not a label"))
                        .hint("write e.g. sn:(sn=$VALUE*) or (sn=$VALUE*)"));
                }
                (Some(label.to_owned()), text.get(i..).unwrap_or_default(), i)
            }
            None => {
                return Err(Problem::error("no `(`: an LDAP filter is written in parentheses")
                    .hint("write e.g. sn:(sn=$VALUE*)"));
            }
        };
        let mut depth = 0usize;
        for (i, c) in filter.char_indices() {
            match c {
                '(' => {
                    depth += 1;
                    if depth > MAX_FILTER_DEPTH {
                        return Err(Problem::error(format!(
                            "the filter nests deeper than {MAX_FILTER_DEPTH}"
                        ))
                        .offset(at + i));
                    }
                }
                ')' => {
                    if depth == 0 {
                        return Err(Problem::error("`)` without a matching `(`").offset(at + i));
                    }
                    depth -= 1;
                    if depth == 0 && i + 1 != filter.len() {
                        return Err(Problem::error("text after the filter's closing `)`")
                            .hint("combine filters with (|(a=..)(b=..)) or (&(a=..)(b=..))")
                            .offset(at + i + 1));
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err(Problem::error(format!("{depth} `(` not closed")).offset(at + filter.len()));
        }
        if filter.len() < 3 || filter.contains("()") {
            return Err(Problem::error("an empty filter `()`").offset(at));
        }
        let warning = (!filter.contains(VALUE_MACRO)).then(|| {
            Problem::warning(format!(
                "the filter has no {VALUE_MACRO}: every search returns the same entries"
            ))
            .hint("put $VALUE where the typed name goes, e.g. (sn=$VALUE*)")
        });
        Ok((
            LdapFilter {
                label,
                filter: filter.to_owned(),
            },
            warning,
        ))
    }
}

impl Param for LdapFilter {
    const KIND: crate::Kind = crate::Kind::Ldap;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        match LdapFilter::parse_text(text) {
            Ok((f, warning)) => {
                problems.extend(warning);
                Some(f)
            }
            Err(p) => {
                problems.push(p);
                None
            }
        }
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for LdapFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = &self.label {
            write!(f, "{l}:")?;
        }
        f.write_str(&self.filter)
    }
}

/// One field of `LDAP_Display_Attrs`: `a=attribute[,n=label][,t=p]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayAttr {
    /// The LDAP attribute (`a=`).
    pub attribute: String,
    /// The label shown (`n=`); the attribute name when absent.
    pub label: Option<String>,
    /// `t=p`: a phone number the user can dial.
    pub dialable: bool,
}

/// `LDAP_Display_Attrs`: the fields a directory entry shows, `;`-separated. Empty: the agent
/// shows the entry's name (`displayName`, else `cn`) and its `telephoneNumber`, `mobile` and
/// `homePhone`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DisplayAttrs(pub Vec<DisplayAttr>);

/// The most fields `LDAP_Display_Attrs` may list (the phone's screen shows five).
pub const MAX_DISPLAY_ATTRS: usize = 16;

fn is_attribute_name(s: &str) -> bool {
    // RFC 4512 §1.4 descr (keystring) or numericoid.
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        Some(c) if c.is_ascii_digit() => s.chars().all(|c| c.is_ascii_digit() || c == '.'),
        _ => false,
    }
}

impl Param for DisplayAttrs {
    const KIND: crate::Kind = crate::Kind::Ldap;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let mut attrs = Vec::new();
        let mut offset = 0usize;
        for field in text.split(';') {
            let field_at = offset;
            offset += field.len() + 1;
            if field.trim().is_empty() {
                continue;
            }
            let mut attr = DisplayAttr {
                attribute: String::new(),
                label: None,
                dialable: false,
            };
            let mut part_at = field_at;
            for part in field.split(',') {
                let at = part_at + (part.len() - part.trim_start().len());
                part_at += part.len() + 1;
                let part = part.trim();
                let Some((key, value)) = part.split_once('=') else {
                    problems.push(
                        Problem::error(format!("`{part}` is not key=value"))
                            .hint("each field is a=attribute[,n=label][,t=p], fields separated by ;")
                            .offset(at),
                    );
                    return None;
                };
                let value = value.trim();
                match key.trim() {
                    "a" if is_attribute_name(value) => attr.attribute = value.to_owned(),
                    "a" => {
                        problems.push(
                            Problem::error(format!("`{value}` is not an LDAP attribute name")).offset(at),
                        );
                        return None;
                    }
                    "n" => attr.label = Some(value.to_owned()),
                    "t" if value == "p" => attr.dialable = true,
                    "t" => {
                        problems.push(
                            Problem::error(format!("`t={value}` is not a field type"))
                                .hint("t=p marks a phone number")
                                .offset(at),
                        );
                        return None;
                    }
                    other => {
                        problems.push(
                            Problem::error(format!("`{other}=` is not a display attribute key"))
                                .hint("the keys are a (attribute), n (label) and t (t=p: phone number)")
                                .offset(at),
                        );
                        return None;
                    }
                }
            }
            if attr.attribute.is_empty() {
                problems.push(
                    Problem::error("a field without a=attribute")
                        .hint("each field is a=attribute[,n=label][,t=p]")
                        .offset(field_at),
                );
                return None;
            }
            if attrs.len() == MAX_DISPLAY_ATTRS {
                problems
                    .push(Problem::error(format!("more than {MAX_DISPLAY_ATTRS} fields")).offset(field_at));
                return None;
            }
            attrs.push(attr);
        }
        Some(DisplayAttrs(attrs))
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for DisplayAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "a={}", a.attribute)?;
            if let Some(n) = &a.label {
                write!(f, ",n={n}")?;
            }
            if a.dialable {
                f.write_str(",t=p")?;
            }
        }
        Ok(())
    }
}

/// `Max_Display_Records`: how many directory records the phone shows (50 to 999, default 50);
/// the agent asks the server for no more than this (the search's size limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxDisplayRecords(u16);

impl MaxDisplayRecords {
    /// The phone's default, 50.
    pub const DEFAULT: MaxDisplayRecords = MaxDisplayRecords(50);

    /// The number of records.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Param for MaxDisplayRecords {
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        match parse_number(text, 999).and_then(|n| u16::try_from(n).ok()) {
            Some(n) if n >= 50 => Some(MaxDisplayRecords(n)),
            _ => {
                problems.push(
                    Problem::error(format!("`{text}` is not a number of records"))
                        .hint("expected a number from 50 to 999"),
                );
                None
            }
        }
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MaxDisplayRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: Param>(text: &str) -> (Option<T>, Vec<Problem>) {
        let mut p = Vec::new();
        (T::parse_param(text, &mut p), p)
    }

    #[test]
    fn filters_as_the_guide_writes_them() {
        let (f, p) = parse::<LdapFilter>("sn:(sn=$VALUE*)");
        let f = f.unwrap();
        assert!(p.is_empty());
        assert_eq!(f.label(), Some("sn"));
        assert_eq!(f.filter(), "(sn=$VALUE*)");
        assert_eq!(f.substitute("And"), "(sn=And*)");
        assert_eq!(f.to_string(), "sn:(sn=$VALUE*)");
        let (f, _) = parse::<LdapFilter>("(|(cn=$VALUE*)(sn=$VALUE*))");
        assert_eq!(f.unwrap().substitute("a"), "(|(cn=a*)(sn=a*))");
    }

    #[test]
    fn typed_text_cannot_change_the_filter() {
        let (f, _) = parse::<LdapFilter>("(sn=$VALUE*)");
        assert_eq!(f.unwrap().substitute("*)(uid=*"), "(sn=\\2a\\29\\28uid=\\2a*)");
    }

    #[test]
    fn bad_filters_say_where() {
        for (text, offset) in [
            ("(sn=a", Some(5)),
            ("sn=a)", None),
            ("(a=b))", Some(5)),
            ("(a=b)(c=d)", Some(5)),
            ("()", Some(0)),
        ] {
            let (f, p) = parse::<LdapFilter>(text);
            assert_eq!(f, None, "{text}");
            assert_eq!(p[0].offset, offset, "{text}: {p:?}");
        }
        let (f, p) = parse::<LdapFilter>("(sn=Smith)");
        assert!(f.is_some());
        assert!(p[0].message.contains("$VALUE"), "{p:?}");
        let deep = format!("{}a=b{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(parse::<LdapFilter>(&deep).0, None);
    }

    #[test]
    fn display_attrs() {
        let (a, p) = parse::<DisplayAttrs>("a=cn;a=telephoneNumber,n=Tel,t=p; a=mobile,t=p");
        assert!(p.is_empty(), "{p:?}");
        let a = a.unwrap();
        assert_eq!(a.0.len(), 3);
        assert_eq!(a.0[1].label.as_deref(), Some("Tel"));
        assert!(a.0[1].dialable && a.0[2].dialable && !a.0[0].dialable);
        assert_eq!(a.to_string(), "a=cn;a=telephoneNumber,n=Tel,t=p;a=mobile,t=p");
        for bad in ["a=cn;x=1", "cn", "n=Name", "a=tel phone", "a=cn,t=q"] {
            assert_eq!(parse::<DisplayAttrs>(bad).0, None, "{bad}");
        }
    }

    #[test]
    fn max_display_records() {
        assert_eq!(parse::<MaxDisplayRecords>("200").0.map(|m| m.get()), Some(200));
        for bad in ["49", "1000", "x", ""] {
            assert_eq!(parse::<MaxDisplayRecords>(bad).0, None, "{bad}");
        }
    }
}
