//! Request methods.

macro_rules! methods {
    ($( $(#[$m:meta])* $variant:ident = $name:literal, )+) => {
        /// A SIP request method: the RFC 3261 ones and common extensions, or any other token.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Method {
            $( $(#[$m])* $variant, )+
            /// Any other method token (methods are case-sensitive, RFC 3261 §7.1).
            Other(Box<str>),
        }

        impl Method {
            /// The method as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Method::$variant => $name, )+
                    Method::Other(m) => m,
                }
            }
        }

        impl From<&str> for Method {
            fn from(m: &str) -> Method {
                match m {
                    $( $name => Method::$variant, )+
                    other => Method::Other(other.into()),
                }
            }
        }
    };
}

methods! {
    /// INVITE.
    Invite = "INVITE",
    /// ACK.
    Ack = "ACK",
    /// BYE.
    Bye = "BYE",
    /// CANCEL.
    Cancel = "CANCEL",
    /// REGISTER.
    Register = "REGISTER",
    /// OPTIONS.
    Options = "OPTIONS",
    /// PRACK (RFC 3262).
    Prack = "PRACK",
    /// UPDATE (RFC 3311).
    Update = "UPDATE",
    /// SUBSCRIBE (RFC 6665).
    Subscribe = "SUBSCRIBE",
    /// NOTIFY (RFC 6665).
    Notify = "NOTIFY",
    /// INFO (RFC 6086).
    Info = "INFO",
    /// MESSAGE (RFC 3428).
    Message = "MESSAGE",
    /// REFER (RFC 3515).
    Refer = "REFER",
    /// PUBLISH (RFC 3903).
    Publish = "PUBLISH",
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
