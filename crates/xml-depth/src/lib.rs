//! A linear pre-scan that bounds XML element nesting before a recursive parser sees the
//! document.
//!
//! ```
//! let deep = format!("<r>{}{}</r>", "<a>".repeat(40), "</a>".repeat(40));
//! assert_eq!(xml_depth::too_deep(deep.as_bytes(), 64), None);
//! // `<r>` is level 1, so the 32nd `<a>` opens level 33: the first one over the limit.
//! assert_eq!(xml_depth::too_deep(deep.as_bytes(), 32), Some(3 + 31 * 3));
//! ```
//!
//! roxmltree's parser recurses once per open element, and its `nodes_limit` bounds the depth
//! only loosely: 4,000 nested `<a>` (12 kB) overflow a 2 MiB thread stack and abort the
//! process, so a provisioning server or a VPN gateway could crash a phone with one document.
//! [`too_deep`] walks the bytes once, without recursion or allocation, so the caller can refuse
//! the document with its own typed error before the parser sees it.
//!
//! The scan only has to be right about depth for documents an XML parser would accept; on
//! anything malformed it may stop early (and answer `None`) and leave the real error to the
//! parser. Parse with DTDs disallowed (roxmltree's `allow_dtd: false`): an internal entity can
//! nest elements that this scan does not see.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![no_std]

/// Returns the byte offset of the first start tag that opens an element deeper than `limit`
/// (the document element is level 1), or `None` when the document stays within it.
///
/// The depth is the element tree's: a self-closing element counts at its own level. Comments,
/// CDATA sections, processing instructions, declarations (`<!…>`), end tags and `<`/`>`
/// inside quoted attribute values count as nothing.
/// Runs in time linear in `text.len()`; never panics.
pub fn too_deep(text: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(lt) = find_byte(text, i, b'<') {
        let rest = text.get(lt..)?;
        if rest.starts_with(b"<!--") {
            i = find_seq(text, lt + 4, b"-->")? + 3;
        } else if rest.starts_with(b"<![CDATA[") {
            i = find_seq(text, lt + 9, b"]]>")? + 3;
        } else if rest.starts_with(b"<?") {
            i = find_seq(text, lt + 2, b"?>")? + 2;
        } else if rest.starts_with(b"<!") {
            i = find_byte(text, lt + 2, b'>')? + 1;
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = find_byte(text, lt + 2, b'>')? + 1;
        } else {
            let end = tag_end(text, lt + 1)?;
            // An element is at the level below its parent, self-closing or not; only an
            // element with content holds the levels of what follows.
            if depth >= limit {
                return Some(lt);
            }
            if text.get(end.wrapping_sub(1)) != Some(&b'/') {
                depth += 1;
            }
            i = end + 1;
        }
    }
    None
}

/// The offset of the `>` closing a start tag, skipping quoted attribute values.
fn tag_end(text: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    for (off, &b) in text.get(from..)?.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(from + off),
            _ => {}
        }
    }
    None
}

fn find_byte(text: &[u8], from: usize, b: u8) -> Option<usize> {
    text.get(from..)?.iter().position(|&c| c == b).map(|p| from + p)
}

fn find_seq(text: &[u8], from: usize, seq: &[u8]) -> Option<usize> {
    text.get(from..)?
        .windows(seq.len())
        .position(|w| w == seq)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn nested(n: usize) -> String {
        format!("<root>{}{}</root>", "<a>".repeat(n), "</a>".repeat(n))
    }

    #[test]
    fn counts_element_levels() {
        assert_eq!(too_deep(nested(63).as_bytes(), 64), None);
        // The 65th open element is the one refused: `<root>` is 1, the 64th `<a>` is 65.
        let deep = nested(64);
        assert_eq!(too_deep(deep.as_bytes(), 64), Some("<root>".len() + 63 * 3));
        // Depth is nesting, not the number of elements.
        let wide = format!("<root>{}</root>", "<a><b/></a>".repeat(10_000));
        assert_eq!(too_deep(wide.as_bytes(), 3), None);
        assert_eq!(too_deep(wide.as_bytes(), 2), Some("<root><a>".len()));
    }

    #[test]
    fn siblings_self_closing_comments_cdata_and_quotes_do_not_nest() {
        let flat = format!(
            "<?xml version=\"1.0\"?><!-- <a><a><a> --><root>{}</root>",
            "<x a='>'/><y b=\"<z>\">v</y><![CDATA[<a><a>]]>".repeat(1000)
        );
        assert_eq!(too_deep(flat.as_bytes(), 2), None);
        // A self-closing element is at its parent's level + 1, like any other.
        assert_eq!(too_deep(b"<r><a/></r>", 1), Some(3));
        assert_eq!(too_deep(b"<r/>", 0), Some(0));
        assert_eq!(too_deep(b"<r/>", 1), None);
    }

    #[test]
    fn a_deep_document_is_found_in_linear_time() {
        // 30,000 levels: the shape that aborted `phone-agent check` with a stack overflow.
        let deep = nested(30_000);
        assert_eq!(too_deep(deep.as_bytes(), 64), Some("<root>".len() + 63 * 3));
    }

    #[test]
    fn malformed_input_stops_the_scan_without_a_verdict() {
        // Unterminated markup ends the scan: the parser reports the real error.
        for text in [
            "<",
            "<a",
            "<a b='>",
            "<!--",
            "<![CDATA[",
            "<?x",
            "</",
            "<!",
            "<a/",
            "",
        ] {
            assert_eq!(too_deep(text.as_bytes(), 0), None, "{text:?}");
        }
        // Complete markup before the break still counts.
        assert_eq!(too_deep(b"<a><b><c", 1), Some(3));
    }
}
