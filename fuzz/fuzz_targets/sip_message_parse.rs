//! Any bytes into `sip_message::Message::parse` (datagram) and `parse_stream`: Ok or an error
//! whose offset is inside the input, never a panic; whatever parses is validated and every
//! typed accessor is exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::{HeaderName, Message};

fuzz_target!(|data: &[u8]| {
    for result in [Message::parse(data).map(Some), Message::parse_stream(data)] {
        match result {
            Ok(Some(m)) => {
                assert!(m.len() <= data.len());
                let _ = m.validate();
                let _ = (m.via(), m.from(), m.to(), m.contacts(), m.call_id(), m.cseq());
                let _ = (m.max_forwards(), m.expires(), m.content_length());
                for kind in [HeaderName::Require, HeaderName::ProxyRequire, HeaderName::Supported] {
                    let _ = m.tokens(kind);
                }
                for h in m.headers() {
                    let _ = h.value();
                }
            }
            Ok(None) => {}
            Err(e) => assert!(e.offset <= data.len(), "offset {} beyond {}", e.offset, data.len()),
        }
    }
});
