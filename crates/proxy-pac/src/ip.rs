//! The PAC helpers that are pure functions of their arguments, in Rust: Chromium's
//! `isPlainHostName`, `isInNetEx`, `sortIpAddressList`, and the address choice behind
//! `myIpAddress`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Chromium: a host with no `.` that is not an IPv6 literal. So `"foo:112"` is plain (Firefox
/// says not: its test is "no `.` and no `:`") and `"[::1]"` is plain (brackets make it no
/// literal).
pub fn is_plain_host_name(host: &str) -> bool {
    !host.contains('.') && host.parse::<Ipv6Addr>().is_err()
}

/// Netscape's suffix test: no label boundary (`evilexample.com` is in `example.com`),
/// case-sensitive.
pub fn dns_domain_is(host: &str, domain: &str) -> bool {
    if host.is_ascii() && domain.is_ascii() {
        return host.as_bytes().ends_with(domain.as_bytes());
    }
    // UTF-16 like `substring`, so a suffix that splits a surrogate pair compares as JS does.
    let h: Vec<u16> = host.encode_utf16().collect();
    let d: Vec<u16> = domain.encode_utf16().collect();
    h.ends_with(&d)
}

/// Netscape's `isValidIpAddress` then `convert_addr`: four `.`-separated groups of one to
/// three ASCII digits (leading zeros are decimal), each at most 255, as a 32-bit number.
pub fn dotted_quad(s: &str) -> Option<u32> {
    let mut groups = s.split('.');
    let mut value = 0u32;
    for _ in 0..4 {
        let g = groups.next()?;
        if g.is_empty() || g.len() > 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = g.parse().ok()?;
        if n > 255 {
            return None;
        }
        value = value << 8 | n;
    }
    groups.next().is_none().then_some(value)
}

/// Netscape's `isInNet(ip, pattern, mask)` for an `ip` that is a dotted quad: false when
/// `pattern` or `mask` is not one (Chromium and Mozilla; pacparser does not check).
/// `None` when `ip` is no dotted quad: the caller resolves it first.
pub fn is_in_net(ip: &str, pattern: &str, mask: &str) -> Option<bool> {
    let (Some(pattern), Some(mask)) = (dotted_quad(pattern), dotted_quad(mask)) else {
        return Some(false);
    };
    dotted_quad(ip).map(|ip| ip & mask == pattern & mask)
}

/// An IP literal as Chromium's `ParseIPLiteralToNumber`: dotted-quad IPv4 or IPv6 (no
/// brackets, no whitespace).
fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// The 128-bit form used to compare families: IPv4 as IPv4-mapped IPv6.
fn as_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Microsoft's `isInNetEx(ip, "prefix/len")` with Chromium's rules: both sides parsed
/// strictly (no whitespace), IPv4 and IPv4-mapped IPv6 interchangeable.
pub fn is_in_net_ex(ip: &str, prefix: &str) -> bool {
    let Some(ip) = parse_ip(ip) else {
        return false;
    };
    let Some((net, len)) = prefix.split_once('/') else {
        return false;
    };
    let Some(net) = parse_ip(net) else {
        return false;
    };
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 3 {
        return false;
    }
    let Ok(mut len) = len.parse::<u32>() else {
        return false;
    };
    let max = if net.is_ipv4() { 32 } else { 128 };
    if len > max {
        return false;
    }
    if net.is_ipv4() {
        len += 96;
    }
    let (a, b) = (u128::from(as_v6(ip)), u128::from(as_v6(net)));
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    a & mask == b & mask
}

/// Microsoft's `sortIpAddressList`: spaces and tabs removed, empty items skipped, IPv6
/// before IPv4, ascending, stable, original spellings kept. `None` (the script sees `false`)
/// when the list is empty or an item is no IP literal.
pub fn sort_ip_address_list(list: &str) -> Option<String> {
    let cleaned: String = list.chars().filter(|c| *c != ' ' && *c != '\t').collect();
    let mut items = Vec::new();
    for item in cleaned.split(';').filter(|i| !i.is_empty()) {
        let ip = parse_ip(item)?;
        items.push((ip.is_ipv4(), u128::from(as_v6(ip)), item));
    }
    if items.is_empty() {
        return None;
    }
    items.sort_by_key(|(v4, n, _)| (*v4, *n));
    Some(items.iter().map(|(_, _, s)| *s).collect::<Vec<_>>().join(";"))
}

fn is_local_only(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// `myIpAddress()`: the first routable IPv4 address, else the first IPv4, else the first
/// address, else `"127.0.0.1"` (Chromium's failure value).
pub fn my_ip_address(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .find(|a| a.is_ipv4() && !is_local_only(a))
        .or_else(|| addresses.iter().find(|a| a.is_ipv4()))
        .or_else(|| addresses.first())
        .map_or_else(|| Ipv4Addr::LOCALHOST.to_string(), ToString::to_string)
}

/// `myIpAddressEx()`: all addresses, `;`-separated; `""` when none.
pub fn my_ip_address_ex(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quads_as_netscape_validates_them() {
        assert_eq!(dotted_quad("192.168.1.2"), Some(0xc0a8_0102));
        assert_eq!(dotted_quad("010.0.0.255"), Some(0x0a00_00ff));
        for bad in [
            "1.2.3.256",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            " 1.2.3.4",
            "+1.2.3.4",
            "1.2.3.0004",
            "1..3.4",
            "\u{661}.2.3.4",
            "",
            "a.b.c.d",
        ] {
            assert_eq!(dotted_quad(bad), None, "{bad}");
        }
        assert_eq!(is_in_net("10.1.1.1", "10.0.0.0", "255.0.0.0"), Some(true));
        assert_eq!(is_in_net("11.1.1.1", "10.0.0.0", "255.0.0.0"), Some(false));
        assert_eq!(is_in_net("10.1.1.1", "10.0.0.0", "255.0.0"), Some(false));
        assert_eq!(is_in_net("host.example", "10.0.0.0", "255.0.0"), Some(false));
        assert_eq!(is_in_net("host.example", "10.0.0.0", "255.0.0.0"), None);
    }

    #[test]
    fn my_ip_prefers_routable_ipv4() {
        let a: Vec<IpAddr> = ["fe80::1", "127.0.0.1", "2001:db8::1", "192.0.2.7"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(my_ip_address(&a), "192.0.2.7");
        assert_eq!(my_ip_address(&a[2..3]), "2001:db8::1");
        assert_eq!(my_ip_address(&[]), "127.0.0.1");
        assert_eq!(my_ip_address_ex(&a), "fe80::1;127.0.0.1;2001:db8::1;192.0.2.7");
        assert_eq!(my_ip_address_ex(&[]), "");
    }

    #[test]
    fn in_net_ex_edges() {
        assert!(is_in_net_ex("10.1.2.3", "0.0.0.0/0"));
        assert!(is_in_net_ex("::1", "::/0"));
        assert!(!is_in_net_ex("10.1.2.3", "10.0.0.0/"));
        assert!(!is_in_net_ex("10.1.2.3", "10.0.0.0/+8"));
        assert!(!is_in_net_ex("::1", "::/129"));
    }
}
