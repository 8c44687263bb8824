//! A linear pre-scan that bounds element nesting before roxmltree recurses (the same scan as
//! phone-config's `depth.rs`, which guards cfg.xml).
//!
//! roxmltree's parser recurses once per open element. Its `nodes_limit` (4096 here) bounds the
//! depth only loosely: 4,000 nested `<a>` (12 kB, well under the 64 KiB body limit) overflow a
//! 2 MiB thread stack, a tokio worker's, and abort the process. So a VPN gateway could crash
//! the phone with one auth page. This scan walks the bytes once, without recursion, and the
//! page is refused before roxmltree sees it when it nests deeper than
//! [`Limits::max_xml_depth`](crate::Limits::max_xml_depth).
//!
//! The scan only has to be right about depth for documents roxmltree would accept; for
//! anything malformed it may stop early and let roxmltree report the real error.

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
            "<config-auth>{}{}</config-auth>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        )
    }

    #[test]
    fn counts_open_elements_only() {
        assert_eq!(too_deep(nested(31).as_bytes(), 32), None);
        // `<config-auth>` is level 1, so the 32nd `<a>` is the 33rd level, the one refused.
        let deep = nested(32);
        assert_eq!(
            too_deep(deep.as_bytes(), 32),
            Some("<config-auth>".len() + 31 * 3)
        );
    }

    #[test]
    fn siblings_self_closing_comments_cdata_and_quotes_do_not_nest() {
        let flat = format!(
            "<?xml version=\"1.0\"?><!-- <a><a><a> --><config-auth>{}</config-auth>",
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
