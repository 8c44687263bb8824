//! HTTP response heads as a provisioning fetch reads them (the server's answer, an HTTP
//! proxy's answer to a GET or to CONNECT): parse any bytes, incrementally and whole, and read
//! the fields the fetch uses; every head found must end inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phone_provisioning::ResponseHead;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(head)) = ResponseHead::parse(data) {
        assert!(head.len <= data.len());
        assert!((100..=999).contains(&head.status));
        let _ = head.content_length();
        let _ = head.field("location");
        let _ = head.fields("proxy-authenticate").count();
    }
    let _ = ResponseHead::parse_complete(data);
});
