//! The replication stream a master produces: every write, encoded once, in
//! the order it was applied, with SELECT wherever the database changes.

use bytes::{Bytes, BytesMut};
use repl_backlog::{Backlog, ReplicationIds};

/// The master side's stream state.
#[derive(Debug)]
pub struct ReplFeed {
    /// The replication IDs.
    pub ids: ReplicationIds,
    /// The backlog; Redis creates it when the first replica attaches, and
    /// until then writes are not recorded and the offset stays put.
    pub backlog: Option<Backlog>,
    /// The database the stream last selected.
    stream_db: Option<usize>,
    /// Offset reached when there is no backlog.
    offset: u64,
    scratch: BytesMut,
}

impl ReplFeed {
    /// A feed with fresh random IDs.
    pub fn new(random: [u8; 20]) -> Self {
        ReplFeed {
            ids: ReplicationIds::new_random(random),
            backlog: None,
            stream_db: None,
            offset: 0,
            scratch: BytesMut::new(),
        }
    }

    /// The master replication offset.
    pub fn offset(&self) -> u64 {
        self.backlog
            .as_ref()
            .map_or(self.offset, Backlog::master_offset)
    }

    /// Whether anything listens to the stream.
    pub fn active(&self) -> bool {
        self.backlog.is_some()
    }

    /// Appends commands applied on database `db` to the stream.
    pub fn feed<'a>(&mut self, db: usize, cmds: impl IntoIterator<Item = &'a [Bytes]>) {
        let Some(backlog) = self.backlog.as_mut() else {
            return;
        };
        self.scratch.clear();
        if self.stream_db != Some(db) {
            let dbs = db.to_string();
            resp_codec::encode::command(&mut self.scratch, &[&b"SELECT"[..], dbs.as_bytes()]);
            self.stream_db = Some(db);
        }
        for cmd in cmds {
            resp_codec::encode::command(&mut self.scratch, cmd);
        }
        backlog.append(&self.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_selects_database_once_and_counts_bytes() {
        let mut f = ReplFeed::new([7; 20]);
        let set = [
            Bytes::from_static(b"SET"),
            Bytes::from_static(b"k"),
            Bytes::from_static(b"v"),
        ];
        f.feed(0, [&set[..]]);
        assert_eq!(f.offset(), 0, "no backlog, nothing recorded");
        f.backlog = Some(Backlog::new(1 << 16, 0).unwrap());
        f.feed(0, [&set[..]]);
        f.feed(0, [&set[..]]);
        f.feed(3, [&set[..]]);
        let select0 = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
        let setcmd = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let select3 = "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n";
        let expected = format!("{select0}{setcmd}{setcmd}{select3}{setcmd}");
        assert_eq!(f.offset(), expected.len() as u64);
        let got = f.backlog.as_ref().unwrap().read_from(1).unwrap().to_vec();
        assert_eq!(String::from_utf8(got).unwrap(), expected);
    }
}
