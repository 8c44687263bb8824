//! The aggregate-auth XML dialogue (`<config-auth>`): what the client posts and the forms the
//! server answers with (openconnect `auth.c`, ocserv `worker-auth.c`).

use thiserror::Error;

use crate::Limits;

/// What the server's `<config-auth>` document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPage {
    /// `type="auth-request"`: a form to fill in.
    Request(AuthForm),
    /// `type="complete"`: authenticated. ASA may carry the cookie in `<session-token>`.
    Complete {
        /// The `<session-token>` text, when present.
        session_token: Option<String>,
    },
}

/// A form of an `auth-request`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthForm {
    /// `<auth id=…>` (`main`, `passwd`, …).
    pub id: String,
    /// `<message>` text (ocserv: "Please enter your password.", "Login failed.\n…").
    pub message: Option<String>,
    /// `<error>` text.
    pub error: Option<String>,
    /// `<banner>` text.
    pub banner: Option<String>,
    /// The form's `action` (where to post the answers).
    pub action: String,
    /// The `<input>` elements, in order.
    pub inputs: Vec<FormInput>,
    /// The `<select>` elements (ocserv: `group_list`).
    pub selects: Vec<FormSelect>,
    /// The `<opaque>` element as written, to be posted back verbatim (Cisco ASA).
    pub opaque: Option<String>,
}

/// An `<input>` of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormInput {
    /// `type`: `text`, `password`, `hidden`, …
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `label`.
    pub label: String,
    /// `value`, when given (hidden inputs).
    pub value: Option<String>,
}

/// A `<select>` of a form with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSelect {
    /// `name` (`group_list` for the tunnel group).
    pub name: String,
    /// `label`.
    pub label: String,
    /// `(value, text)` of each `<option>`.
    pub options: Vec<(String, String)>,
}

/// What was wrong with an auth document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthXmlError {
    /// Larger than the bound.
    #[error("auth XML of {len} bytes exceeds the bound of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not UTF-8.
    #[error("auth XML is not UTF-8 (byte {offset})")]
    NotUtf8 {
        /// The first bad byte.
        offset: usize,
    },
    /// Not well-formed (or over the element bound), with roxmltree's position.
    #[error("auth XML is not well-formed: {detail}")]
    Malformed {
        /// roxmltree's message, with line and column.
        detail: String,
    },
    /// The root is not `<config-auth>`.
    #[error("auth XML root is <{found}>, expected <config-auth>")]
    NotConfigAuth {
        /// The root element's name.
        found: String,
    },
    /// A `type` other than `auth-request` or `complete`.
    #[error("<config-auth type=\"{found}\"> is neither auth-request nor complete")]
    UnexpectedType {
        /// The value.
        found: String,
    },
    /// Elements nested deeper than [`Limits::max_xml_depth`], refused before the XML parser
    /// (which recurses per level) sees them.
    #[error("elements are nested more than {max} levels deep (line {line}); a <config-auth> page nests 5")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Line of the first element past it.
        line: usize,
    },
    /// An `auth-request` without a `<form>`.
    #[error("<config-auth type=\"auth-request\"> has no <form> (line {line})")]
    NoForm {
        /// Line of the `<config-auth>` element.
        line: u32,
    },
}

/// Reads a `<config-auth>` document, bounded by `limits`.
pub fn parse_auth_page(body: &[u8], limits: &Limits) -> Result<AuthPage, AuthXmlError> {
    if body.len() > limits.max_http_body {
        return Err(AuthXmlError::TooLong {
            len: body.len(),
            max: limits.max_http_body,
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| AuthXmlError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some(at) = xml_depth::too_deep(body, limits.max_xml_depth) {
        let line = 1 + body
            .get(..at)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        return Err(AuthXmlError::TooDeep {
            max: limits.max_xml_depth,
            line,
        });
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_xml_nodes,
    };
    let doc =
        roxmltree::Document::parse_with_options(text, options).map_err(|e| AuthXmlError::Malformed {
            detail: e.to_string(),
        })?;
    let root = doc.root_element();
    if root.tag_name().name() != "config-auth" {
        return Err(AuthXmlError::NotConfigAuth {
            found: root.tag_name().name().chars().take(40).collect(),
        });
    }
    let kind = root.attribute("type").unwrap_or_default();
    fn child<'a, 'i>(parent: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        parent
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
    }
    let text_of = |n: roxmltree::Node<'_, '_>| n.text().map(|t| t.trim().to_owned());
    match kind {
        "complete" => Ok(AuthPage::Complete {
            session_token: child(root, "session-token")
                .and_then(text_of)
                .filter(|t| !t.is_empty()),
        }),
        "auth-request" => {
            let auth = child(root, "auth");
            let scope = auth.unwrap_or(root);
            let Some(form) = child(scope, "form") else {
                return Err(AuthXmlError::NoForm {
                    line: doc.text_pos_at(root.range().start).row,
                });
            };
            let mut out = AuthForm {
                id: auth
                    .and_then(|a| a.attribute("id"))
                    .unwrap_or_default()
                    .to_owned(),
                message: child(scope, "message").and_then(text_of),
                error: child(scope, "error").and_then(text_of).filter(|t| !t.is_empty()),
                banner: child(scope, "banner").and_then(text_of),
                action: form.attribute("action").unwrap_or_default().to_owned(),
                opaque: child(root, "opaque")
                    .and_then(|o| text.get(o.range()))
                    .map(str::to_owned),
                ..AuthForm::default()
            };
            for n in form.children().filter(|n| n.is_element()) {
                let attr = |a: &str| n.attribute(a).unwrap_or_default().to_owned();
                match n.tag_name().name() {
                    "input" => out.inputs.push(FormInput {
                        kind: attr("type"),
                        name: attr("name"),
                        label: attr("label"),
                        value: n.attribute("value").map(str::to_owned),
                    }),
                    "select" => out.selects.push(FormSelect {
                        name: attr("name"),
                        label: attr("label"),
                        options: n
                            .children()
                            .filter(|o| o.is_element() && o.tag_name().name() == "option")
                            .map(|o| {
                                let label = o.text().unwrap_or_default().trim().to_owned();
                                (
                                    o.attribute("value").map_or_else(|| label.clone(), str::to_owned),
                                    label,
                                )
                            })
                            .collect(),
                    }),
                    _ => {}
                }
            }
            Ok(AuthPage::Request(out))
        }
        other => Err(AuthXmlError::UnexpectedType {
            found: other.chars().take(40).collect(),
        }),
    }
}

/// `& < > " '` escaped for XML text and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The `init` document: the URL the user asked for and the tunnel group, if any.
pub(crate) fn init_body(group_access: &str, group: Option<&str>) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\" type=\"init\" aggregate-auth-version=\"2\">\
<version who=\"vpn\">{VERSION}</version><device-id>linux-64</device-id><group-access>{}</group-access>",
        escape(group_access)
    );
    if let Some(g) = group {
        s.push_str(&format!("<group-select>{}</group-select>", escape(g)));
    }
    s.push_str("</config-auth>");
    s
}

/// The `auth-reply` document: one element per answered input, the group, the opaque block.
pub(crate) fn reply_body(
    answers: &[(&str, &str)],
    group: Option<&str>,
    opaque: Option<&str>,
) -> zeroize::Zeroizing<String> {
    let mut s = zeroize::Zeroizing::new(String::with_capacity(512));
    s.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\" type=\"auth-reply\" aggregate-auth-version=\"2\">",
    );
    s.push_str(&format!(
        "<version who=\"vpn\">{VERSION}</version><device-id>linux-64</device-id>"
    ));
    if let Some(o) = opaque {
        s.push_str(o);
    }
    s.push_str("<auth>");
    for (name, value) in answers {
        let name = escape(name);
        s.push('<');
        s.push_str(&name);
        s.push('>');
        s.push_str(&zeroize::Zeroizing::new(escape(value)));
        s.push_str("</");
        s.push_str(&name);
        s.push('>');
    }
    s.push_str("</auth>");
    if let Some(g) = group {
        s.push_str(&format!("<group-select>{}</group-select>", escape(g)));
    }
    s.push_str("</config-auth>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCSERV_USERNAME_FORM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request">
<version who="sg">0.1(1)</version>
<auth id="main">
<message>Please enter your username.</message>
<form method="post" action="/auth">
<input type="text" name="username" label="Username:" />
<select name="group_list" label="Group:">
<option value="sales">sales</option>
<option value="eng">Engineering</option>
</select>
</form></auth>
</config-auth>"#;

    #[test]
    fn ocserv_username_form_with_groups() -> Result<(), AuthXmlError> {
        let AuthPage::Request(f) = parse_auth_page(OCSERV_USERNAME_FORM.as_bytes(), &Limits::default())?
        else {
            return Err(AuthXmlError::NoForm { line: 0 });
        };
        assert_eq!((f.id.as_str(), f.action.as_str()), ("main", "/auth"));
        assert_eq!(f.message.as_deref(), Some("Please enter your username."));
        assert_eq!(
            f.inputs.first().map(|i| (i.kind.as_str(), i.name.as_str())),
            Some(("text", "username"))
        );
        let groups = f.selects.first().map(|s| s.options.clone()).unwrap_or_default();
        assert_eq!(
            groups,
            vec![
                ("sales".into(), "sales".into()),
                ("eng".into(), "Engineering".into())
            ]
        );
        Ok(())
    }

    #[test]
    fn complete_with_and_without_session_token() -> Result<(), AuthXmlError> {
        let l = Limits::default();
        let ocserv = r#"<?xml version="1.0" encoding="UTF-8"?><config-auth client="vpn" type="complete"><version who="sg">0.1(1)</version><auth id="success"><title>SSL VPN Service</title></auth></config-auth>"#;
        assert_eq!(
            parse_auth_page(ocserv.as_bytes(), &l)?,
            AuthPage::Complete { session_token: None }
        );
        let asa = r#"<config-auth type="complete"><session-token>ABC@1</session-token></config-auth>"#;
        assert_eq!(
            parse_auth_page(asa.as_bytes(), &l)?,
            AuthPage::Complete {
                session_token: Some("ABC@1".into())
            }
        );
        Ok(())
    }

    #[test]
    fn refusals_are_typed() {
        let l = Limits::default();
        assert!(matches!(
            parse_auth_page(b"<html/>", &l),
            Err(AuthXmlError::NotConfigAuth { .. })
        ));
        assert!(matches!(
            parse_auth_page(b"<config-auth type=\"x\"/>", &l),
            Err(AuthXmlError::UnexpectedType { .. })
        ));
        assert!(matches!(
            parse_auth_page(b"<config-auth", &l),
            Err(AuthXmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse_auth_page(b"<!DOCTYPE x [<!ENTITY a 'b'>]><config-auth/>", &l),
            Err(AuthXmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse_auth_page(b"\xff", &l),
            Err(AuthXmlError::NotUtf8 { offset: 0 })
        ));
    }

    #[test]
    fn deep_nesting_is_refused_before_the_parser_recurses() {
        let l = Limits::default();
        // 20,000 levels, 60 kB: under the body limit. Parsed in a thread with 128 KiB of
        // stack; roxmltree alone overflows 2 MiB (a tokio worker's) at 4,000.
        let deep = format!("<config-auth type=\"auth-request\">\n{}", "<a>".repeat(20_000));
        let r = std::thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || parse_auth_page(deep.as_bytes(), &Limits::default()))
            .map(|t| t.join());
        assert!(
            matches!(r, Ok(Ok(Err(AuthXmlError::TooDeep { max: 32, line: 2 })))),
            "{r:?}"
        );
        // At the limit it parses (and fails for what it is: no form).
        let at_limit = format!("<config-auth type=\"auth-request\">{}", "<a>".repeat(31));
        let at_limit = format!("{at_limit}{}</config-auth>", "</a>".repeat(31));
        assert!(matches!(
            parse_auth_page(at_limit.as_bytes(), &l),
            Err(AuthXmlError::NoForm { .. })
        ));
    }

    #[test]
    fn reply_escapes_values() {
        let body = reply_body(&[("password", "a<b&c")], Some("eng"), None);
        assert!(
            body.contains("<auth><password>a&lt;b&amp;c</password></auth><group-select>eng</group-select>")
        );
    }
}
