//! Provisioning (SPEC §2, §6, §7): the DHCP client driver (`phone-agent dhcp`), and the
//! profile resync (`phone-agent provision`).

pub mod apply;
pub mod dhcp;
mod http_auth;
pub mod restricted;
pub mod resync;
mod via_proxy;
