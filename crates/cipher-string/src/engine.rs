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
use crate::parse::{self, Chain, Op, Part, Token};
use crate::table::{ALIASES, SUITES};

/// The selection criteria of one rule (the arguments of `ssl_cipher_apply_rule`).
#[derive(Debug, Clone, Copy, Default)]
struct Selector {
    cipher_id: u32,
    /// The row of `cipher_id` in `SUITES` (meaningful only when `cipher_id != 0`).
    cipher_row: u16,
    mkey: u32,
    auth: u32,
    enc: u32,
    mac: u32,
    min_tls: u32,
    algo_strength: u32,
}

/// A set of rows of `SUITES` (188 of them), one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SuiteSet([u64; SET_WORDS]);

const SET_WORDS: usize = SUITES.len().div_ceil(64);

impl SuiteSet {
    fn insert(&mut self, row: usize) {
        if let Some(w) = self.0.get_mut(row / 64) {
            *w |= 1 << (row % 64);
        }
    }
    fn contains(&self, row: u8) -> bool {
        let row = usize::from(row);
        self.0.get(row / 64).is_some_and(|w| w & (1 << (row % 64)) != 0)
    }
    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
    fn and(self, other: Self) -> Self {
        let mut out = self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a &= b;
        }
        out
    }
    fn or(self, other: Self) -> Self {
        let mut out = self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        out
    }
    fn without(self, other: Self) -> Self {
        let mut out = self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a &= !b;
        }
        out
    }
    fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The suite table turned into sets, once: for every bit of every mask the rows that have
/// it, so a selector becomes a handful of ANDs and ORs instead of a walk over the rows.
struct Masks {
    enabled: SuiteSet,
    mkey: [SuiteSet; 32],
    auth: [SuiteSet; 32],
    enc: [SuiteSet; 32],
    mac: [SuiteSet; 32],
    algo_strength: [SuiteSet; 32],
    /// The rows of each `min_tls` value.
    min_tls: Vec<(u32, SuiteSet)>,
    /// The rows of each `strength_bits` value, strongest first.
    strength: Vec<(u32, SuiteSet)>,
}

fn masks() -> &'static Masks {
    static MASKS: OnceLock<Masks> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut m = Masks {
            enabled: SuiteSet::default(),
            mkey: [SuiteSet::default(); 32],
            auth: [SuiteSet::default(); 32],
            enc: [SuiteSet::default(); 32],
            mac: [SuiteSet::default(); 32],
            algo_strength: [SuiteSet::default(); 32],
            min_tls: Vec::new(),
            strength: Vec::new(),
        };
        for (row, s) in SUITES.iter().enumerate() {
            if s.enabled {
                m.enabled.insert(row);
            }
            for (sets, value) in [
                (&mut m.mkey, s.mkey),
                (&mut m.auth, s.auth),
                (&mut m.enc, s.enc),
                (&mut m.mac, s.mac),
                (&mut m.algo_strength, s.algo_strength),
            ] {
                for (bit, set) in sets.iter_mut().enumerate() {
                    if value & (1 << bit) != 0 {
                        set.insert(row);
                    }
                }
            }
            for (list, value) in [(&mut m.min_tls, s.min_tls), (&mut m.strength, s.strength_bits)] {
                match list.iter_mut().find(|(v, _)| *v == value) {
                    Some((_, set)) => set.insert(row),
                    None => {
                        let mut set = SuiteSet::default();
                        set.insert(row);
                        list.push((value, set));
                    }
                }
            }
        }
        m.strength.sort_by_key(|&(bits, _)| std::cmp::Reverse(bits));
        m
    })
}

/// The rows having any bit of `mask`.
fn any_bit(sets: &[SuiteSet; 32], mask: u32) -> SuiteSet {
    let mut out = SuiteSet::default();
    let mut rest = mask;
    while rest != 0 {
        let bit = rest.trailing_zeros();
        rest &= rest - 1;
        if let Some(set) = sets.get(bit as usize) {
            out = out.or(*set);
        }
    }
    out
}

impl Selector {
    /// The enabled rows `ssl_cipher_apply_rule` selects with these criteria (the same tests,
    /// in set form).
    fn select(&self) -> SuiteSet {
        let m = masks();
        let mut s = m.enabled;
        if self.cipher_id != 0 {
            let mut row = SuiteSet::default();
            if SUITES
                .get(usize::from(self.cipher_row))
                .is_some_and(|r| r.id == self.cipher_id)
            {
                row.insert(usize::from(self.cipher_row));
            }
            s = s.and(row);
        }
        for (sets, mask) in [
            (&m.mkey, self.mkey),
            (&m.auth, self.auth),
            (&m.enc, self.enc),
            (&m.mac, self.mac),
            (&m.algo_strength, self.algo_strength & STRONG_MASK),
            (&m.algo_strength, self.algo_strength & DEFAULT_MASK),
        ] {
            if mask != 0 {
                s = s.and(any_bit(sets, mask));
            }
        }
        if self.min_tls != 0 {
            let rows = m.min_tls.iter().find(|(v, _)| *v == self.min_tls);
            s = s.and(rows.map_or(SuiteSet::default(), |&(_, set)| set));
        }
        s
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

/// The linked list of `ssl_create_cipher_list`: rows of `SUITES` in list order, with the
/// active ones and the ones still in the list (not killed) as sets. A killed row keeps its
/// place in `list` but is never selected or listed again, which is the same as removing it.
#[derive(Debug, Clone, Copy)]
struct Order {
    list: [u8; SUITES.len()],
    len: usize,
    alive: SuiteSet,
    active: SuiteSet,
}

fn data(i: u8) -> &'static SuiteData {
    // Rows come only from enumerating SUITES, so `get` always succeeds; the fallback keeps
    // this panic-free all the same.
    SUITES.get(usize::from(i)).unwrap_or(&SUITES[0])
}

impl Order {
    fn rows(&self) -> &[u8] {
        self.list.get(..self.len).unwrap_or_default()
    }

    fn apply(&mut self, sel: &Selector, action: Action) {
        self.apply_set(sel.select(), action);
    }

    fn apply_set(&mut self, selected: SuiteSet, action: Action) {
        match action {
            Action::Kill => {
                self.alive = self.alive.without(selected);
                self.active = self.active.without(selected);
            }
            Action::Add => {
                let moved = selected.and(self.alive).without(self.active);
                self.move_to_end(moved);
                self.active = self.active.or(moved);
            }
            Action::Ord => self.move_to_end(selected.and(self.active)),
            Action::Del => {
                let moved = selected.and(self.active);
                self.move_to_front(moved);
                self.active = self.active.without(moved);
            }
            Action::Bump => self.move_to_front(selected.and(self.active)),
        }
    }

    /// Stable partition: the rows of `moved` go to the end, in list order.
    fn move_to_end(&mut self, moved: SuiteSet) {
        if moved.is_empty() {
            return;
        }
        let mut tail = [0u8; SUITES.len()];
        let (mut kept, mut taken) = (0, 0);
        for k in 0..self.len {
            let Some(&row) = self.list.get(k) else { break };
            let (buf, at) = if moved.contains(row) {
                (&mut tail, &mut taken)
            } else {
                (&mut self.list, &mut kept)
            };
            if let Some(slot) = buf.get_mut(*at) {
                *slot = row;
            }
            *at += 1;
        }
        if let (Some(dst), Some(src)) = (self.list.get_mut(kept..self.len), tail.get(..taken)) {
            dst.copy_from_slice(src);
        }
    }

    /// Stable partition: the rows of `moved` go to the front, in list order.
    fn move_to_front(&mut self, moved: SuiteSet) {
        if moved.is_empty() {
            return;
        }
        let mut out = [0u8; SUITES.len()];
        let mut n = 0;
        for pass_moved in [true, false] {
            for &row in self.rows() {
                if moved.contains(row) == pass_moved {
                    if let Some(slot) = out.get_mut(n) {
                        *slot = row;
                    }
                    n += 1;
                }
            }
        }
        self.list = out;
    }

    /// `ssl_cipher_strength_sort`: ORD by each used strength, strongest first. Amounts to a
    /// stable sort of the active suites by descending strength, moved behind the inactive ones.
    fn strength_sort(&mut self) {
        for &(_, rows) in &masks().strength {
            self.move_to_end(rows.and(self.active));
        }
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
fn master() -> &'static Order {
    static MASTER: OnceLock<Order> = OnceLock::new();
    MASTER.get_or_init(|| {
        // ssl3_get_cipher(u) returns ssl3_ciphers[N - 1 - u]: the id-sorted table backwards.
        let mut o = Order {
            list: [0; SUITES.len()],
            len: 0,
            alive: masks().enabled,
            active: SuiteSet::default(),
        };
        for row in (0..SUITES.len()).rev().filter_map(|i| u8::try_from(i).ok()) {
            if data(row).enabled {
                if let Some(slot) = o.list.get_mut(o.len) {
                    *slot = row;
                }
                o.len += 1;
            }
        }
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
        o
    })
}

/// What a word names in `ca_list`: an enabled suite or an enabled alias.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// The suite and its row in `SUITES`.
    Suite(&'static SuiteData, u16),
    Alias(&'static AliasData),
}

fn lookup(word: &str) -> Option<Known> {
    static CA_LIST: OnceLock<HashMap<&'static str, Known>> = OnceLock::new();
    let map = CA_LIST.get_or_init(|| {
        let mut m = HashMap::new();
        for (row, s) in SUITES.iter().enumerate().filter(|(_, s)| s.enabled) {
            if let Ok(row) = u16::try_from(row) {
                m.entry(s.name).or_insert(Known::Suite(s, row));
            }
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
        order: *master(),
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
    let order = &state.order;
    let mut suites: Vec<&'static SuiteData> = Vec::with_capacity(order.active.len());
    suites.extend(
        order
            .rows()
            .iter()
            .filter(|&&row| order.active.contains(row))
            .map(|&row| data(row)),
    );
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
                Token::Rule { op, start, parts, .. } => match self.combine(*parts, text, base)? {
                    Combined::Selector(sel, words_end) => {
                        let selected = sel.select();
                        if own && selected.is_empty() {
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
                        self.order.apply_set(selected, action);
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
    fn combine(&mut self, parts: Chain<'_>, text: &str, base: usize) -> Result<Combined, Error> {
        let own = base != usize::MAX;
        let at = |offset: usize| if own { base + offset } else { 0 };
        let mut sel = Selector::default();
        let mut last_end = 0;
        let first = parts.offset();
        for part in parts.parts() {
            let (word, offset) = match part {
                Part::Missing(offset) => {
                    return Err(Error::UnexpectedChar {
                        offset: at(offset),
                        found: text.get(offset..).and_then(|t| t.chars().next()),
                    });
                }
                Part::Word(w, o) => (w, o),
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
                Known::Suite(s, row) => (
                    s.mkey,
                    s.auth,
                    s.enc,
                    s.mac,
                    s.algo_strength,
                    0,
                    Some((s.id, row)),
                ),
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
                    Some((id, row)) => {
                        sel.cipher_id = id;
                        sel.cipher_row = row;
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
