//! Which RESP dialect a connection speaks.

/// RESP version negotiated with a client (`HELLO 3` switches to RESP3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// RESP2: every connection starts here.
    #[default]
    Resp2,
    /// RESP3: adds maps, sets, doubles, booleans, pushes and a single null.
    Resp3,
}

impl Protocol {
    /// True for RESP3, the only case where the richer reply types go on the wire.
    pub fn is_resp3(self) -> bool {
        self == Protocol::Resp3
    }
}
