//! Any string into `cipher_string::CipherList::parse` and `Tls13Suites::parse`: a list or a
//! typed error, never a panic; a second evaluation gives the same answer; an error's offset
//! lies inside the string; and a list printed as names selects the same list again.
#![no_main]

use cipher_string::{CipherList, Tls13Suites};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let first = CipherList::parse(&text);
    assert_eq!(first, CipherList::parse(&text), "two evaluations differ");
    match first {
        Ok(list) => {
            assert!(!list.suites().is_empty());
            for d in list.diagnostics() {
                assert!(d.span.start <= d.span.end && d.span.end <= text.len(), "{d}");
                let _ = d.to_string();
            }
            let again = CipherList::parse(&list.to_string());
            assert_eq!(
                again.map(|l| l.suites().to_vec()).ok(),
                Some(list.suites().to_vec())
            );
        }
        Err(e) => {
            assert!(e.offset().is_none_or(|o| o <= text.len()), "{e}");
            let _ = e.to_string();
        }
    }
    if let Err(e) = Tls13Suites::parse(&text) {
        let _ = e.to_string();
    }
});
