//! Any string into `proxy_pac::ProxyList::parse_pac_result`: never a panic; never empty;
//! every diagnostic's span inside the input; and the list printed in PAC syntax parses back to
//! the same entries without diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_pac::ProxyList;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let list = ProxyList::parse_pac_result(&text);
    assert!(!list.entries().is_empty());
    for d in list.diagnostics() {
        assert!(d.span.start <= d.span.end && d.span.end <= text.len(), "{d}");
        let _ = d.to_string();
    }
    let printed = list.to_pac_string();
    let again = ProxyList::parse_pac_result(&printed);
    assert_eq!(again.entries(), list.entries(), "{printed}");
    assert!(again.diagnostics().is_empty(), "{printed}");
});
