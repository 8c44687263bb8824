//! xml-depth's scan against roxmltree's tree: for every document roxmltree accepts (no DTD,
//! at most 512 levels so its recursion stays on the stack), the scan finds the same depth —
//! `too_deep(text, d)` is `None` exactly when `d` is at least the tree's depth. On any input
//! the scan never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Nesting roxmltree's recursion handles on libFuzzer's thread; the scan gates deeper input.
const ORACLE_MAX: usize = 512;

fn tree_depth(node: roxmltree::Node) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(node, 0usize)];
    while let Some((n, d)) = stack.pop() {
        let d = if n.is_element() { d + 1 } else { d };
        deepest = deepest.max(d);
        stack.extend(n.children().map(|c| (c, d)));
    }
    deepest
}

fuzz_target!(|data: &[u8]| {
    let limit = data.first().map_or(0, |&b| usize::from(b));
    let _ = xml_depth::too_deep(data, limit);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if xml_depth::too_deep(data, ORACLE_MAX).is_some() {
        return;
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1 << 16,
    };
    let Ok(doc) = roxmltree::Document::parse_with_options(text, options) else {
        return;
    };
    let depth = tree_depth(doc.root());
    assert_eq!(xml_depth::too_deep(data, depth), None, "depth {depth}");
    if depth > 0 {
        assert!(
            xml_depth::too_deep(data, depth - 1).is_some(),
            "the scan missed level {depth}"
        );
    }
});
