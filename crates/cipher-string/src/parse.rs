//! The pest grammar (`cipher_string.pest`) and its token stream.

use pest::Parser as _;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "cipher_string.pest"]
struct Grammar;

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
        parts: Vec<Part<'a>>,
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

/// Splits `text` into tokens. The grammar accepts every string, so this cannot fail; should
/// pest ever report an error, the whole text is returned as one stray character, which the
/// evaluator turns into a typed error rather than a panic.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let Ok(mut pairs) = Grammar::parse(Rule::cipher_string, text) else {
        return vec![Token::Stray(0, text.chars().next().unwrap_or('\0'))];
    };
    let mut out = Vec::new();
    let Some(top) = pairs.next() else {
        return out;
    };
    for pair in top.into_inner() {
        match pair.as_rule() {
            Rule::separator => out.push(Token::Separator(pair.as_span().start())),
            Rule::item => {
                if let Some(token) = item(pair) {
                    out.push(token);
                }
            }
            _ => {}
        }
    }
    out
}

fn item(pair: pest::iterators::Pair<'_, Rule>) -> Option<Token<'_>> {
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
                let part = inner.into_inner().next().map(part)?;
                return Some(Token::Command { start, end, part });
            }
            Rule::chain => parts.extend(inner.into_inner().map(part)),
            Rule::missing => parts.push(Part::Missing(inner.as_span().start())),
            Rule::stray => {
                let c = inner.as_str().chars().next().unwrap_or('\0');
                return Some(Token::Stray(start, c));
            }
            _ => {}
        }
    }
    Some(Token::Rule {
        op,
        start,
        end,
        parts,
    })
}

fn part(pair: pest::iterators::Pair<'_, Rule>) -> Part<'_> {
    let start = pair.as_span().start();
    match pair.as_rule() {
        Rule::word => Part::Word(pair.as_str(), start),
        _ => Part::Missing(start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_words_and_chains() {
        let t = tokens("!RSA:-kECDHE+AESGCM,@STRENGTH");
        assert_eq!(
            t,
            vec![
                Token::Rule {
                    op: Op::Kill,
                    start: 0,
                    end: 4,
                    parts: vec![Part::Word("RSA", 1)]
                },
                Token::Separator(4),
                Token::Rule {
                    op: Op::Del,
                    start: 5,
                    end: 19,
                    parts: vec![Part::Word("kECDHE", 6), Part::Word("AESGCM", 13)]
                },
                Token::Separator(19),
                Token::Command {
                    start: 20,
                    end: 29,
                    part: Part::Word("STRENGTH", 21)
                },
            ]
        );
    }

    #[test]
    fn a_dash_after_an_operator_belongs_to_the_word() {
        assert_eq!(
            tokens("--RSA"),
            vec![Token::Rule {
                op: Op::Del,
                start: 0,
                end: 5,
                parts: vec![Part::Word("-RSA", 1)]
            }]
        );
    }

    #[test]
    fn missing_words_and_stray_characters_are_tokens() {
        assert_eq!(
            tokens("RSA+:!"),
            vec![
                Token::Rule {
                    op: Op::Add,
                    start: 0,
                    end: 4,
                    parts: vec![Part::Word("RSA", 0), Part::Missing(4)]
                },
                Token::Separator(4),
                Token::Rule {
                    op: Op::Kill,
                    start: 5,
                    end: 6,
                    parts: vec![Part::Missing(6)]
                },
            ]
        );
        assert_eq!(tokens("*é"), vec![Token::Stray(0, '*'), Token::Stray(1, 'é')]);
    }

    #[test]
    fn items_follow_each_other_without_separators() {
        let t = tokens("RSA!AES@STRENGTH");
        assert_eq!(t.len(), 3);
    }
}
