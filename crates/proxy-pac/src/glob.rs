//! `shExpMatch` without a RegExp for the patterns that need none.
//!
//! Netscape's `shExpMatch(s, p)` builds `new RegExp('^' + p' + '$')` with `.` escaped, `*` as
//! `.*` and `?` as `.`: every other RegExp metacharacter stays live (`[a-c].com` is a
//! character class, `x(y` a SyntaxError). A pattern free of those metacharacters is a plain
//! glob; this module matches it over UTF-16 code units like the RegExp would. Anything else
//! goes back to the RegExp (see `pac_library.js`).

/// Characters that make the Netscape translation a real RegExp.
const REGEXP_META: &[u16] = &[
    b'\\' as u16,
    b'^' as u16,
    b'$' as u16,
    b'+' as u16,
    b'(' as u16,
    b')' as u16,
    b'[' as u16,
    b']' as u16,
    b'{' as u16,
    b'}' as u16,
    b'|' as u16,
];

/// JavaScript's line terminators: `.` in a RegExp does not match them.
fn is_line_terminator(u: u16) -> bool {
    matches!(u, 0x0a | 0x0d | 0x2028 | 0x2029)
}

/// Most pattern × text units the fast path compares for a pattern with a `*` (whose
/// backtracking is O(pattern × text)). Beyond it the RegExp, which QuickJS interrupts at the
/// time limit, takes over: natives are never interrupted, so a hostile pair such as
/// `shExpMatch('a'.repeat(1e6), '*' + 'a'.repeat(5e5) + 'b')` must not run here.
const MAX_STAR_WORK: usize = 1 << 20;

/// A compiled plain glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    units: Vec<u16>,
}

impl Glob {
    /// The glob, or `None` when the pattern needs the RegExp path.
    pub(crate) fn compile(pattern: &str) -> Option<Glob> {
        let units: Vec<u16> = pattern.encode_utf16().collect();
        if units
            .iter()
            .any(|u| REGEXP_META.contains(u) || is_line_terminator(*u))
        {
            return None;
        }
        Some(Glob { units })
    }

    /// Whether the whole of `text` matches, or `None` when `text` holds a line terminator
    /// (left to the RegExp, whose `.` excludes them) or the match could take more than
    /// [`MAX_STAR_WORK`] steps.
    pub(crate) fn matches(&self, text: &str) -> Option<bool> {
        let text: Vec<u16> = text.encode_utf16().collect();
        if text.iter().any(|u| is_line_terminator(*u)) {
            return None;
        }
        if self.units.contains(&(b'*' as u16)) && self.units.len().saturating_mul(text.len()) > MAX_STAR_WORK
        {
            return None;
        }
        Some(wildcard(&self.units, &text))
    }
}

/// Classic greedy wildcard match with single-star backtracking: linear in practice,
/// O(pattern * text) at worst.
fn wildcard(p: &[u16], t: &[u16]) -> bool {
    const STAR: u16 = b'*' as u16;
    const ONE: u16 = b'?' as u16;
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(&STAR) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == ONE || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|&c| c == STAR))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str, pattern: &str) -> Option<bool> {
        Glob::compile(pattern)?.matches(text)
    }

    #[test]
    fn netscape_globs() {
        assert_eq!(m("foo.jpg", "*.jpg"), Some(true));
        assert_eq!(m("foo5.jpg", "*o?.jpg"), Some(true));
        assert_eq!(m("foo.jpg", ".jpg"), Some(false));
        assert_eq!(m("foo.jpg", "foo"), Some(false));
        assert_eq!(m("http://a.example.com/x", "*.example.com/*"), Some(true));
        assert_eq!(m("", "*"), Some(true));
        assert_eq!(m("", "?"), Some(false));
        assert_eq!(m("abc", "a**c"), Some(true));
        assert_eq!(m("aXb", "a.b"), Some(false));
        // `?` is one UTF-16 unit, as RegExp `.` without the `u` flag.
        assert_eq!(m("😀", "??"), Some(true));
    }

    #[test]
    fn regexp_patterns_are_left_to_the_regexp() {
        assert_eq!(m("b.com", "[a-c].com"), None);
        assert_eq!(m("x(y", "x(y"), None);
        assert_eq!(m("a\nb", "a*b"), None);
    }

    #[test]
    fn quadratic_star_matches_are_left_to_the_interruptible_regexp() {
        let text = "a".repeat(4096);
        let pattern = format!("*{}b", "a".repeat(512));
        assert_eq!(m(&text, &pattern), None);
        // Without a star the match is linear, however long.
        assert_eq!(m(&text, &text), Some(true));
        // Ordinary URL-sized work stays on the fast path.
        assert_eq!(m(&format!("http://{text}/"), "http://*/"), Some(true));
    }
}
