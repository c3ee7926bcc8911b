//! PSYNC2 replication IDs: the current ID and the previous one, valid up to
//! a given offset.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use thiserror::Error;

/// Length of a replication ID in characters (Redis's `CONFIG_RUN_ID_SIZE`).
pub const REPLID_LEN: usize = 40;

/// A 40-character replication ID.
///
/// IDs this node generates are lowercase hex; IDs learnt from a peer are
/// accepted if they are 40 printable, non-space ASCII characters, because
/// Redis itself only checks the length of what a master announces, and the
/// space/CR/LF exclusion keeps the ID safe to embed in protocol lines.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplId([u8; REPLID_LEN]);

/// Why a string is not a valid [`ReplId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplIdError {
    /// Not exactly [`REPLID_LEN`] bytes long.
    #[error("replication ID must be {REPLID_LEN} characters, got {0}")]
    Length(usize),
    /// Contains a byte outside printable, non-space ASCII.
    #[error("replication ID contains an invalid byte 0x{0:02x}")]
    InvalidByte(u8),
}

impl ReplId {
    /// The "no ID" placeholder Redis uses for an unset `replid2`: forty `'0'`.
    pub const NONE: ReplId = ReplId([b'0'; REPLID_LEN]);

    /// Builds an ID from 20 random bytes supplied by the caller (the crate
    /// has no RNG so it stays deterministic and testable), rendered as 40
    /// lowercase hex characters.
    pub fn from_random(bytes: [u8; 20]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; REPLID_LEN];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        ReplId(out)
    }

    /// Parses an ID received from the wire (e.g. from `+FULLRESYNC` or
    /// `+CONTINUE <id>`).
    pub fn parse_bytes(s: &[u8]) -> Result<Self, ReplIdError> {
        let arr: [u8; REPLID_LEN] = s.try_into().map_err(|_| ReplIdError::Length(s.len()))?;
        if let Some(&bad) = arr.iter().find(|b| !b.is_ascii_graphic()) {
            return Err(ReplIdError::InvalidByte(bad));
        }
        Ok(ReplId(arr))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        // Construction only admits ASCII, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The ID as raw bytes.
    pub fn as_bytes(&self) -> &[u8; REPLID_LEN] {
        &self.0
    }

    /// True for the all-zero placeholder [`ReplId::NONE`].
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// Redis compares IDs with `strcasecmp`, so an upper-case request for a
    /// lower-case ID still matches.
    fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.as_bytes())
    }
}

impl FromStr for ReplId {
    type Err = ReplIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(s.as_bytes())
    }
}

impl fmt::Display for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ReplId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplId({})", self.as_str())
    }
}

/// Outcome of the replication-ID half of the PSYNC check
/// ([`ReplicationIds::can_continue`]). The backlog range is checked
/// separately (see [`crate::decide_psync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContinueDecision {
    /// The request names our current ID.
    PrimaryId,
    /// The request names our previous ID and an offset that history covers.
    SecondaryId,
    /// The replica sent `?`: it explicitly wants a full resync.
    FullResyncRequested,
    /// The requested ID is neither of ours.
    IdMismatch,
    /// The request names our previous ID but asks for an offset past the
    /// point where that history ended.
    SecondaryOffsetTooLarge,
}

impl ContinueDecision {
    /// True when the IDs allow a partial resync (the backlog must still be
    /// checked).
    pub fn is_continue(self) -> bool {
        matches!(self, Self::PrimaryId | Self::SecondaryId)
    }
}

/// The PSYNC2 pair of replication IDs a node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicationIds {
    replid: ReplId,
    replid2: ReplId,
    second_replid_offset: i64,
}

impl ReplicationIds {
    /// Fresh IDs with a random primary ID and no secondary ID, as at server
    /// start-up. The caller supplies the randomness.
    pub fn new_random(rng_bytes: [u8; 20]) -> Self {
        Self {
            replid: ReplId::from_random(rng_bytes),
            replid2: ReplId::NONE,
            second_replid_offset: -1,
        }
    }

    /// Rebuilds the pair from known values, e.g. after loading
    /// `repl-id`/`repl-offset` from an RDB file or learning the master's ID.
    pub fn from_parts(replid: ReplId, replid2: ReplId, second_replid_offset: i64) -> Self {
        Self {
            replid,
            replid2,
            second_replid_offset,
        }
    }

    /// The current replication ID.
    pub fn replid(&self) -> &ReplId {
        &self.replid
    }

    /// The previous replication ID, or [`ReplId::NONE`].
    pub fn replid2(&self) -> &ReplId {
        &self.replid2
    }

    /// Highest PSYNC offset accepted with `replid2`, or -1 when none.
    pub fn second_replid_offset(&self) -> i64 {
        self.second_replid_offset
    }

    /// Replaces the current ID, leaving the secondary untouched (Redis's
    /// `changeReplicationId`). Used when the dataset's history changes so
    /// that no replica may continue the old stream.
    pub fn change_id(&mut self, new_id: ReplId) {
        self.replid = new_id;
    }

    /// Moves the current ID to the secondary slot, valid up to
    /// `master_repl_offset + 1` (the replica asks for the first byte it
    /// lacks), and adopts `new_id`. Redis does this on promotion to master
    /// and when a replica learns its master's new ID from `+CONTINUE <id>`.
    pub fn shift(&mut self, new_id: ReplId, master_repl_offset: u64) {
        self.replid2 = self.replid;
        // Offsets are `long long` in Redis; clamp rather than wrap.
        self.second_replid_offset =
            i64::try_from(master_repl_offset.saturating_add(1)).unwrap_or(i64::MAX);
        self.replid = new_id;
    }

    /// Text Redis logs after [`shift`](Self::shift).
    pub fn shift_log_line(&self) -> String {
        format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2, self.second_replid_offset, self.replid
        )
    }

    /// Forgets the secondary ID (`replid2` := zeros, offset := -1), e.g.
    /// after a full resync starts a new history or the backlog is freed.
    pub fn clear_secondary(&mut self) {
        self.replid2 = ReplId::NONE;
        self.second_replid_offset = -1;
    }

    /// The replication-ID half of the PSYNC decision: the request can
    /// continue if it names our current ID, or our previous ID with
    /// `psync_offset <= second_replid_offset`. Comparison is
    /// case-insensitive, like Redis.
    ///
    /// `psync_offset` is signed because the wire value is a signed integer
    /// (`PSYNC ? -1`) and Redis compares it as such.
    pub fn can_continue(&self, requested_id: &str, psync_offset: i64) -> ContinueDecision {
        let secondary = self.replid2.matches(requested_id);
        if self.replid.matches(requested_id) {
            ContinueDecision::PrimaryId
        } else if secondary && psync_offset <= self.second_replid_offset {
            ContinueDecision::SecondaryId
        } else if requested_id.starts_with('?') {
            // Redis looks only at the first character, and checks it before
            // telling mismatch from stale secondary offset.
            ContinueDecision::FullResyncRequested
        } else if secondary {
            ContinueDecision::SecondaryOffsetTooLarge
        } else {
            ContinueDecision::IdMismatch
        }
    }

    /// The `+CONTINUE` status line: with our current ID when the replica
    /// declared `capa psync2` (so it can adopt the ID), bare otherwise.
    pub fn continue_reply(&self, capa_psync2: bool) -> Bytes {
        if capa_psync2 {
            Bytes::from(format!("+CONTINUE {}\r\n", self.replid))
        } else {
            Bytes::from_static(b"+CONTINUE\r\n")
        }
    }

    /// The `+FULLRESYNC <replid> <offset>` status line; `offset` must be the
    /// master replication offset at the moment the snapshot is taken.
    pub fn fullresync_reply(&self, offset: u64) -> Bytes {
        Bytes::from(format!("+FULLRESYNC {} {}\r\n", self.replid, offset))
    }
}
