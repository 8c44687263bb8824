//! psl-lite answers as the `psl` crate does, whose rules it carries: on every rule, on names
//! under and around each rule, and on malformed names.

const RULES: &str = include_str!("../data/rules.txt");

fn names() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        ".",
        "..",
        "a..",
        "com",
        "com.",
        "a..com",
        ".com",
        "x",
        "example.com",
        "www.example.co.uk",
        "www.ck",
        "a.www.ck",
        "a.b.ck",
        "ck",
        "unknown-tld",
        "a.b.unknown-tld",
        "*.com",
        "!www.ck",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for rule in RULES.lines() {
        let body = rule.trim_start_matches('!').trim_start_matches("*.");
        for name in [
            body.to_owned(),
            format!("x.{body}"),
            format!("y.x.{body}"),
            format!("{body}."),
            format!("x.{body}."),
            rule.to_owned(),
        ] {
            out.push(name);
        }
        if let Some((_, parent)) = body.split_once('.') {
            out.push(parent.to_owned());
            out.push(format!("x.{parent}"));
        }
    }
    out
}

/// The same answers as `psl`, except where `psl` stops a wildcard rule `*.P` at a name
/// `L.P` because the list also has deeper rules under `L.P` (`*.futurecms.at` and
/// `*.ex.futurecms.at`: `psl` says `ex.futurecms.at` has the suffix `at`). The list's
/// algorithm says the wildcard matches `ex`, so the suffix is `ex.futurecms.at`; psl-lite
/// answers that. Each difference is checked to be exactly this case.
#[test]
fn every_rule_and_the_names_around_it() {
    let names = names();
    assert!(names.len() > 60_000, "{}", names.len());
    let rules: std::collections::HashSet<&str> = RULES.lines().collect();
    let mut differ = Vec::new();
    for name in &names {
        let (ours, theirs) = (psl_lite::suffix(name), psl::suffix_str(name));
        if ours == theirs {
            continue;
        }
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let wildcard_match = ours == Some(trimmed)
            && trimmed
                .split_once('.')
                .is_some_and(|(_, parent)| rules.contains(format!("*.{parent}").as_str()))
            && rules.iter().any(|r| r.ends_with(&format!(".{trimmed}")));
        assert!(wildcard_match, "{name:?}: {ours:?} vs psl {theirs:?}");
        differ.push(name);
    }
    eprintln!(
        "{} names, {} differ from psl (all a wildcard rule over a name with deeper rules)",
        names.len(),
        differ.len()
    );
    assert!(differ.len() < 100, "{}", differ.len());
}

#[test]
fn the_rule_text_is_sorted_and_unique() {
    let lines: Vec<&str> = RULES.lines().collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]));
    assert!(RULES.ends_with('\n'));
}
