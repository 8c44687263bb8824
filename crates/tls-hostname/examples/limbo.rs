//! x509-limbo harness: reads `limbo.json` on stdin, writes limbo's result JSON on stdout
//! (the harness protocol of x509-limbo's `harness/README.md`), a score on stderr.
//!
//! `cargo run -p tls-hostname --example limbo [strict|phone|provisioning] < limbo.json`

#[path = "../tests/limbo_support/mod.rs"]
#[allow(dead_code)]
mod limbo_support;

use std::io::Read;

use tls_hostname::Profile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile_name = std::env::args().nth(1).unwrap_or_else(|| "strict".into());
    let profile = Profile::from_name(&profile_name)
        .ok_or_else(|| format!("unknown profile {profile_name:?}: strict, phone or provisioning"))?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let limbo = limbo_support::load(&input)?;
    let outcomes: Vec<_> = limbo
        .testcases
        .iter()
        .map(|tc| limbo_support::evaluate(tc, profile))
        .collect();
    let harness = format!("tls-hostname ({profile_name})");
    let json = limbo_support::results_json(&harness, &outcomes);
    println!("{}", serde_json::to_string_pretty(&json)?);
    let (pass, fail, skip) = limbo_support::score(&outcomes);
    eprintln!(
        "{harness}: {pass} pass / {fail} fail / {skip} skip of {}",
        outcomes.len()
    );
    for o in outcomes
        .iter()
        .filter(|o| !o.as_expected() && o.actual != limbo_support::Actual::Skipped)
    {
        eprintln!("  unexpected {} {}: {}", o.id, o.actual.as_str(), o.context);
    }
    Ok(())
}
