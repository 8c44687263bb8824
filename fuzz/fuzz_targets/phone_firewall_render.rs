//! Any `Firewall_Config` text (and any cfg.xml) -> settings -> firewall inputs -> ruleset ->
//! nftables text, never a panic; whatever renders keeps its promises: comments fit nftables'
//! 128 characters and contain no quote, and the listing compares equal to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let xml: Vec<u8> = if selector & 1 == 0 {
        // The bytes as the Firewall_Config value (escaped so they stay text).
        let text = String::from_utf8_lossy(rest)
            .replace('&', "&amp;")
            .replace('<', "&lt;");
        format!("<flat-profile><Firewall_Config>{text}</Firewall_Config></flat-profile>").into_bytes()
    } else {
        rest.to_vec()
    };
    let Ok(parsed) = phone_config::parse(&xml) else {
        return;
    };
    let tr069 = phone_firewall::Tr069Port::new(8000 + u16::from(selector) * 7);
    let Ok(inputs) = phone_firewall::Inputs::from_settings(&parsed.settings, tr069) else {
        return;
    };
    if let Ok(ruleset) = phone_firewall::Ruleset::new(&inputs) {
        let script = ruleset.script();
        assert!(script.starts_with("table inet phone_fw\n"));
        for rule in ruleset.rules() {
            assert!(rule.comment().len() <= phone_firewall::MAX_COMMENT_LEN);
            assert!(!rule.comment().contains('"'));
        }
        assert!(ruleset.compare(ruleset.listing().as_deref()).is_empty());
    }
});
