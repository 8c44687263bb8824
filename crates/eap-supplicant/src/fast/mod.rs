//! EAP-FAST (RFC 4851, RFC 5422): its own TLS 1.2 client ([`tls12`]).

pub mod tls12;
