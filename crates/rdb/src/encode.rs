//! Encoding values the way Redis 7.0 saves them.

use bytes::{BufMut, BytesMut};

use crate::format::{container, rdb_type};
use crate::intset;
use crate::listpack::{self, Builder};
use crate::lzf::LzfCompressor;
use crate::num::{double_as_i64, parse_canonical_i64, score_text};
use crate::value::RdbValue;

/// Redis's estimate of an entry's overhead when checking a node's size.
const LIST_NODE_ENTRY_OVERHEAD: usize = 8;
/// Node size limits selected by negative `list-max-listpack-size` values
/// (-1 to -5).
const LIST_NODE_SIZE_CLASSES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node a positive `list-max-listpack-size` (an entry count) allows.
const LIST_NODE_SAFETY_LIMIT: usize = 8192;
/// Elements this large get a node of their own, stored raw.
const LIST_PLAIN_THRESHOLD: usize = 1 << 30;
/// Strings up to this length are never worth compressing.
const LZF_MIN_LEN: usize = 20;

/// The thresholds that decide between compact and plain encodings, named
/// after the Redis configuration directives. The defaults are Redis 7.0's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodingLimits {
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`: longest field or value in a listpack hash.
    pub hash_max_listpack_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`: longest member in a listpack sorted set.
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size`: negative values -1..-5 cap each quicklist
    /// node at 4, 8, 16, 32 or 64 KiB; positive values cap its entries.
    pub list_max_listpack_size: i64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        Self {
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
        }
    }
}

impl EncodingLimits {
    /// Whether Redis's quicklist would append an element of `len` bytes to
    /// a node of `node_bytes` bytes holding `node_count` entries.
    fn node_accepts(&self, node_bytes: usize, node_count: usize, len: usize) -> bool {
        let fill = self.list_max_listpack_size;
        let new_size = node_bytes + len + LIST_NODE_ENTRY_OVERHEAD;
        if fill < 0 {
            let class = usize::try_from(-fill - 1).unwrap_or(usize::MAX);
            if let Some(&limit) = LIST_NODE_SIZE_CLASSES.get(class) {
                if new_size <= limit {
                    return true;
                }
            }
        }
        if new_size > LIST_NODE_SAFETY_LIMIT {
            return false;
        }
        i64::try_from(node_count).is_ok_and(|c| c < fill)
    }
}

/// Appends an RDB length.
pub(crate) fn put_len(out: &mut BytesMut, n: u64) {
    if n < 1 << 6 {
        out.put_u8(n as u8);
    } else if n < 1 << 14 {
        out.put_u8(0x40 | (n >> 8) as u8);
        out.put_u8((n & 0xff) as u8);
    } else if n <= u64::from(u32::MAX) {
        out.put_u8(0x80);
        out.put_u32(n as u32);
    } else {
        out.put_u8(0x81);
        out.put_u64(n);
    }
}

/// The type Redis 7.0 would save `value` as, given the thresholds.
pub(crate) fn value_type(value: &RdbValue, limits: &EncodingLimits) -> u8 {
    match value {
        RdbValue::String(_) => rdb_type::STRING,
        RdbValue::List(_) => rdb_type::LIST_QUICKLIST_2,
        RdbValue::Set(m) => {
            if m.len() <= limits.set_max_intset_entries
                && m.iter().all(|x| parse_canonical_i64(x).is_some())
            {
                rdb_type::SET_INTSET
            } else {
                rdb_type::SET
            }
        }
        RdbValue::SortedSet(z) => {
            if z.len() <= limits.zset_max_listpack_entries
                && z.iter()
                    .all(|(m, _)| m.len() <= limits.zset_max_listpack_value)
            {
                rdb_type::ZSET_LISTPACK
            } else {
                rdb_type::ZSET_2
            }
        }
        RdbValue::Hash(h) => {
            if h.len() <= limits.hash_max_listpack_entries
                && h.iter().all(|(f, v)| {
                    f.len() <= limits.hash_max_listpack_value
                        && v.len() <= limits.hash_max_listpack_value
                })
            {
                rdb_type::HASH_LISTPACK
            } else {
                rdb_type::HASH
            }
        }
    }
}

/// Writes strings, compressing when enabled and worthwhile.
#[derive(Debug, Default)]
pub(crate) struct StringEncoder {
    pub(crate) compression: bool,
    lzf: LzfCompressor,
    scratch: Vec<u8>,
}

impl StringEncoder {
    /// Appends `s` as Redis's `rdbSaveRawString` would: as an integer when
    /// it is a canonical one that fits 32 bits, LZF-compressed when longer
    /// than 20 bytes and compression saves at least 4 bytes, raw otherwise.
    pub(crate) fn put(&mut self, out: &mut BytesMut, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = parse_canonical_i64(s) {
                if let Ok(v) = i8::try_from(v) {
                    out.put_u8(0xc0);
                    out.put_i8(v);
                    return;
                } else if let Ok(v) = i16::try_from(v) {
                    out.put_u8(0xc1);
                    out.put_i16_le(v);
                    return;
                } else if let Ok(v) = i32::try_from(v) {
                    out.put_u8(0xc2);
                    out.put_i32_le(v);
                    return;
                }
            }
        }
        if self.compression
            && s.len() > LZF_MIN_LEN
            && self.lzf.compress(s, &mut self.scratch, s.len() - 4)
        {
            out.reserve(self.scratch.len() + 11);
            out.put_u8(0xc3);
            put_len(out, self.scratch.len() as u64);
            put_len(out, s.len() as u64);
            out.put_slice(&self.scratch);
            return;
        }
        put_len(out, s.len() as u64);
        out.put_slice(s);
    }
}

/// Encodes values; holds reusable buffers so that writing many keys does
/// not allocate per key.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    pub(crate) strings: StringEncoder,
    pub(crate) limits: EncodingLimits,
    lp: Builder,
    blob: Vec<u8>,
    ints: Vec<i64>,
    order: Vec<usize>,
}

impl Encoder {
    /// An encoder; `compression` is Redis's `rdbcompression`.
    pub(crate) fn new(compression: bool, limits: EncodingLimits) -> Self {
        let mut e = Self {
            limits,
            ..Self::default()
        };
        e.strings.compression = compression;
        e
    }

    /// The type [`put_value`](Self::put_value) will use for `value`.
    pub(crate) fn value_type(&self, value: &RdbValue) -> u8 {
        value_type(value, &self.limits)
    }

    /// Appends the body of `value` (without its type byte) encoded as type
    /// `t`, which must come from [`value_type`].
    pub(crate) fn put_value(&mut self, out: &mut BytesMut, value: &RdbValue, t: u8) {
        match value {
            RdbValue::String(s) => self.strings.put(out, s),
            RdbValue::List(items) => self.put_list(out, items),
            RdbValue::Set(members) => {
                if t == rdb_type::SET_INTSET {
                    self.ints.clear();
                    self.ints
                        .extend(members.iter().filter_map(|m| parse_canonical_i64(m)));
                    self.ints.sort_unstable();
                    self.ints.dedup();
                    self.blob.clear();
                    intset::encode(&self.ints, &mut self.blob);
                    self.strings.put(out, &self.blob);
                } else {
                    put_len(out, members.len() as u64);
                    for m in members {
                        self.strings.put(out, m);
                    }
                }
            }
            RdbValue::SortedSet(z) => {
                // Ascending (score, member) is the listpack's order; the
                // skiplist is saved from the highest element down, which
                // lets Redis insert each loaded element at the head.
                self.order.clear();
                self.order.extend(0..z.len());
                let key = |i: usize| z.get(i).map(|(m, s)| (*s, m.as_ref()));
                self.order
                    .sort_unstable_by(|&a, &b| match (key(a), key(b)) {
                        (Some((sa, ma)), Some((sb, mb))) => {
                            sa.total_cmp(&sb).then_with(|| ma.cmp(mb))
                        }
                        _ => std::cmp::Ordering::Equal,
                    });
                if t == rdb_type::ZSET_LISTPACK {
                    self.lp.start();
                    for (m, s) in self.order.iter().filter_map(|&i| z.get(i)) {
                        self.lp.push(m);
                        match double_as_i64(*s) {
                            Some(i) => self.lp.push_int(i),
                            None => self.lp.push(score_text(*s).as_bytes()),
                        }
                    }
                    self.strings.put(out, self.lp.finish());
                } else {
                    put_len(out, z.len() as u64);
                    for (m, s) in self.order.iter().rev().filter_map(|&i| z.get(i)) {
                        self.strings.put(out, m);
                        out.put_f64_le(*s);
                    }
                }
            }
            RdbValue::Hash(h) => {
                if t == rdb_type::HASH_LISTPACK {
                    self.lp.start();
                    for (f, v) in h {
                        self.lp.push(f);
                        self.lp.push(v);
                    }
                    self.strings.put(out, self.lp.finish());
                } else {
                    put_len(out, h.len() as u64);
                    for (f, v) in h {
                        self.strings.put(out, f);
                        self.strings.put(out, v);
                    }
                }
            }
        }
    }

    /// Appends a list as a quicklist, split into nodes exactly where Redis
    /// 7.0 would split a list built by RPUSH.
    fn put_list(&mut self, out: &mut BytesMut, items: &[bytes::Bytes]) {
        // Node boundaries first: the node count precedes the nodes.
        let mut nodes: Vec<(usize, usize, bool)> = Vec::new();
        let empty_lp = 7;
        let (mut start, mut count, mut size) = (0, 0, empty_lp);
        for (i, e) in items.iter().enumerate() {
            if e.len() >= LIST_PLAIN_THRESHOLD {
                if count > 0 {
                    nodes.push((start, i, false));
                }
                nodes.push((i, i + 1, true));
                (start, count, size) = (i + 1, 0, empty_lp);
                continue;
            }
            if count > 0 && !self.limits.node_accepts(size, count, e.len()) {
                nodes.push((start, i, false));
                (start, count, size) = (i, 0, empty_lp);
            }
            size += listpack::entry_size(e);
            count += 1;
        }
        if count > 0 {
            nodes.push((start, items.len(), false));
        }
        put_len(out, nodes.len() as u64);
        for (from, to, plain) in nodes {
            let node = items.get(from..to).unwrap_or_default();
            if plain {
                put_len(out, container::PLAIN);
                for e in node {
                    self.strings.put(out, e);
                }
            } else {
                put_len(out, container::PACKED);
                self.lp.start();
                for e in node {
                    self.lp.push(e);
                }
                self.strings.put(out, self.lp.finish());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(value: &RdbValue) -> (u8, Vec<u8>) {
        let mut e = Encoder::new(false, EncodingLimits::default());
        let t = e.value_type(value);
        let mut out = BytesMut::new();
        e.put_value(&mut out, value, t);
        (t, out.to_vec())
    }

    #[test]
    fn lengths() {
        for (n, bytes) in [
            (0u64, vec![0u8]),
            (63, vec![63]),
            (64, vec![0x40, 64]),
            (16383, vec![0x7f, 0xff]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = BytesMut::new();
            put_len(&mut out, n);
            assert_eq!(out.to_vec(), bytes, "{n}");
        }
    }

    #[test]
    fn strings_pick_redis_encodings() {
        let mut s = StringEncoder::default();
        let mut put = |v: &[u8], comp: bool| {
            s.compression = comp;
            let mut out = BytesMut::new();
            s.put(&mut out, v);
            out.to_vec()
        };
        assert_eq!(put(b"12", true), vec![0xc0, 12]);
        assert_eq!(put(b"-129", true), vec![0xc1, 0x7f, 0xff]);
        assert_eq!(put(b"100000", true), vec![0xc2, 0xa0, 0x86, 1, 0]);
        assert_eq!(put(b"4294967296", true)[0], 10);
        assert_eq!(put(b"012", true), b"\x03012".to_vec());
        let long = vec![b'a'; 100];
        assert_eq!(put(&long, true)[0], 0xc3);
        assert_eq!(put(&long, false)[0], 0x40);
        assert_eq!(put(&long[..20], true)[0], 20);
    }

    fn value_type(v: &RdbValue) -> u8 {
        super::value_type(v, &EncodingLimits::default())
    }

    #[test]
    fn types_follow_redis_thresholds() {
        let ints: Vec<Bytes> = (0..512).map(|i| Bytes::from(i.to_string())).collect();
        assert_eq!(
            value_type(&RdbValue::Set(ints.clone())),
            rdb_type::SET_INTSET
        );
        let mut more = ints.clone();
        more.push(Bytes::from("512"));
        assert_eq!(value_type(&RdbValue::Set(more)), rdb_type::SET);
        assert_eq!(
            value_type(&RdbValue::Set(vec![Bytes::from("a")])),
            rdb_type::SET
        );
        let h: Vec<(Bytes, Bytes)> = (0..513)
            .map(|i| (Bytes::from(i.to_string()), Bytes::new()))
            .collect();
        assert_eq!(
            value_type(&RdbValue::Hash(h[..512].to_vec())),
            rdb_type::HASH_LISTPACK
        );
        assert_eq!(value_type(&RdbValue::Hash(h)), rdb_type::HASH);
        let small = vec![(Bytes::from("f"), Bytes::from(vec![b'v'; 64]))];
        assert_eq!(value_type(&RdbValue::Hash(small)), rdb_type::HASH_LISTPACK);
        let big = vec![(Bytes::from("f"), Bytes::from(vec![b'v'; 65]))];
        assert_eq!(value_type(&RdbValue::Hash(big)), rdb_type::HASH);
        let z: Vec<(Bytes, f64)> = (0..129)
            .map(|i| (Bytes::from(i.to_string()), 1.0))
            .collect();
        assert_eq!(value_type(&RdbValue::SortedSet(z)), rdb_type::ZSET_2);
    }

    #[test]
    fn intsets_are_sorted() {
        let (t, body) = enc(&RdbValue::Set(vec![Bytes::from("3"), Bytes::from("-1")]));
        assert_eq!(t, rdb_type::SET_INTSET);
        assert_eq!(body, vec![12, 2, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 3, 0]);
    }

    #[test]
    fn node_limits_follow_list_max_listpack_size() {
        let mut l = EncodingLimits::default();
        assert!(l.node_accepts(8000, 100, 184));
        assert!(!l.node_accepts(8000, 100, 185));
        l.list_max_listpack_size = -1;
        assert!(!l.node_accepts(4000, 1, 100));
        l.list_max_listpack_size = 3;
        assert!(l.node_accepts(100, 2, 10));
        assert!(!l.node_accepts(100, 3, 10));
        assert!(!l.node_accepts(8000, 1, 500));
    }

    #[test]
    fn lists_split_into_8k_nodes() {
        let items: Vec<Bytes> = (0..3000)
            .map(|i| Bytes::from(format!("element-{i}")))
            .collect();
        let (t, body) = enc(&RdbValue::List(items));
        assert_eq!(t, rdb_type::LIST_QUICKLIST_2);
        // 3000 entries of ~13 bytes: several nodes, each under 8 KiB.
        assert!(body[0] > 1 && body[0] < 10, "{} nodes", body[0]);
    }
}
