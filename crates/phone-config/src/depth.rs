//! The nesting bound of cfg.xml, checked by the `xml-depth` pre-scan before the XML parser
//! recurses.
//!
//! roxmltree's tokenizer recurses once per open element, so a hostile profile of
//! `<a>` repeated tens of thousands of times overflows the stack and aborts the process (a
//! provisioning server could crash the phone). [`xml_depth::too_deep`] walks the bytes once,
//! without recursion, and the document is refused when it nests deeper than [`MAX_DEPTH`]
//! before roxmltree sees it.

/// The deepest element nesting [`parse`](crate::parse) accepts. A `cfg.xml` is flat
/// (`<flat-profile>` or `<device>` holding parameter elements), so 64 is generous while keeping
/// the XML parser's recursion far from any stack limit.
pub const MAX_DEPTH: usize = 64;
