//! A linear pre-scan that bounds element nesting before the XML parser recurses.
//!
//! roxmltree's tokenizer recurses once per open element, so a hostile profile of
//! `<a>` repeated tens of thousands of times overflows the stack and aborts the process (a
//! provisioning server could crash the phone). This scan walks the bytes once, without
//! recursion, and refuses a document nested deeper than [`MAX_DEPTH`] before roxmltree sees it.
//!
//! The scan only has to be right about depth for documents roxmltree would accept; for
//! anything malformed it may stop early and let roxmltree report the real error.

/// The deepest element nesting [`parse`](crate::parse) accepts. A `cfg.xml` is flat
/// (`<flat-profile>` or `<device>` holding parameter elements), so 64 is generous while keeping
/// the XML parser's recursion far from any stack limit.
pub const MAX_DEPTH: usize = 64;

/// Returns the byte offset of the first start tag that opens an element deeper than
/// `limit`, or `None` when the document stays within it.
pub(crate) fn too_deep(text: &[u8], limit: usize) -> Option<usize> {
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
            if text.get(end.wrapping_sub(1)) != Some(&b'/') {
                depth += 1;
                if depth > limit {
                    return Some(lt);
                }
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
    use super::*;

    fn nested(n: usize) -> String {
        format!(
            "<flat-profile>{}{}</flat-profile>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        )
    }

    #[test]
    fn counts_open_elements_only() {
        assert_eq!(too_deep(nested(63).as_bytes(), 64), None);
        // The 65th open element is the one refused: `<flat-profile>` is 1, the 64th `<a>` is 65.
        let deep = nested(64);
        assert_eq!(
            too_deep(deep.as_bytes(), 64),
            Some("<flat-profile>".len() + 63 * 3)
        );
    }

    #[test]
    fn siblings_self_closing_comments_cdata_and_quotes_do_not_nest() {
        let flat = format!(
            "<?xml version=\"1.0\"?><!-- <a><a><a> --><flat-profile>{}</flat-profile>",
            "<x a='>'/><y b=\"<z>\">v</y><![CDATA[<a><a>]]>".repeat(1000)
        );
        assert_eq!(too_deep(flat.as_bytes(), 2), None);
    }

    #[test]
    fn malformed_input_never_panics() {
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
        ] {
            let _ = too_deep(text.as_bytes(), 1);
        }
    }
}
