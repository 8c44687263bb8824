//! Macro expansion (7800 Provisioning Guide, "Macro Expansion Variables").
//!
//! `$NAME` or `$(NAME)`; substrings `$(NAME:p)` (from character `p`) and `$(NAME:p:q)`
//! (`q` characters from `p`); `$$` is `$`. Expansion is a single pass: a value that contains
//! `$` is not expanded again. A name that is not defined stays as written. In `$NAME` the
//! longest defined name wins (`$MAU` is MAU, `$MAC` is MAC, `$MA.cfg` is MA).

use std::collections::BTreeMap;

/// The largest expansion accepted, in bytes (a rule or a log line, not a document).
pub const MAX_EXPANSION: usize = 8192;

/// Why a text could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacroError {
    /// `$(` without `)`.
    #[error("`$(` at byte {offset} has no closing `)`")]
    Unclosed {
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `$(NAME:p:q)` with `p` or `q` not a number.
    #[error("`$({text})` at byte {offset}: the substring bounds must be numbers")]
    BadSubstring {
        /// Byte offset of the `$`.
        offset: usize,
        /// The text inside the parentheses.
        text: String,
    },
    /// The result would exceed [`MAX_EXPANSION`].
    #[error("the expansion exceeds {MAX_EXPANSION} bytes")]
    TooLong,
}

/// The values macros expand to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Macros {
    values: BTreeMap<String, String>,
}

impl Macros {
    /// No values: every macro stays as written.
    pub fn new() -> Macros {
        Macros::default()
    }

    /// The device's identity: `MA` (lower-case hex), `MAU` (upper-case hex), `MAC` (lower-case
    /// with colons), `PN` product name, `PSN` product series number, `SN` serial number,
    /// `CCERT` (`Installed` / `Not Installed`).
    pub fn for_device(mac: [u8; 6], product: &str, series: &str, serial: &str, client_cert: bool) -> Macros {
        let mut m = Macros::new();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        m.set("MA", &hex);
        m.set("MAU", &hex.to_ascii_uppercase());
        let colons: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        m.set("MAC", &colons.join(":"));
        m.set("PN", product);
        m.set("PSN", series);
        m.set("SN", serial);
        m.set("CCERT", if client_cert { "Installed" } else { "Not Installed" });
        m
    }

    /// Sets (or replaces) a value. Names are upper-case letters, digits and `_`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_owned(), value.to_owned());
    }

    /// Applies a rule's `( … )!` assignments: `GPP_A`..`GPP_P` and `GPP_SA`..`GPP_SD` become
    /// the macros `$A`..`$P`, `$SA`..`$SD` for the rules evaluated after this one (how the
    /// guide chains rules); every other parameter is returned, in order, for the host to apply
    /// to its settings.
    pub fn apply_assignments(&mut self, assignments: &[(String, String)]) -> Vec<(String, String)> {
        let mut rest = Vec::new();
        for (name, value) in assignments {
            let gpp = name
                .strip_prefix("GPP_")
                .filter(|m| matches!(m.as_bytes(), [b'A'..=b'P'] | [b'S', b'A'..=b'D']));
            match gpp {
                Some(m) => self.set(m, value),
                None => rest.push((name.clone(), value.clone())),
            }
        }
        rest
    }

    /// Removes a value (it then stays as written).
    pub fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// A value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The request macros of one URL: `SCHEME`, `SERV` (the host as written), `SERVIP` (the
    /// address used), `PORT`, `PATH`.
    pub fn set_request(&mut self, scheme: &str, serv: &str, servip: &str, port: u16, path: &str) {
        self.set("SCHEME", scheme);
        self.set("SERV", serv);
        self.set("SERVIP", servip);
        self.set("PORT", &port.to_string());
        self.set("PATH", path);
    }

    /// Expands `text` (single pass, bounded).
    pub fn expand(&self, text: &str) -> Result<String, MacroError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let at = offset + i;
            let after = &rest[i + 1..];
            let consumed;
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                consumed = i + 2;
                let _ = tail;
            } else if let Some(inner_start) = after.strip_prefix('(') {
                let close = inner_start.find(')').ok_or(MacroError::Unclosed { offset: at })?;
                let inner = &inner_start[..close];
                let mut parts = inner.split(':');
                let name = parts.next().unwrap_or_default();
                let p = parts.next();
                let q = parts.next();
                let bad = || MacroError::BadSubstring {
                    offset: at,
                    text: inner.to_owned(),
                };
                if parts.next().is_some() {
                    return Err(bad());
                }
                match self.values.get(name) {
                    Some(v) => {
                        let start = p
                            .map(|p| p.trim().parse::<usize>())
                            .transpose()
                            .map_err(|_| bad())?;
                        let len = q
                            .map(|q| q.trim().parse::<usize>())
                            .transpose()
                            .map_err(|_| bad())?;
                        let chars = v.chars().skip(start.unwrap_or(0));
                        match len {
                            Some(n) => out.extend(chars.take(n)),
                            None => out.extend(chars),
                        }
                    }
                    None => {
                        out.push_str("$(");
                        out.push_str(inner);
                        out.push(')');
                    }
                }
                consumed = i + 2 + close + 1;
            } else {
                let run_len = after
                    .bytes()
                    .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                    .count();
                let run = &after[..run_len];
                let found = (1..=run.len()).rev().find_map(|n| {
                    let name = &run[..n];
                    self.values.get(name).map(|v| (n, v))
                });
                match found {
                    Some((n, v)) => {
                        out.push_str(v);
                        consumed = i + 1 + n;
                    }
                    None => {
                        out.push('$');
                        consumed = i + 1;
                    }
                }
            }
            if out.len() > MAX_EXPANSION {
                return Err(MacroError::TooLong);
            }
            offset += consumed;
            rest = &rest[consumed..];
        }
        out.push_str(rest);
        if out.len() > MAX_EXPANSION {
            return Err(MacroError::TooLong);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpp_assignments_become_macros_and_the_rest_is_returned() {
        let mut m = Macros::for_device([0, 0x0e, 8, 0xab, 0xcd, 0xef], "CP-7832-3PCC", "7832", "S", false);
        let rest = m.apply_assignments(&[
            ("GPP_A".into(), "profiles".into()),
            ("Line_Enable_2_".into(), "No".into()),
            ("GPP_SB".into(), "s3cret".into()),
            ("GPP_Q".into(), "not a macro".into()),
        ]);
        assert_eq!(m.expand("/$A/$MA.xml").unwrap(), "/profiles/000e08abcdef.xml");
        assert_eq!(m.expand("$SB").unwrap(), "s3cret");
        assert_eq!(
            rest,
            [
                ("Line_Enable_2_".to_owned(), "No".to_owned()),
                ("GPP_Q".to_owned(), "not a macro".to_owned())
            ]
        );
    }

    fn device() -> Macros {
        Macros::for_device(
            [0x00, 0x0e, 0x08, 0xab, 0xcd, 0xef],
            "CP-7832-3PCC",
            "7832",
            "FCH12345",
            true,
        )
    }

    #[test]
    fn guide_macros() {
        let m = device();
        assert_eq!(m.expand("/cisco/$MA.cfg").unwrap(), "/cisco/000e08abcdef.cfg");
        assert_eq!(m.expand("$MAU-$MAC").unwrap(), "000E08ABCDEF-00:0e:08:ab:cd:ef");
        assert_eq!(m.expand("$(MA)x").unwrap(), "000e08abcdefx");
        assert_eq!(m.expand("$(MA:6)").unwrap(), "abcdef");
        assert_eq!(m.expand("$(MA:6:2)").unwrap(), "ab");
        assert_eq!(
            m.expand("$PN $SN $CCERT").unwrap(),
            "CP-7832-3PCC FCH12345 Installed"
        );
        assert_eq!(m.expand("cost $$5").unwrap(), "cost $5");
    }

    #[test]
    fn unknown_names_stay_and_expansion_is_single_pass() {
        let mut m = device();
        m.set("A", "$MA");
        assert_eq!(m.expand("$A/$NOPE/$(NOPE:1)/$").unwrap(), "$MA/$NOPE/$(NOPE:1)/$");
    }

    #[test]
    fn errors_say_where() {
        let m = device();
        assert_eq!(m.expand("ab$(MA"), Err(MacroError::Unclosed { offset: 2 }));
        assert!(matches!(
            m.expand("$(MA:x)"),
            Err(MacroError::BadSubstring { offset: 0, .. })
        ));
        let mut big = Macros::new();
        big.set("B", &"x".repeat(5000));
        assert_eq!(big.expand("$B$B"), Err(MacroError::TooLong));
    }
}
