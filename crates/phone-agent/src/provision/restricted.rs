//! `Restricted_Access_Domains` (SPEC §1) for what is not a profile fetch: the hosts of
//! `Proxy_n_` / `Outbound_Proxy_n_` before a line connects (and, through
//! `AgentResolver::restricted` in `sip::locate`, every name RFC 3263 leads to), and of
//! `Upgrade_Rule`, `Cisco_Headset_Upgrade_Rule`, `Report_Rule`, `Custom_CA_Rule` before they
//! are fetched. A refused host is an error naming the setting, never a skip.

use phone_config::Settings;
use phone_provisioning::{Refused, RestrictedDomains};

/// The list of `Restricted_Access_Domains` (empty: everything allowed).
pub fn domains(settings: &Settings) -> RestrictedDomains {
    RestrictedDomains::from_domains(
        settings
            .restricted_access
            .restricted_access_domains
            .get()
            .domains(),
    )
}

/// Line `n`'s `Proxy_n_` and `Outbound_Proxy_n_` hosts against the list.
pub fn check_line(settings: &Settings, n: usize) -> Result<(), Refused> {
    let list = domains(settings);
    let Some(line) = settings.line(n) else {
        return Ok(());
    };
    if let Some(p) = line.proxy.get() {
        list.check(&p.host.to_string(), &format!("Proxy_{n}_"))?;
    }
    if let Some(p) = line.outbound_proxy.get() {
        list.check(&p.host.to_string(), &format!("Outbound_Proxy_{n}_"))?;
    }
    Ok(())
}

/// The host of a URL-valued rule (`Upgrade_Rule`, `Report_Rule`, …) against the list, before
/// the host fetches it; a rule naming no host (the DHCP server) is checked by the fetch.
pub fn check_rule_url(settings: &Settings, setting: &str, url: &str) -> Result<(), String> {
    let parsed = phone_provisioning::RequestUrl::parse(url).map_err(|e| format!("{setting}: {e}"))?;
    match parsed.host {
        Some(host) => domains(settings).check(&host, setting).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(xml: &str) -> Settings {
        phone_config::parse(xml.as_bytes())
            .map(|p| p.settings)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sip_proxies_and_rule_urls_are_checked_naming_the_setting() {
        let s = settings(
            "<flat-profile><Restricted_Access_Domains>voiceip.com</Restricted_Access_Domains>\
             <Proxy_1_>sip.voiceip.com</Proxy_1_><Outbound_Proxy_1_>edge.evil.test</Outbound_Proxy_1_>\
             <Proxy_2_>10.0.0.1</Proxy_2_></flat-profile>",
        );
        let e = check_line(&s, 1).unwrap_err().to_string();
        assert!(
            e.contains("edge.evil.test") && e.contains("Outbound_Proxy_1_"),
            "{e}"
        );
        let e = check_line(&s, 2).unwrap_err().to_string();
        assert!(e.contains("Proxy_2_"), "{e}");
        assert!(check_rule_url(&s, "Upgrade_Rule", "https://fw.voiceip.com/sip.loads").is_ok());
        let e = check_rule_url(&s, "Report_Rule", "http://upload.example.net/r").unwrap_err();
        assert!(
            e.contains("Report_Rule") && e.contains("upload.example.net"),
            "{e}"
        );
        let open = settings("<flat-profile><Proxy_1_>anything.test</Proxy_1_></flat-profile>");
        assert!(check_line(&open, 1).is_ok());
    }
}
