//! The rule engine of OpenSSL 1.1.1d's `ssl_create_cipher_list` (ssl/ssl_ciph.c 1403-1635),
//! `ssl_cipher_apply_rule` (773-907), `ssl_cipher_strength_sort` (909-955) and
//! `ssl_cipher_process_rulestr` (957-1219), over the token stream of `parse.rs`.
//!
//! OpenSSL keeps a doubly linked list of every suite with an `active` flag. Here the list is a
//! `Vec` of (suite, active); each rule is a stable partition, which is what the linked-list
//! moves amount to:
//! - ADD: matching inactive suites become active and move to the end, in list order;
//! - ORD (`+`): matching active suites move to the end, in list order;
//! - DEL (`-`): matching active suites become inactive and move to the front, in list order
//!   (OpenSSL walks backwards and prepends each one);
//! - BUMP (internal): matching active suites move to the front, in list order;
//! - KILL (`!`): matching suites leave the list for good.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::data::*;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::error::Error;
use crate::parse::{self, Op, Part, Token};
use crate::table::{ALIASES, SUITES};

/// The selection criteria of one rule (the arguments of `ssl_cipher_apply_rule`).
#[derive(Debug, Clone, Copy, Default)]
struct Selector {
    cipher_id: u32,
    mkey: u32,
    auth: u32,
    enc: u32,
    mac: u32,
    min_tls: u32,
    algo_strength: u32,
    /// `Some(bits)`: select by strength bits only (used by the strength sort).
    strength_bits: Option<u32>,
}

impl Selector {
    fn matches(&self, s: &SuiteData) -> bool {
        if let Some(bits) = self.strength_bits {
            return bits == s.strength_bits;
        }
        !(self.cipher_id != 0 && self.cipher_id != s.id
            || self.mkey != 0 && self.mkey & s.mkey == 0
            || self.auth != 0 && self.auth & s.auth == 0
            || self.enc != 0 && self.enc & s.enc == 0
            || self.mac != 0 && self.mac & s.mac == 0
            || self.min_tls != 0 && self.min_tls != s.min_tls
            || self.algo_strength & STRONG_MASK != 0
                && self.algo_strength & STRONG_MASK & s.algo_strength == 0
            || self.algo_strength & DEFAULT_MASK != 0
                && self.algo_strength & DEFAULT_MASK & s.algo_strength == 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Add,
    Kill,
    Del,
    Ord,
    Bump,
}

/// The linked list of `ssl_create_cipher_list`: indices into `SUITES` with their active flag.
#[derive(Debug, Clone)]
struct Order {
    list: Vec<(u16, bool)>,
    scratch: Vec<(u16, bool)>,
}

fn data(i: u16) -> &'static SuiteData {
    // Indices come only from enumerating SUITES, so `get` always succeeds; the fallback keeps
    // this panic-free all the same.
    SUITES.get(usize::from(i)).unwrap_or(&SUITES[0])
}

impl Order {
    fn apply(&mut self, sel: &Selector, action: Action) {
        let Order { list, scratch } = self;
        scratch.clear();
        match action {
            Action::Kill => list.retain(|&(i, _)| !sel.matches(data(i))),
            Action::Add | Action::Ord => {
                let want_active = action == Action::Ord;
                let mut kept = 0;
                for k in 0..list.len() {
                    let Some(&(i, active)) = list.get(k) else { break };
                    if active == want_active && sel.matches(data(i)) {
                        scratch.push((i, true));
                    } else {
                        if let Some(slot) = list.get_mut(kept) {
                            *slot = (i, active);
                        }
                        kept += 1;
                    }
                }
                list.truncate(kept);
                list.extend_from_slice(scratch);
            }
            Action::Del | Action::Bump => {
                let keep_active = action == Action::Bump;
                let mut rest = Vec::with_capacity(list.len());
                for &(i, active) in list.iter() {
                    if active && sel.matches(data(i)) {
                        scratch.push((i, keep_active));
                    } else {
                        rest.push((i, active));
                    }
                }
                scratch.extend_from_slice(&rest);
                std::mem::swap(list, scratch);
            }
        }
    }

    /// `ssl_cipher_strength_sort`: ORD by each used strength, strongest first. Amounts to a
    /// stable sort of the active suites by descending strength, moved behind the inactive ones.
    fn strength_sort(&mut self) {
        let (mut inactive, mut active): (Vec<_>, Vec<_>) = self.list.iter().partition(|&&(_, a)| !a);
        active.sort_by_key(|&(i, _)| std::cmp::Reverse(data(i).strength_bits));
        inactive.extend(active);
        self.list = inactive;
    }
}

fn rule(mkey: u32, auth: u32, enc: u32, mac: u32, min_tls: u32) -> Selector {
    Selector {
        mkey,
        auth,
        enc,
        mac,
        min_tls,
        ..Selector::default()
    }
}

/// The master preference order, all suites inactive (`ssl_create_cipher_list` up to the
/// final "disable everything"). Computed once.
fn master() -> &'static [(u16, bool)] {
    static MASTER: OnceLock<Vec<(u16, bool)>> = OnceLock::new();
    MASTER.get_or_init(|| {
        // ssl3_get_cipher(u) returns ssl3_ciphers[N - 1 - u]: the id-sorted table backwards.
        let list = (0..SUITES.len())
            .rev()
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|&i| data(i).enabled)
            .map(|i| (i, false))
            .collect();
        let mut o = Order {
            list,
            scratch: Vec::new(),
        };
        let all = Selector::default();
        o.apply(&rule(K_ECDHE, A_ECDSA, 0, 0, 0), Action::Add);
        o.apply(&rule(K_ECDHE, 0, 0, 0, 0), Action::Add);
        o.apply(&rule(K_ECDHE, 0, 0, 0, 0), Action::Del);
        o.apply(&rule(0, 0, E_AESGCM, 0, 0), Action::Add);
        o.apply(&rule(0, 0, E_CHACHA20, 0, 0), Action::Add);
        o.apply(&rule(0, 0, E_AES ^ E_AESGCM, 0, 0), Action::Add);
        o.apply(&all, Action::Add);
        o.apply(&rule(0, 0, 0, M_MD5, 0), Action::Ord);
        o.apply(&rule(0, A_NULL, 0, 0, 0), Action::Ord);
        o.apply(&rule(K_RSA, 0, 0, 0, 0), Action::Ord);
        o.apply(&rule(K_PSK, 0, 0, 0, 0), Action::Ord);
        o.apply(&rule(0, 0, E_RC4, 0, 0), Action::Ord);
        o.strength_sort();
        o.apply(&rule(0, 0, 0, 0, TLS1_2_VERSION), Action::Bump);
        o.apply(&rule(0, 0, 0, M_AEAD, 0), Action::Bump);
        o.apply(&rule(K_DHE | K_ECDHE, 0, 0, 0, 0), Action::Bump);
        o.apply(&rule(K_DHE | K_ECDHE, 0, 0, M_AEAD, 0), Action::Bump);
        o.apply(&all, Action::Del);
        o.list
    })
}

/// What a word names in `ca_list`: an enabled suite or an enabled alias.
#[derive(Debug, Clone, Copy)]
enum Known {
    Suite(&'static SuiteData),
    Alias(&'static AliasData),
}

fn lookup(word: &str) -> Option<Known> {
    static CA_LIST: OnceLock<HashMap<&'static str, Known>> = OnceLock::new();
    let map = CA_LIST.get_or_init(|| {
        let mut m = HashMap::new();
        for s in SUITES.iter().filter(|s| s.enabled) {
            m.entry(s.name).or_insert(Known::Suite(s));
        }
        for a in ALIASES.iter().filter(|a| a.enabled) {
            m.entry(a.name).or_insert(Known::Alias(a));
        }
        m
    });
    map.get(word).copied()
}

/// The outcome of evaluating a cipher string.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub(crate) suites: Vec<&'static SuiteData>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) security_level: Option<u8>,
    pub(crate) suite_b: Option<&'static str>,
}

/// `SSL_DEFAULT_CIPHER_LIST` (include/openssl/ssl.h 173).
pub(crate) const DEFAULT_EXPANSION: &str = "ALL:!COMPLEMENTOFDEFAULT:!eNULL";

/// `check_suiteb_cipher_list` (ssl/ssl_ciph.c 1222-1275): prefix, replacement.
const SUITE_B: [(&str, &str); 4] = [
    ("SUITEB128ONLY", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    ("SUITEB128C2", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    (
        "SUITEB128",
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    ("SUITEB192", "ECDHE-ECDSA-AES256-GCM-SHA384"),
];

/// `SSL_CTX_set_cipher_list` in a default OpenSSL 1.1.1d build.
pub(crate) fn evaluate(input: &str) -> Result<Evaluation, Error> {
    let mut state = State {
        order: Order {
            list: master().to_vec(),
            scratch: Vec::with_capacity(SUITES.len()),
        },
        diagnostics: Vec::new(),
        security_level: None,
    };
    let mut suite_b = None;
    let mut rule_str = input;
    let mut base = 0;
    if let Some(&(keyword, replacement)) = SUITE_B.iter().find(|(p, _)| input.starts_with(p)) {
        state.diagnostics.push(Diagnostic::new(
            0..input.len(),
            DiagnosticKind::SuiteBReplacesString { keyword, replacement },
        ));
        suite_b = Some(keyword);
        rule_str = replacement;
    } else if input.starts_with("DEFAULT") {
        state.process(DEFAULT_EXPANSION, usize::MAX)?;
        base = if input.as_bytes().get(7) == Some(&b':') {
            8
        } else {
            7
        };
        rule_str = input.get(base..).unwrap_or("");
    }
    if !rule_str.is_empty() {
        state.process(rule_str, if suite_b.is_some() { usize::MAX } else { base })?;
    }
    let suites: Vec<&'static SuiteData> = state
        .order
        .list
        .iter()
        .filter(|&&(_, active)| active)
        .map(|&(i, _)| data(i))
        .collect();
    if suites.is_empty() {
        return Err(Error::NoCipherMatch {
            diagnostics: state.diagnostics,
        });
    }
    Ok(Evaluation {
        suites,
        diagnostics: state.diagnostics,
        security_level: state.security_level,
        suite_b,
    })
}

struct State {
    order: Order,
    diagnostics: Vec<Diagnostic>,
    security_level: Option<u8>,
}

impl State {
    /// `ssl_cipher_process_rulestr`. `base` is the offset of `text` in the caller's string;
    /// `usize::MAX` marks text that is not the caller's (the DEFAULT and Suite B expansions),
    /// which produces no diagnostics.
    fn process(&mut self, text: &str, base: usize) -> Result<(), Error> {
        let own = base != usize::MAX;
        let at = |offset: usize| if own { base + offset } else { 0 };
        let found_char = |offset: usize| text.get(offset..).and_then(|t| t.chars().next());
        let tokens = parse::tokens(text);
        let mut i = 0;
        while let Some(token) = tokens.get(i) {
            i += 1;
            // Where OpenSSL stops reading this item and skips to the next separator.
            let skip_from = match token {
                Token::Separator(_) => None,
                Token::Stray(offset, c) => {
                    return Err(Error::UnexpectedChar {
                        offset: at(*offset),
                        found: Some(*c),
                    });
                }
                Token::Command { end, part, .. } => {
                    match part {
                        Part::Missing(offset) => {
                            return Err(Error::UnexpectedChar {
                                offset: at(*offset),
                                found: found_char(*offset),
                            });
                        }
                        Part::Word(word, offset) => self.command(word, at(*offset))?,
                    }
                    Some(*end)
                }
                Token::Rule { op, start, parts, .. } => match self.combine(parts, text, base)? {
                    Combined::Selector(sel, words_end) => {
                        if own && !SUITES.iter().any(|s| s.enabled && sel.matches(s)) {
                            self.diagnostics.push(Diagnostic::new(
                                at(*start)..at(words_end),
                                DiagnosticKind::MatchesNothing {
                                    text: text.get(*start..words_end).unwrap_or("").to_owned(),
                                },
                            ));
                        }
                        let action = match op {
                            Op::Add => Action::Add,
                            Op::Kill => Action::Kill,
                            Op::Del => Action::Del,
                            Op::Ord => Action::Ord,
                        };
                        self.order.apply(&sel, action);
                        None
                    }
                    Combined::Ignored(resume) => Some(resume),
                },
            };
            if let Some(from) = skip_from {
                // Skip every token up to the next separator (or the end).
                let mut segment_end = text.len();
                while let Some(t) = tokens.get(i) {
                    if let Token::Separator(offset) = t {
                        segment_end = *offset;
                        break;
                    }
                    i += 1;
                }
                let covered = self
                    .diagnostics
                    .last()
                    .is_some_and(|d| d.span.end == at(segment_end));
                if own && from < segment_end && !covered {
                    self.diagnostics.push(Diagnostic::new(
                        at(from)..at(segment_end),
                        DiagnosticKind::SkippedText {
                            text: text.get(from..segment_end).unwrap_or("").to_owned(),
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// `@STRENGTH` and `@SECLEVEL=n`.
    fn command(&mut self, word: &str, offset: usize) -> Result<(), Error> {
        if word == "STRENGTH" {
            self.order.strength_sort();
            return Ok(());
        }
        if let Some(level) = word.strip_prefix("SECLEVEL=") {
            if let [d @ b'0'..=b'5'] = level.as_bytes() {
                let level = d - b'0';
                self.security_level = Some(level);
                self.diagnostics.push(Diagnostic::new(
                    offset.saturating_sub(1)..offset + word.len(),
                    DiagnosticKind::SecurityLevel { level },
                ));
                return Ok(());
            }
        }
        Err(Error::BadCommand {
            offset: offset.saturating_sub(1),
            command: word.to_owned(),
        })
    }

    /// Folds an AND-chain into one selector, as the inner loop of `ssl_cipher_process_rulestr`
    /// does. Returns where OpenSSL would resume skipping when a part is unknown or the parts
    /// exclude each other.
    fn combine(&mut self, parts: &[Part<'_>], text: &str, base: usize) -> Result<Combined, Error> {
        let own = base != usize::MAX;
        let at = |offset: usize| if own { base + offset } else { 0 };
        let mut sel = Selector::default();
        let mut last_end = 0;
        let first = parts.first().map_or(0, |p| match p {
            Part::Word(_, o) | Part::Missing(o) => *o,
        });
        for part in parts {
            let (word, offset) = match part {
                Part::Missing(offset) => {
                    return Err(Error::UnexpectedChar {
                        offset: at(*offset),
                        found: text.get(*offset..).and_then(|t| t.chars().next()),
                    });
                }
                Part::Word(w, o) => (*w, *o),
            };
            let end = offset + word.len();
            let Some(known) = lookup(word) else {
                if own {
                    // `TLS_AES_128_GCM_SHA256` reads as the word `TLS` and skipped text; name
                    // the whole run up to the separator when that explains it better.
                    let run_end = text
                        .get(offset..)
                        .and_then(|t| t.find([':', ' ', ';', ',']))
                        .map_or(text.len(), |i| offset + i);
                    let run = text.get(offset..run_end).unwrap_or(word);
                    let at_start = offset == 0 && base == 0;
                    let mut kind = DiagnosticKind::unknown(word, at_start);
                    let mut span_end = end;
                    if run != word && kind.hint_is_none() {
                        let whole = DiagnosticKind::unknown(run, at_start);
                        if !whole.hint_is_none() {
                            kind = whole;
                            span_end = run_end;
                        }
                    }
                    self.diagnostics
                        .push(Diagnostic::new(at(offset)..at(span_end), kind));
                }
                return Ok(Combined::Ignored(end));
            };
            let (mkey, auth, enc, mac, strength, min_tls, id) = match known {
                Known::Suite(s) => (s.mkey, s.auth, s.enc, s.mac, s.algo_strength, 0, Some(s.id)),
                Known::Alias(a) => (a.mkey, a.auth, a.enc, a.mac, a.algo_strength, a.min_tls, None),
            };
            // The order of these checks is OpenSSL's, and so are its quirks: `cipher_id` is
            // that of the last part (an alias part resets it), and a STRONG class replaces
            // an earlier DEFAULT-class bit (`COMPLEMENTOFDEFAULT+HIGH` selects all of HIGH).
            sel.cipher_id = 0;
            let ok = intersect(&mut sel.mkey, mkey)
                && intersect(&mut sel.auth, auth)
                && intersect(&mut sel.enc, enc)
                && intersect(&mut sel.mac, mac)
                && intersect_strong(&mut sel.algo_strength, strength)
                && intersect_default(&mut sel.algo_strength, strength)
                && match id {
                    Some(id) => {
                        sel.cipher_id = id;
                        true
                    }
                    None if min_tls != 0 => {
                        let ok = sel.min_tls == 0 || sel.min_tls == min_tls;
                        sel.min_tls = min_tls;
                        ok
                    }
                    None => true,
                };
            if !ok {
                if own {
                    let t = text.get(first..end).unwrap_or("").to_owned();
                    self.diagnostics.push(Diagnostic::new(
                        at(first)..at(end),
                        DiagnosticKind::EmptyCombination { text: t },
                    ));
                }
                return Ok(Combined::Ignored(end));
            }
            last_end = end;
        }
        Ok(Combined::Selector(sel, last_end))
    }
}

enum Combined {
    /// Apply this selector; the words end at this offset.
    Selector(Selector, usize),
    /// The item is ignored; OpenSSL skips from this offset to the next separator.
    Ignored(usize),
}

/// `alg &= new` with OpenSSL's "an empty intersection ends the item" rule.
fn intersect(acc: &mut u32, new: u32) -> bool {
    if new == 0 {
        return true;
    }
    if *acc == 0 {
        *acc = new;
        return true;
    }
    *acc &= new;
    *acc != 0
}

/// The STRONG class of `algo_strength` (HIGH/MEDIUM/LOW/FIPS/STRONG_NONE): intersected, or
/// *assigned* (dropping any DEFAULT-class bit set before) when none is set yet.
fn intersect_strong(acc: &mut u32, new: u32) -> bool {
    if new & STRONG_MASK == 0 {
        return true;
    }
    if *acc & STRONG_MASK == 0 {
        *acc = new & STRONG_MASK;
        return true;
    }
    *acc &= (new & STRONG_MASK) | !STRONG_MASK;
    *acc & STRONG_MASK != 0
}

/// The DEFAULT class of `algo_strength` (NOT_DEFAULT): intersected, or added.
fn intersect_default(acc: &mut u32, new: u32) -> bool {
    if new & DEFAULT_MASK == 0 {
        return true;
    }
    if *acc & DEFAULT_MASK == 0 {
        *acc |= new & DEFAULT_MASK;
        return true;
    }
    *acc &= (new & DEFAULT_MASK) | !DEFAULT_MASK;
    *acc & DEFAULT_MASK != 0
}
