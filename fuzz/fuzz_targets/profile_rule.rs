//! Profile rules and macro expansion: parse any text as a rule, evaluate it with a device's
//! macros (conditions, assignments, options, URL), expand it as a log message, and check the
//! URL's host against a Restricted_Access_Domains list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phone_provisioning::{Macros, ProfileRule, RequestUrl, RestrictedDomains};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut macros = Macros::for_device([0, 0x0e, 8, 0xab, 0xcd, 0xef], "CP-7832-3PCC", "7832", "FCH1", true);
    macros.set("SWVER", "sip7832.11-3-2MPP0001-609");
    macros.set("A", "$MA$(MA:2:3)");
    let _ = macros.expand(text);
    let _ = RequestUrl::parse(text);
    let domains = RestrictedDomains::parse(text);
    let _ = domains.check("prov.example.com", "Profile_Rule");
    if let Ok(rule) = ProfileRule::parse(text) {
        if let Ok(Some(selected)) = rule.evaluate(&macros) {
            if let Some(host) = selected.url.as_ref().and_then(|u| u.host.as_deref()) {
                let _ = RestrictedDomains::parse("example.com").check(host, "Profile_Rule");
            }
        }
    }
});
