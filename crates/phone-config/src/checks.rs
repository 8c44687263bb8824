//! Checks that look at more than one parameter.

use crate::diagnostic::{Diagnostic, Kind, Location, Severity};
use crate::host::{DomainList, Host, ProvisioningRule};
use crate::raw::LineIndex;
use crate::settings::Settings;
use crate::value::{Dot1xMethod, FastInnerMethod, FastProvisioning, Origin, ProxyMode, SipTransport, Value};

pub(crate) fn check(s: &Settings, index: &LineIndex<'_>, out: &mut Vec<Diagnostic>) {
    restricted_domains(s, index, out);
    cipher_list(s, index, out);
    rtp_range(s, out);
    ldap(s, out);
    http_proxy(s, out);
    lines(s, out);
    dot1x(s, out);
}

/// SPEC §12: EAP-FAST needs the shared secret; anonymous provisioning trusts the first server
/// that answers until the inner MSCHAPv2 proves it knows the password.
fn dot1x(s: &Settings, out: &mut Vec<Diagnostic>) {
    let d = &s.dot1x;
    if *d.agent_802_1x_method.get() != Dot1xMethod::EapFast {
        return;
    }
    let on = d.enable_802_1x_authentication.get().0;
    if d.agent_802_1x_password.get().expose().is_empty() {
        out.push(
            diag(
                if on { Severity::Error } else { Severity::Warning },
                Kind::Value,
                "Agent_802.1X_Method",
                &d.agent_802_1x_method,
                "EAP-FAST needs the shared secret, but Agent_802.1X_Password is empty".into(),
            )
            .hint("set Agent_802.1X_Password (or give phone-agent --password)"),
        );
    }
    if matches!(
        d.agent_eap_fast_provisioning.get(),
        FastProvisioning::Anonymous | FastProvisioning::Both
    ) && from_file(&d.agent_eap_fast_provisioning)
    {
        out.push(
            diag(
                Severity::Note,
                Kind::Value,
                "Agent_EAP_FAST_Provisioning",
                &d.agent_eap_fast_provisioning,
                "anonymous PAC provisioning: the first PAC comes from whichever server answers, \
                 authenticated only by the inner MSCHAPv2 exchange"
                    .into(),
            )
            .hint("2 (server-authenticated, with the CA) avoids it once the CA is on the phone"),
        );
    }
    if *d.agent_eap_fast_inner_method.get() == FastInnerMethod::Gtc
        && *d.agent_eap_fast_provisioning.get() == FastProvisioning::Anonymous
    {
        out.push(
            diag(
                Severity::Warning,
                Kind::Value,
                "Agent_EAP_FAST_Inner_Method",
                &d.agent_eap_fast_inner_method,
                "anonymous provisioning allows only MSCHAPv2 (RFC 5422): with GTC the phone cannot \
                 get its first PAC"
                    .into(),
            )
            .hint(
                "keep MSCHAPv2, or provision with the server's certificate (Agent_EAP_FAST_Provisioning 2)",
            ),
        );
    }
}

fn diag<T>(severity: Severity, kind: Kind, name: &str, at: &Value<T>, message: String) -> Diagnostic {
    Diagnostic::new(severity, kind, message)
        .param(name)
        .at(at.location())
}

fn from_file<T>(v: &Value<T>) -> bool {
    matches!(v.origin(), Origin::File(_))
}

/// SPEC §1: every server named by these parameters must be inside the list.
fn restricted_domains(s: &Settings, index: &LineIndex<'_>, out: &mut Vec<Diagnostic>) {
    let list = s.restricted_access.restricted_access_domains.get();
    if list.is_empty() {
        return;
    }
    let p = &s.provisioning;
    let rules: [(&str, &Value<Option<ProvisioningRule>>); 8] = [
        ("Profile_Rule", &p.profile_rule),
        ("Profile_Rule_B", &p.profile_rule_b),
        ("Profile_Rule_C", &p.profile_rule_c),
        ("Profile_Rule_D", &p.profile_rule_d),
        ("Upgrade_Rule", &p.upgrade_rule),
        ("Cisco_Headset_Upgrade_Rule", &p.cisco_headset_upgrade_rule),
        ("Report_Rule", &p.report_rule),
        ("Custom_CA_Rule", &p.custom_ca_rule),
    ];
    for (name, value) in rules {
        let Some(rule) = value.get() else { continue };
        for alt in &rule.alternatives {
            match &alt.host {
                Some(host) => {
                    let at = offset_location(index, value, alt.host_offset.unwrap_or(0));
                    check_host(list, name, at, host, out);
                }
                None if from_file(value) && alt.path.is_some() => out.push(
                    diag(Severity::Note, Kind::RestrictedDomain, name, value,
                         "the rule names no server: it uses the one DHCP gives, which the phone checks against Restricted_Access_Domains when it provisions".into()),
                ),
                None => {}
            }
        }
    }
    for (i, line) in s.lines.iter().enumerate() {
        for (base, value) in [("Proxy", &line.proxy), ("Outbound_Proxy", &line.outbound_proxy)] {
            if let Some(hp) = value.get() {
                let name = format!("{base}_{}_", i + 1);
                check_host(list, &name, offset_location(index, value, 0), &hp.host, out);
            }
        }
    }
}

/// Where a byte offset inside a value is: exact when the file spells the value literally.
fn offset_location<T>(index: &LineIndex<'_>, value: &Value<T>, offset: usize) -> Option<Location> {
    match value.span() {
        Some(start) => Some(index.location(start + offset)),
        None => value.location(),
    }
}

fn check_host(list: &DomainList, name: &str, at: Option<Location>, host: &Host, out: &mut Vec<Diagnostic>) {
    match list.allows(host) {
        Some(true) => {}
        Some(false) => {
            let hint = match host {
                Host::Ipv4(_) | Host::Ipv6(_) => "an IP address is never inside a list of domains; use the server's DNS name".to_owned(),
                _ => format!("the phone refuses this server; add its domain to Restricted_Access_Domains or use a server under {list}"),
            };
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    Kind::RestrictedDomain,
                    format!("`{host}` is not inside Restricted_Access_Domains ({list})"),
                )
                .param(name)
                .at(at)
                .hint(hint),
            );
        }
        None => out.push(
            Diagnostic::new(
                Severity::Warning,
                Kind::RestrictedDomain,
                format!("the server `{host}` is a macro and cannot be checked against Restricted_Access_Domains here"),
            )
            .param(name)
            .at(at)
            .hint("the phone checks the expanded name; make sure the macro expands to a host inside the list"),
        ),
    }
}

/// SPEC §9: the cipher string in OpenSSL 1.1.1d's own terms (`cipher-string`), and what is
/// left of it for a rustls client.
fn cipher_list(s: &Settings, index: &LineIndex<'_>, out: &mut Vec<Diagnostic>) {
    let value = &s.tls.tls_cipher_list;
    let text = value.get().as_str();
    if text.trim().is_empty() {
        return;
    }
    let at = |offset: usize| offset_location(index, value, offset);
    let default_note = "each TLS application then uses its own default (SPEC §9)";
    let list = match cipher_string::CipherList::parse(text) {
        Ok(list) => list,
        Err(e) => {
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    Kind::CipherList,
                    format!("OpenSSL 1.1.1d refuses `{text}`: {e}"),
                )
                .param("TLS_Cipher_List")
                .at(at(e.offset().unwrap_or(0)))
                .hint(default_note),
            );
            return;
        }
    };
    for d in list.diagnostics() {
        let severity = if d.is_warning() {
            Severity::Warning
        } else {
            Severity::Note
        };
        out.push(
            Diagnostic::new(severity, Kind::CipherList, d.kind.to_string())
                .param("TLS_Cipher_List")
                .at(at(d.span.start)),
        );
    }
    #[cfg(feature = "rustls")]
    {
        let provider = rustls::crypto::ring::default_provider();
        let projection = list.rustls_suites(&provider);
        if projection.is_empty() {
            let why: Vec<String> = projection
                .dropped()
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect();
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    Kind::CipherList,
                    format!(
                        "`{text}` selects {} OpenSSL suites but none a rustls client can negotiate ({}{})",
                        list.suites().len(),
                        why.join("; "),
                        if projection.dropped().len() > 3 { "; ..." } else { "" }
                    ),
                )
                .param("TLS_Cipher_List")
                .at(value.location())
                .hint(format!("phone-agent's TLS clients ignore it: {default_note}; add ECDHE+AESGCM or ECDHE+CHACHA20 suites")),
            );
        }
    }
}

fn rtp_range(s: &Settings, out: &mut Vec<Diagnostic>) {
    let f = &s.firewall;
    if f.rtp_port_min.get() > f.rtp_port_max.get() {
        out.push(
            diag(
                Severity::Error,
                Kind::Value,
                "RTP_Port_Max",
                &f.rtp_port_max,
                format!(
                    "RTP_Port_Max ({}) is below RTP_Port_Min ({})",
                    f.rtp_port_max.get(),
                    f.rtp_port_min.get()
                ),
            )
            .hint("RTP_Port_Min must not be greater than RTP_Port_Max"),
        );
    }
}

/// SPEC §5: the URL scheme decides TLS; StartTLS only upgrades `ldap://`; what phone-agent's
/// directory client will refuse (clear text without `Agent_LDAP_Allow_Clear_Text`).
fn ldap(s: &Settings, out: &mut Vec<Diagnostic>) {
    let l = &s.ldap;
    let allow_clear = l.agent_ldap_allow_clear_text.get().0;
    if allow_clear && from_file(&l.agent_ldap_allow_clear_text) {
        out.push(
            diag(Severity::Warning, Kind::Ldap, "Agent_LDAP_Allow_Clear_Text", &l.agent_ldap_allow_clear_text,
                 "the directory client may continue in clear text when the server refuses StartTLS, and bind with a password over ldap://".into())
            .hint("set it to No: directory look-ups and credentials can then only travel over TLS"),
        );
    }
    let Some(server) = l.ldap_server.get() else {
        if l.ldap_starttls_enable.get().0 && from_file(&l.ldap_starttls_enable) {
            out.push(diag(
                Severity::Note,
                Kind::Ldap,
                "LDAP_StartTLS_Enable",
                &l.ldap_starttls_enable,
                "StartTLS is enabled but no LDAP_Server is set".into(),
            ));
        }
        if l.ldap_dir_enable.get().0 {
            out.push(
                diag(
                    Severity::Error,
                    Kind::Ldap,
                    "LDAP_Dir_Enable",
                    &l.ldap_dir_enable,
                    "the corporate directory is enabled but LDAP_Server is not set".into(),
                )
                .hint(
                    "set LDAP_Server to ldaps://host[:port] (or ldap://host with LDAP_StartTLS_Enable Yes)",
                ),
            );
        }
        return;
    };
    let starttls = l.ldap_starttls_enable.get().0;
    let method = *l.ldap_auth_method.get();
    if server.is_ldaps() {
        if starttls {
            out.push(
                diag(Severity::Warning, Kind::Ldap, "LDAP_StartTLS_Enable", &l.ldap_starttls_enable,
                     format!("StartTLS has no effect with `{server}`: an ldaps:// connection is TLS from its first byte"))
                .hint("set LDAP_StartTLS_Enable to No, or use ldap:// to upgrade with StartTLS"),
            );
        }
    } else if starttls {
        let message = if allow_clear {
            "when the server does not support StartTLS, the directory client continues in clear text \
             (Agent_LDAP_Allow_Clear_Text is Yes), as the guide says the phone does"
        } else {
            "when the server does not support StartTLS, the directory client refuses to continue \
             (the guide says the phone continues in clear text)"
        };
        out.push(
            diag(
                Severity::Note,
                Kind::Ldap,
                "LDAP_StartTLS_Enable",
                &l.ldap_starttls_enable,
                message.into(),
            )
            .hint("use ldaps:// where the directory offers it: TLS cannot then be skipped"),
        );
    } else if method != crate::LdapAuthMethod::None && !allow_clear {
        let why = if method == crate::LdapAuthMethod::Simple {
            "the password would travel in clear text"
        } else {
            "whoever reads the exchange can guess the password offline"
        };
        out.push(
            diag(Severity::Error, Kind::Ldap, "LDAP_Auth_Method", &l.ldap_auth_method,
                 format!("{method} bind over `{server}` without StartTLS: {why}, and phone-agent's directory client refuses to bind"))
            .at(l.ldap_auth_method.location().or(l.ldap_server.location()))
            .hint("use ldaps://, or set LDAP_StartTLS_Enable to Yes"),
        );
    } else {
        let what = match method {
            crate::LdapAuthMethod::None => "directory look-ups",
            crate::LdapAuthMethod::Simple => "directory look-ups and the bind password",
            crate::LdapAuthMethod::DigestMd5 => {
                "directory look-ups (the DIGEST-MD5 password itself is not sent)"
            }
        };
        out.push(
            diag(
                Severity::Warning,
                Kind::Ldap,
                "LDAP_Server",
                &l.ldap_server,
                format!("`{server}` without StartTLS: {what} travel in clear text"),
            )
            .hint("use ldaps://, or set LDAP_StartTLS_Enable to Yes"),
        );
    }
    match method {
        crate::LdapAuthMethod::None => {}
        crate::LdapAuthMethod::Simple => {
            if l.ldap_client_dn.get().is_empty() && !l.ldap_password.get().is_empty() {
                out.push(
                    diag(Severity::Warning, Kind::Ldap, "LDAP_Client_DN", &l.ldap_auth_method,
                         "Simple bind with a password but no LDAP_Client_DN: the password is not used (an anonymous bind)".into())
                    .hint("set LDAP_Client_DN to the bind DN (or user@domain for Active Directory)"),
                );
            } else if !l.ldap_client_dn.get().is_empty() && l.ldap_password.get().is_empty() {
                out.push(
                    diag(Severity::Warning, Kind::Ldap, "LDAP_Password", &l.ldap_auth_method,
                         "Simple bind with LDAP_Client_DN but no LDAP_Password: an unauthenticated bind (RFC 4513 §5.1.2), which servers refuse".into())
                    .hint("set LDAP_Password, or clear LDAP_Client_DN for an anonymous bind"),
                );
            }
        }
        crate::LdapAuthMethod::DigestMd5 => {
            if l.ldap_user_name.get().is_empty() || l.ldap_password.get().is_empty() {
                out.push(
                    diag(
                        Severity::Error,
                        Kind::Ldap,
                        "LDAP_Auth_Method",
                        &l.ldap_auth_method,
                        "DIGEST-MD5 needs LDAP_User_Name and LDAP_Password".into(),
                    )
                    .hint("set both, or use LDAP_Auth_Method None or Simple"),
                );
            }
            if matches!(server.0.host, crate::Host::Ipv4(_) | crate::Host::Ipv6(_)) {
                out.push(
                    diag(Severity::Warning, Kind::Ldap, "LDAP_Server", &l.ldap_server,
                         format!("DIGEST-MD5 names the server in its digest-uri (`ldap/{}`): the guide asks for a host name, and a server may refuse an IP address", server.0.host))
                    .hint("write the directory's host name in LDAP_Server"),
                );
            }
            out.push(
                diag(Severity::Note, Kind::Ldap, "LDAP_Auth_Method", &l.ldap_auth_method,
                     "DIGEST-MD5 is historic (RFC 6331): it rests on MD5 and the server keeps the password in clear".into())
                .hint("prefer Simple over ldaps:// or StartTLS"),
            );
        }
    }
    if l.ldap_dir_enable.get().0 {
        let filters = [
            &l.ldap_last_name_filter,
            &l.ldap_first_name_filter,
            &l.ldap_item_3_filter,
            &l.ldap_item_4_filter,
        ];
        if filters.iter().all(|f| f.get().is_none()) {
            out.push(
                diag(Severity::Warning, Kind::Ldap, "LDAP_Dir_Enable", &l.ldap_dir_enable,
                     "the corporate directory is enabled but no search filter is set".into())
                .hint("set LDAP_Last_Name_Filter (e.g. sn:(sn=$VALUE*)) and LDAP_First_Name_Filter (e.g. cn:(cn=$VALUE*))"),
            );
        }
    }
}

/// SPEC §13.
fn http_proxy(s: &Settings, out: &mut Vec<Diagnostic>) {
    let p = &s.http_proxy;
    let mode = *p.proxy_mode.get();
    match mode {
        ProxyMode::Manual if p.proxy_host.get().is_none() => out.push(
            diag(
                Severity::Error,
                Kind::HttpProxy,
                "Proxy_Mode",
                &p.proxy_mode,
                "Proxy_Mode is Manual but Proxy_Host is not set".into(),
            )
            .hint("set Proxy_Host to the proxy's host name or IP address (no scheme)"),
        ),
        ProxyMode::Auto if !p.use_auto_discovery_wpad.get().0 && p.pac_url.get().is_none() => out.push(
            diag(
                Severity::Error,
                Kind::HttpProxy,
                "PAC_URL",
                &p.pac_url,
                "Proxy_Mode is Auto and Use_Auto_Discovery__WPAD_ is No, but PAC_URL is not set".into(),
            )
            .at(p
                .pac_url
                .location()
                .or(p.use_auto_discovery_wpad.location())
                .or(p.proxy_mode.location()))
            .hint("set PAC_URL to the PAC file's tftp://, http:// or https:// URL, or turn WPAD on"),
        ),
        _ => {}
    }
    if p.proxy_server_requires_authentication.get().0 {
        let mut missing = Vec::new();
        if p.proxy_username.get().is_empty() {
            missing.push("Proxy_Username");
        }
        if p.proxy_password.get().is_empty() {
            missing.push("Proxy_Password");
        }
        if !missing.is_empty() {
            let severity = if mode == ProxyMode::Manual {
                Severity::Error
            } else {
                Severity::Warning
            };
            out.push(
                diag(
                    severity,
                    Kind::HttpProxy,
                    "Proxy_Server_Requires_Authentication",
                    &p.proxy_server_requires_authentication,
                    format!(
                        "the proxy requires authentication but {} not set",
                        match missing.as_slice() {
                            [one] => format!("{one} is"),
                            _ => format!("{} are", missing.join(" and ")),
                        }
                    ),
                )
                .hint("set both Proxy_Username and Proxy_Password"),
            );
        }
    }
}

/// SPEC §10, §11, per line.
fn lines(s: &Settings, out: &mut Vec<Diagnostic>) {
    for (i, line) in s.lines.iter().enumerate() {
        let n = i + 1;
        let transport = *line.sip_transport.get();
        if line.mediasec_over_tls_only.get().0 && transport != SipTransport::Tls {
            let name = format!("MediaSec_Over_TLS_Only_{n}_");
            let (message, hint) = if transport == SipTransport::Auto {
                (
                    format!(
                        "media security is negotiated only over TLS, and SIP_Transport_{n}_ is AUTO: there is none when DNS picks UDP or TCP"
                    ),
                    format!("set SIP_Transport_{n}_ to TLS"),
                )
            } else {
                (
                    format!(
                        "media security is negotiated only over TLS, but SIP_Transport_{n}_ is {transport}: it never happens on this line"
                    ),
                    format!("set SIP_Transport_{n}_ to TLS, or MediaSec_Over_TLS_Only_{n}_ to No"),
                )
            };
            out.push(
                diag(
                    Severity::Warning,
                    Kind::MediaSec,
                    &name,
                    &line.mediasec_over_tls_only,
                    message,
                )
                .hint(hint),
            );
        }
        if !line.tls_name_validate.get().0 {
            let name = format!("TLS_Name_Validate_{n}_");
            let d = if matches!(transport, SipTransport::Tls | SipTransport::Auto) {
                diag(Severity::Warning, Kind::TlsNameValidation, &name, &line.tls_name_validate,
                     "the SIP server's TLS name is not checked: the server is not authenticated and anyone on the path can impersonate it".into())
            } else {
                diag(
                    Severity::Note,
                    Kind::TlsNameValidation,
                    &name,
                    &line.tls_name_validate,
                    format!(
                        "no effect while SIP_Transport_{n}_ is {transport}; with TLS the server would not be authenticated"
                    ),
                )
            };
            out.push(d.hint(format!("set TLS_Name_Validate_{n}_ to Yes")));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Severity, parse};

    fn dot1x_findings(body: &str) -> Vec<(Severity, String, String)> {
        let xml = format!("<flat-profile>{body}</flat-profile>");
        parse(xml.as_bytes())
            .unwrap()
            .diagnostics
            .into_iter()
            .filter(|d| {
                d.parameter
                    .as_deref()
                    .is_some_and(|p| p.starts_with("Agent_802.1X") || p.starts_with("Agent_EAP_FAST"))
            })
            .map(|d| (d.severity, d.parameter.unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn eap_fast_settings_are_typed_and_checked() {
        let on = "<Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication>";
        // EAP-FAST without the shared secret: an error while 802.1X is on.
        let f = dot1x_findings(&format!(
            "{on}<Agent_802.1X_Method>EAP-FAST</Agent_802.1X_Method>"
        ));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].0, f[0].1.as_str()),
            (Severity::Error, "Agent_802.1X_Method")
        );
        assert!(f[0].2.contains("Agent_802.1X_Password is empty"), "{f:?}");

        let full = format!(
            "{on}<Agent_802.1X_Method>eap-fast</Agent_802.1X_Method><Agent_802.1X_Identity>phone7</Agent_802.1X_Identity>\
             <Agent_802.1X_Password>s3cret</Agent_802.1X_Password><Agent_EAP_FAST_Inner_Method>GTC</Agent_EAP_FAST_Inner_Method>\
             <Agent_EAP_FAST_Provisioning>2</Agent_EAP_FAST_Provisioning>"
        );
        assert_eq!(dot1x_findings(&full), vec![]);
        let parsed = parse(format!("<flat-profile>{full}</flat-profile>").as_bytes()).unwrap();
        let d = &parsed.settings.dot1x;
        assert_eq!(*d.agent_802_1x_method.get(), crate::Dot1xMethod::EapFast);
        assert_eq!(d.agent_802_1x_identity.get(), "phone7");
        assert_eq!(d.agent_802_1x_password.get().expose(), "s3cret");
        assert_eq!(*d.agent_eap_fast_inner_method.get(), crate::FastInnerMethod::Gtc);
        assert_eq!(d.agent_eap_fast_provisioning.get().level(), 2);
        // The password never shows.
        let shown = parsed.settings.entries();
        let pw = shown.iter().find(|e| e.name == "Agent_802.1X_Password").unwrap();
        assert!(!pw.value.contains("s3cret"), "{pw:?}");

        // Anonymous provisioning from the file: a note; with GTC: a warning (no first PAC).
        let f = dot1x_findings(&format!(
            "{on}<Agent_802.1X_Method>EAP-FAST</Agent_802.1X_Method><Agent_802.1X_Password>p</Agent_802.1X_Password>\
             <Agent_EAP_FAST_Provisioning>1</Agent_EAP_FAST_Provisioning><Agent_EAP_FAST_Inner_Method>GTC</Agent_EAP_FAST_Inner_Method>"
        ));
        assert_eq!(
            f.iter().map(|x| (x.0, x.1.as_str())).collect::<Vec<_>>(),
            vec![
                (Severity::Note, "Agent_EAP_FAST_Provisioning"),
                (Severity::Warning, "Agent_EAP_FAST_Inner_Method")
            ],
            "{f:?}"
        );

        // Values outside the domains: errors naming what is allowed, the defaults kept.
        let xml = "<flat-profile><Agent_802.1X_Method>PEAP</Agent_802.1X_Method>\
                   <Agent_EAP_FAST_Provisioning>4</Agent_EAP_FAST_Provisioning></flat-profile>";
        let parsed = parse(xml.as_bytes()).unwrap();
        let errors: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                (
                    d.parameter.clone().unwrap_or_default(),
                    d.hint.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].1.contains("EAP-TLS, EAP-FAST"), "{errors:?}");
        assert!(errors[1].1.contains("0, 1, 2, 3"), "{errors:?}");
        assert_eq!(
            *parsed.settings.dot1x.agent_802_1x_method.get(),
            crate::Dot1xMethod::EapTls
        );
        assert_eq!(parsed.settings.dot1x.agent_eap_fast_provisioning.get().level(), 1);
    }

    fn ldap_findings(body: &str) -> Vec<(Severity, String, String)> {
        let xml = format!("<flat-profile>{body}</flat-profile>");
        parse(xml.as_bytes())
            .unwrap()
            .diagnostics
            .into_iter()
            .filter(|d| d.kind == crate::Kind::Ldap)
            .map(|d| (d.severity, d.parameter.unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn a_bind_over_ldap_without_starttls_is_an_error_unless_opted_in() {
        let simple = "<LDAP_Server>ldap://dir.example.com</LDAP_Server><LDAP_Auth_Method>Simple</LDAP_Auth_Method>\
                      <LDAP_Client_DN>cn=phone</LDAP_Client_DN><LDAP_Password>pw</LDAP_Password>";
        let f = ldap_findings(simple);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].0, f[0].1.as_str()), (Severity::Error, "LDAP_Auth_Method"));
        assert!(
            f[0].2
                .starts_with("Simple bind over `ldap://dir.example.com` without StartTLS"),
            "{f:?}"
        );

        let f = ldap_findings(&format!(
            "{simple}<Agent_LDAP_Allow_Clear_Text>Yes</Agent_LDAP_Allow_Clear_Text>"
        ));
        assert!(f.iter().all(|d| d.0 == Severity::Warning), "{f:?}");
        assert!(f.iter().any(|d| d.1 == "Agent_LDAP_Allow_Clear_Text"), "{f:?}");
        assert!(
            f.iter()
                .any(|d| d.2.contains("bind password travel in clear text")),
            "{f:?}"
        );

        let f = ldap_findings(
            "<LDAP_Server>ldap://10.0.0.1</LDAP_Server><LDAP_Auth_Method>DIGEST-MD5</LDAP_Auth_Method>",
        );
        let params: Vec<_> = f.iter().map(|d| (d.0, d.1.as_str())).collect();
        assert_eq!(
            params,
            [
                (Severity::Warning, "LDAP_Server"), // an IP address in the digest-uri (file order)
                (Severity::Error, "LDAP_Auth_Method"), // over clear text
                (Severity::Error, "LDAP_Auth_Method"), // no user name or password
                (Severity::Note, "LDAP_Auth_Method"), // historic
            ],
            "{f:?}"
        );
    }

    #[test]
    fn starttls_and_the_directory_switch() {
        let f = ldap_findings(
            "<LDAP_Server>ldap://d.example.com</LDAP_Server><LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].2.contains("refuses to continue"), "{f:?}");
        let f = ldap_findings("<LDAP_Dir_Enable>Yes</LDAP_Dir_Enable>");
        assert_eq!((f[0].0, f[0].1.as_str()), (Severity::Error, "LDAP_Dir_Enable"));
        let f = ldap_findings(
            "<LDAP_Dir_Enable>Yes</LDAP_Dir_Enable><LDAP_Server>ldaps://d.example.com</LDAP_Server>",
        );
        assert!(f[0].2.contains("no search filter"), "{f:?}");
    }

    #[test]
    fn template_spellings_are_read_with_a_note() {
        let xml = b"<flat-profile><LDAP_Username>phone</LDAP_Username><LDAP_item_4_Filter>(ou=$VALUE*)</LDAP_item_4_Filter></flat-profile>";
        let parsed = parse(xml).unwrap();
        assert_eq!(parsed.settings.ldap.ldap_user_name.get(), "phone");
        assert_eq!(
            parsed
                .settings
                .ldap
                .ldap_item_4_filter
                .get()
                .as_ref()
                .map(|f| f.filter()),
            Some("(ou=$VALUE*)")
        );
        assert!(parsed.settings.unknown.is_empty());
        assert_eq!(parsed.diagnostics.len(), 2, "{:?}", parsed.diagnostics);
        assert!(
            parsed.diagnostics[0]
                .message
                .starts_with("read as `LDAP_User_Name`")
        );
    }
}
