//! The token stream of a cipher string: a hand-written scanner for the grammar in
//! `cipher_string.pest`. The grammar itself is the specification; the tests run pest on it and
//! compare (pest costs about a quarter of a 20-word evaluation, so it is not on the hot path).

/// What an item does (`ssl_cipher_process_rulestr`: CIPHER_ADD, _KILL, _DEL, _ORD, _SPECIAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Kill,
    Del,
    Ord,
}

/// One part of an AND-chain, or of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    /// A word and its byte offset.
    Word(&'a str, usize),
    /// No word where one was expected, at this byte offset.
    Missing(usize),
}

/// The words of an AND-chain (`kECDHE+AESGCM`): the chain's text and its offset. Its parts
/// are the `+`-separated pieces; an empty piece is a missing word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chain<'a> {
    text: &'a str,
    offset: usize,
}

impl<'a> Chain<'a> {
    /// The parts in order, each a word or a missing word with its offset.
    pub(crate) fn parts(self) -> impl Iterator<Item = Part<'a>> {
        let mut offset = self.offset;
        self.text.split('+').map(move |piece| {
            let part = if piece.is_empty() {
                Part::Missing(offset)
            } else {
                Part::Word(piece, offset)
            };
            offset += piece.len() + 1;
            part
        })
    }

    /// The offset of the first part.
    pub(crate) fn offset(self) -> usize {
        self.offset
    }
}

/// One token of the cipher string. Offsets are relative to the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A separator (`:`, ` `, `;`, `,`) at this offset.
    Separator(usize),
    /// `op word(+word)*`, starting at `start` (the operator's offset, if any).
    Rule {
        op: Op,
        start: usize,
        end: usize,
        parts: Chain<'a>,
    },
    /// `@word`.
    Command {
        start: usize,
        end: usize,
        part: Part<'a>,
    },
    /// A character that starts no item.
    Stray(usize, char),
}

/// `word` of the grammar: `[A-Za-z0-9.=-]`.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'=')
}

/// The end of the word starting at `at` (`at` itself when there is none).
fn word_end(bytes: &[u8], at: usize) -> usize {
    at + bytes
        .get(at..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| is_word_byte(b)).count())
}

/// Splits `text` into tokens exactly as the grammar in `cipher_string.pest` does (`tests`
/// checks the two against each other). Every string is accepted: bytes OpenSSL rejects become
/// `Stray` tokens and `Missing` parts, which the evaluator turns into errors where OpenSSL
/// reaches them.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let start = at;
        match b {
            b':' | b' ' | b';' | b',' => {
                out.push(Token::Separator(at));
                at += 1;
            }
            b'@' => {
                let end = word_end(bytes, at + 1);
                let part = match text.get(at + 1..end) {
                    Some(word) if end > at + 1 => Part::Word(word, at + 1),
                    _ => Part::Missing(at + 1),
                };
                out.push(Token::Command { start, end, part });
                at = end;
            }
            _ if b == b'!' || b == b'-' || b == b'+' || is_word_byte(b) => {
                let (op, from) = match b {
                    b'!' => (Op::Kill, at + 1),
                    b'-' => (Op::Del, at + 1),
                    b'+' => (Op::Ord, at + 1),
                    _ => (Op::Add, at),
                };
                // chain = word ~ ("+" ~ (word | missing))*, or a missing word after an operator.
                let mut end = word_end(bytes, from);
                if end > from {
                    while bytes.get(end) == Some(&b'+') {
                        end = word_end(bytes, end + 1);
                    }
                }
                let parts = Chain {
                    text: text.get(from..end).unwrap_or(""),
                    offset: from,
                };
                out.push(Token::Rule {
                    op,
                    start,
                    end,
                    parts,
                });
                at = end;
            }
            _ => {
                let c = text.get(at..).and_then(|t| t.chars().next()).unwrap_or('\0');
                out.push(Token::Stray(at, c));
                at += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use pest::Parser as _;
    use pest_derive::Parser;
    use proptest::prelude::*;

    use super::*;

    /// The specification: pest over the grammar file.
    #[derive(Parser)]
    #[grammar = "cipher_string.pest"]
    struct Grammar;

    /// A token with its parts spelled out, the form both scanners are compared in.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Flat<'a> {
        Separator(usize),
        Rule(Op, usize, usize, Vec<Part<'a>>),
        Command(usize, usize, Part<'a>),
        Stray(usize, char),
    }

    fn flat(text: &str) -> Vec<Flat<'_>> {
        tokens(text)
            .into_iter()
            .map(|t| match t {
                Token::Separator(o) => Flat::Separator(o),
                Token::Rule {
                    op,
                    start,
                    end,
                    parts,
                } => Flat::Rule(op, start, end, parts.parts().collect()),
                Token::Command { start, end, part } => Flat::Command(start, end, part),
                Token::Stray(o, c) => Flat::Stray(o, c),
            })
            .collect()
    }

    fn pest_flat(text: &str) -> Vec<Flat<'_>> {
        let top = Grammar::parse(Rule::cipher_string, text)
            .unwrap_or_else(|e| panic!("the grammar accepts every string: {e}"))
            .next()
            .unwrap_or_else(|| panic!("no top pair"));
        let mut out = Vec::new();
        for pair in top.into_inner() {
            match pair.as_rule() {
                Rule::separator => out.push(Flat::Separator(pair.as_span().start())),
                Rule::item => out.push(pest_item(pair)),
                _ => {}
            }
        }
        out
    }

    fn pest_item(pair: pest::iterators::Pair<'_, Rule>) -> Flat<'_> {
        let span = pair.as_span();
        let (start, end) = (span.start(), span.end());
        let mut op = Op::Add;
        let mut parts = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::operator => {
                    op = match inner.as_str() {
                        "!" => Op::Kill,
                        "-" => Op::Del,
                        _ => Op::Ord,
                    }
                }
                Rule::command => {
                    let part = inner
                        .into_inner()
                        .next()
                        .map(pest_part)
                        .unwrap_or(Part::Missing(end));
                    return Flat::Command(start, end, part);
                }
                Rule::chain => parts.extend(inner.into_inner().map(pest_part)),
                Rule::missing => parts.push(Part::Missing(inner.as_span().start())),
                Rule::stray => return Flat::Stray(start, inner.as_str().chars().next().unwrap_or('\0')),
                _ => {}
            }
        }
        Flat::Rule(op, start, end, parts)
    }

    fn pest_part(pair: pest::iterators::Pair<'_, Rule>) -> Part<'_> {
        let start = pair.as_span().start();
        match pair.as_rule() {
            Rule::word => Part::Word(pair.as_str(), start),
            _ => Part::Missing(start),
        }
    }

    #[test]
    fn operators_words_and_chains() {
        let t = flat("!RSA:-kECDHE+AESGCM,@STRENGTH");
        assert_eq!(
            t,
            vec![
                Flat::Rule(Op::Kill, 0, 4, vec![Part::Word("RSA", 1)]),
                Flat::Separator(4),
                Flat::Rule(
                    Op::Del,
                    5,
                    19,
                    vec![Part::Word("kECDHE", 6), Part::Word("AESGCM", 13)]
                ),
                Flat::Separator(19),
                Flat::Command(20, 29, Part::Word("STRENGTH", 21)),
            ]
        );
    }

    #[test]
    fn a_dash_after_an_operator_belongs_to_the_word() {
        assert_eq!(
            flat("--RSA"),
            vec![Flat::Rule(Op::Del, 0, 5, vec![Part::Word("-RSA", 1)])]
        );
    }

    #[test]
    fn missing_words_and_stray_characters_are_tokens() {
        assert_eq!(
            flat("RSA+:!"),
            vec![
                Flat::Rule(Op::Add, 0, 4, vec![Part::Word("RSA", 0), Part::Missing(4)]),
                Flat::Separator(4),
                Flat::Rule(Op::Kill, 5, 6, vec![Part::Missing(6)]),
            ]
        );
        assert_eq!(flat("*é"), vec![Flat::Stray(0, '*'), Flat::Stray(1, 'é')]);
        assert_eq!(flat("@"), vec![Flat::Command(0, 1, Part::Missing(1))]);
    }

    #[test]
    fn items_follow_each_other_without_separators() {
        let t = flat("RSA!AES@STRENGTH");
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn the_scanner_is_the_grammar_on_the_golden_corpus() {
        let corpus = include_str!("../tests/data/openssl-1.1.1d.golden");
        let mut n = 0;
        for line in corpus.lines().filter(|l| !l.starts_with('#')) {
            let text = line.split('\t').next().unwrap_or("");
            assert_eq!(flat(text), pest_flat(text), "{text:?}");
            n += 1;
        }
        assert!(n > 8000, "{n} corpus strings");
    }

    proptest! {
        #[test]
        fn the_scanner_is_the_grammar(text in "[-+!@:;, .=A-Za-z0-9*é\\t]{0,40}") {
            prop_assert_eq!(flat(&text), pest_flat(&text));
        }
    }
}
