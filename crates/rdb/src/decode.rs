//! Decoding one value of a given RDB type, resumably.

use bytes::Bytes;

use crate::error::{RdbError, RdbErrorKind};
use crate::format::{container, rdb_type};
use crate::input::{Input, StrRead, PREALLOC_ELEMENTS};
use crate::listpack::{self, Item};
use crate::num::{i64_bytes, parse_score};
use crate::reader::ReaderOptions;
use crate::value::RdbValue;
use crate::{intset, ziplist, zipmap};

/// Outcome of decoding a value.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A value with at least one element.
    Value(RdbValue),
    /// A collection without elements, which Redis skips on load.
    Empty,
}

/// Where a value's decoding stands.
#[derive(Debug)]
enum State {
    String(StrRead),
    /// Types 1 and 2: a count, then that many strings.
    Seq {
        set: bool,
        remaining: Option<u64>,
        items: Vec<Bytes>,
        s: StrRead,
    },
    /// Types 3 and 5: a count, then member and score pairs.
    ZSet {
        binary: bool,
        remaining: Option<u64>,
        items: Vec<(Bytes, f64)>,
        member: Option<Bytes>,
        s: StrRead,
    },
    /// Type 4: a count, then field and value strings.
    Hash {
        remaining: Option<u64>,
        items: Vec<(Bytes, Bytes)>,
        field: Option<Bytes>,
        s: StrRead,
    },
    /// Types stored as one encoded string (ziplist, listpack, ...).
    Blob {
        rdb_type: u8,
        s: StrRead,
    },
    /// Types 14 and 18: a node count, then nodes.
    Quicklist {
        v2: bool,
        remaining: Option<u64>,
        container: Option<u64>,
        items: Vec<Bytes>,
        node_start: u64,
        s: StrRead,
    },
}

/// Decodes one value; feed it input with [`ValueParser::poll`] until it
/// returns a result.
#[derive(Debug)]
pub(crate) struct ValueParser {
    /// Stream offset where the value starts, for errors found only once it
    /// is complete (duplicates, corrupt blobs).
    start: u64,
    state: State,
}

fn corrupt(what: &'static str, reason: &'static str, at: u64) -> RdbError {
    RdbError::new(RdbErrorKind::Corrupt { what, reason }, at)
}

/// Fails if `items` holds the same byte string twice.
fn check_unique<'a>(
    items: impl ExactSizeIterator<Item = &'a [u8]>,
    what: &'static str,
    at: u64,
) -> Result<(), RdbError> {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(items.len(), Default::default());
    for m in items {
        if !seen.insert(m) {
            return Err(RdbError::new(
                RdbErrorKind::Duplicate {
                    what,
                    member: Bytes::copy_from_slice(m),
                },
                at,
            ));
        }
    }
    Ok(())
}

/// Converts a listpack or ziplist score entry.
fn item_score(item: Item<'_>, at: u64) -> Result<f64, RdbError> {
    let d = match item {
        Item::Int(i) => i as f64,
        Item::Str(s) => parse_score(s)
            .ok_or_else(|| RdbError::new(RdbErrorKind::BadScore(Bytes::copy_from_slice(s)), at))?,
    };
    if d.is_nan() {
        return Err(RdbError::new(RdbErrorKind::NanScore, at));
    }
    Ok(d)
}

/// Turns a flat list of entries into pairs; `what` names the blob.
fn pairs<'a>(
    items: &[Item<'a>],
    what: &'static str,
    at: u64,
) -> Result<Vec<(Item<'a>, Item<'a>)>, RdbError> {
    if items.len() % 2 != 0 {
        return Err(corrupt(
            what,
            "odd number of entries in a pair encoding",
            at,
        ));
    }
    Ok(items
        .chunks_exact(2)
        .filter_map(|c| match *c {
            [a, b] => Some((a, b)),
            _ => None,
        })
        .collect())
}

fn pairs_to_hash(
    p: Vec<(Item<'_>, Item<'_>)>,
    opts: &ReaderOptions,
    at: u64,
) -> Result<Parsed, RdbError> {
    let h: Vec<(Bytes, Bytes)> = p
        .into_iter()
        .map(|(f, v)| (f.to_bytes(), v.to_bytes()))
        .collect();
    finish_hash(h, opts, at)
}

fn pairs_to_zset(
    p: Vec<(Item<'_>, Item<'_>)>,
    opts: &ReaderOptions,
    at: u64,
) -> Result<Parsed, RdbError> {
    let mut z = Vec::with_capacity(p.len());
    for (m, s) in p {
        z.push((m.to_bytes(), item_score(s, at)?));
    }
    finish_zset(z, opts, at)
}

fn finish_hash(h: Vec<(Bytes, Bytes)>, opts: &ReaderOptions, at: u64) -> Result<Parsed, RdbError> {
    if h.is_empty() {
        return Ok(Parsed::Empty);
    }
    if opts.reject_duplicates {
        check_unique(h.iter().map(|(f, _)| f.as_ref()), "hash field", at)?;
    }
    Ok(Parsed::Value(RdbValue::Hash(h)))
}

fn finish_zset(z: Vec<(Bytes, f64)>, opts: &ReaderOptions, at: u64) -> Result<Parsed, RdbError> {
    if z.is_empty() {
        return Ok(Parsed::Empty);
    }
    if opts.reject_duplicates {
        check_unique(z.iter().map(|(m, _)| m.as_ref()), "sorted set member", at)?;
    }
    Ok(Parsed::Value(RdbValue::SortedSet(z)))
}

fn finish_set(s: Vec<Bytes>, opts: &ReaderOptions, at: u64) -> Result<Parsed, RdbError> {
    if s.is_empty() {
        return Ok(Parsed::Empty);
    }
    if opts.reject_duplicates {
        check_unique(s.iter().map(|m| m.as_ref()), "set member", at)?;
    }
    Ok(Parsed::Value(RdbValue::Set(s)))
}

fn finish_list(l: Vec<Bytes>) -> Parsed {
    if l.is_empty() {
        Parsed::Empty
    } else {
        Parsed::Value(RdbValue::List(l))
    }
}

/// Collects every entry of a listpack or ziplist blob.
fn entries<'a>(
    blob: &'a [u8],
    ziplist: bool,
    what: &'static str,
    at: u64,
) -> Result<Vec<Item<'a>>, RdbError> {
    let mut v = Vec::new();
    let push = |i| {
        v.push(i);
        Ok(())
    };
    let r = if ziplist {
        ziplist::for_each(blob, push)
    } else {
        listpack::for_each(blob, push)
    };
    r.map_err(|reason| corrupt(what, reason, at))?;
    Ok(v)
}

/// Decodes a value stored as a single encoded string.
fn decode_blob(t: u8, blob: &[u8], opts: &ReaderOptions, at: u64) -> Result<Parsed, RdbError> {
    match t {
        rdb_type::HASH_ZIPMAP => {
            let mut h = Vec::new();
            zipmap::for_each(blob, |f, v| {
                h.push((Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)));
                Ok(())
            })
            .map_err(|reason| corrupt("zipmap", reason, at))?;
            finish_hash(h, opts, at)
        }
        rdb_type::LIST_ZIPLIST => {
            let items = entries(blob, true, "ziplist", at)?;
            Ok(finish_list(items.into_iter().map(Item::to_bytes).collect()))
        }
        rdb_type::SET_INTSET => {
            let ints = intset::decode(blob).map_err(|reason| corrupt("intset", reason, at))?;
            // Sorted and strictly increasing, so already free of duplicates.
            Ok(Parsed::Value(RdbValue::Set(
                ints.into_iter().map(i64_bytes).collect(),
            )))
        }
        rdb_type::ZSET_ZIPLIST => {
            let items = entries(blob, true, "ziplist", at)?;
            pairs_to_zset(pairs(&items, "ziplist", at)?, opts, at)
        }
        rdb_type::HASH_ZIPLIST => {
            let items = entries(blob, true, "ziplist", at)?;
            pairs_to_hash(pairs(&items, "ziplist", at)?, opts, at)
        }
        rdb_type::HASH_LISTPACK => {
            let items = entries(blob, false, "listpack", at)?;
            pairs_to_hash(pairs(&items, "listpack", at)?, opts, at)
        }
        rdb_type::ZSET_LISTPACK => {
            let items = entries(blob, false, "listpack", at)?;
            pairs_to_zset(pairs(&items, "listpack", at)?, opts, at)
        }
        rdb_type::SET_LISTPACK => {
            let items = entries(blob, false, "listpack", at)?;
            finish_set(items.into_iter().map(Item::to_bytes).collect(), opts, at)
        }
        _ => Err(RdbError::new(RdbErrorKind::UnsupportedType(t), at)),
    }
}

/// Reads a score in the text form of type 3: a length byte (253 NaN, 254
/// +inf, 255 -inf) and that many bytes of text.
fn take_text_score(input: &mut Input) -> Result<Option<f64>, RdbError> {
    let at = input.offset();
    let avail = input.avail();
    let Some(&len) = avail.first() else {
        return Ok(None);
    };
    let (d, used) = match len {
        253 => (f64::NAN, 1),
        254 => (f64::INFINITY, 1),
        255 => (f64::NEG_INFINITY, 1),
        n => {
            let n = usize::from(n);
            let Some(text) = avail.get(1..1 + n) else {
                return Ok(None);
            };
            let d = parse_score(text).ok_or_else(|| {
                RdbError::new(RdbErrorKind::BadScore(Bytes::copy_from_slice(text)), at)
            })?;
            (d, 1 + n)
        }
    };
    if d.is_nan() {
        return Err(RdbError::new(RdbErrorKind::NanScore, at));
    }
    input.consume(used);
    Ok(Some(d))
}

/// Records a freshly read count, reserving a bounded amount of space.
fn start_count<T>(remaining: &mut Option<u64>, items: &mut Vec<T>, n: u64) {
    *remaining = Some(n);
    items.reserve(
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(PREALLOC_ELEMENTS),
    );
}

impl ValueParser {
    /// A parser for a value of type `t` starting at stream offset `start`,
    /// or `None` if this crate cannot decode that type.
    pub(crate) fn new(t: u8, start: u64) -> Option<Self> {
        let state = match t {
            rdb_type::STRING => State::String(StrRead::Start),
            rdb_type::LIST | rdb_type::SET => State::Seq {
                set: t == rdb_type::SET,
                remaining: None,
                items: Vec::new(),
                s: StrRead::Start,
            },
            rdb_type::ZSET | rdb_type::ZSET_2 => State::ZSet {
                binary: t == rdb_type::ZSET_2,
                remaining: None,
                items: Vec::new(),
                member: None,
                s: StrRead::Start,
            },
            rdb_type::HASH => State::Hash {
                remaining: None,
                items: Vec::new(),
                field: None,
                s: StrRead::Start,
            },
            rdb_type::HASH_ZIPMAP
            | rdb_type::LIST_ZIPLIST
            | rdb_type::SET_INTSET
            | rdb_type::ZSET_ZIPLIST
            | rdb_type::HASH_ZIPLIST
            | rdb_type::HASH_LISTPACK
            | rdb_type::ZSET_LISTPACK
            | rdb_type::SET_LISTPACK => State::Blob {
                rdb_type: t,
                s: StrRead::Start,
            },
            rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => State::Quicklist {
                v2: t == rdb_type::LIST_QUICKLIST_2,
                remaining: None,
                container: None,
                items: Vec::new(),
                node_start: start,
                s: StrRead::Start,
            },
            _ => return None,
        };
        Some(Self { start, state })
    }

    /// Consumes input; `Ok(None)` means more is needed.
    pub(crate) fn poll(
        &mut self,
        input: &mut Input,
        opts: &ReaderOptions,
    ) -> Result<Option<Parsed>, RdbError> {
        let at = self.start;
        let max_str = opts.max_string_len;
        let max_el = opts.max_elements;
        match &mut self.state {
            State::String(s) => Ok(s
                .poll(input, max_str)?
                .map(|b| Parsed::Value(RdbValue::String(b)))),
            State::Seq {
                set,
                remaining,
                items,
                s,
            } => loop {
                let left = match *remaining {
                    Some(n) => n,
                    None => {
                        let what = if *set { "set" } else { "list" };
                        let Some(n) = input.take_count(what, max_el)? else {
                            return Ok(None);
                        };
                        start_count(remaining, items, n);
                        n
                    }
                };
                if left == 0 {
                    let items = std::mem::take(items);
                    return if *set {
                        finish_set(items, opts, at).map(Some)
                    } else {
                        Ok(Some(finish_list(items)))
                    };
                }
                let Some(item) = s.poll(input, max_str)? else {
                    return Ok(None);
                };
                items.push(item);
                *remaining = Some(left - 1);
            },
            State::ZSet {
                binary,
                remaining,
                items,
                member,
                s,
            } => loop {
                let left = match *remaining {
                    Some(n) => n,
                    None => {
                        let Some(n) = input.take_count("sorted set", max_el)? else {
                            return Ok(None);
                        };
                        start_count(remaining, items, n);
                        n
                    }
                };
                if left == 0 {
                    return finish_zset(std::mem::take(items), opts, at).map(Some);
                }
                if member.is_none() {
                    let Some(m) = s.poll(input, max_str)? else {
                        return Ok(None);
                    };
                    *member = Some(m);
                }
                let score = if *binary {
                    let score_at = input.offset();
                    match input.take_array::<8>() {
                        Some(raw) => {
                            let d = f64::from_le_bytes(raw);
                            if d.is_nan() {
                                return Err(RdbError::new(RdbErrorKind::NanScore, score_at));
                            }
                            d
                        }
                        None => return Ok(None),
                    }
                } else {
                    match take_text_score(input)? {
                        Some(d) => d,
                        None => return Ok(None),
                    }
                };
                if let Some(m) = member.take() {
                    items.push((m, score));
                }
                *remaining = Some(left - 1);
            },
            State::Hash {
                remaining,
                items,
                field,
                s,
            } => loop {
                let left = match *remaining {
                    Some(n) => n,
                    None => {
                        let Some(n) = input.take_count("hash", max_el)? else {
                            return Ok(None);
                        };
                        start_count(remaining, items, n);
                        n
                    }
                };
                if left == 0 {
                    return finish_hash(std::mem::take(items), opts, at).map(Some);
                }
                if field.is_none() {
                    let Some(f) = s.poll(input, max_str)? else {
                        return Ok(None);
                    };
                    *field = Some(f);
                }
                let Some(v) = s.poll(input, max_str)? else {
                    return Ok(None);
                };
                if let Some(f) = field.take() {
                    items.push((f, v));
                }
                *remaining = Some(left - 1);
            },
            State::Blob { rdb_type, s } => {
                let Some(blob) = s.poll(input, max_str)? else {
                    return Ok(None);
                };
                decode_blob(*rdb_type, &blob, opts, at).map(Some)
            }
            State::Quicklist {
                v2,
                remaining,
                container,
                items,
                node_start,
                s,
            } => loop {
                let left = match *remaining {
                    Some(n) => n,
                    None => {
                        let Some(n) = input.take_count("quicklist", max_el)? else {
                            return Ok(None);
                        };
                        start_count(remaining, items, 0);
                        *remaining = Some(n);
                        n
                    }
                };
                if left == 0 {
                    return Ok(Some(finish_list(std::mem::take(items))));
                }
                if container.is_none() {
                    *node_start = input.offset();
                    if *v2 {
                        let Some(c) = input.take_len()? else {
                            return Ok(None);
                        };
                        if c != container::PLAIN && c != container::PACKED {
                            return Err(corrupt(
                                "quicklist",
                                "unknown node container",
                                *node_start,
                            ));
                        }
                        *container = Some(c);
                    } else {
                        *container = Some(container::PACKED);
                    }
                }
                let Some(node) = s.poll(input, max_str)? else {
                    return Ok(None);
                };
                if node.is_empty() {
                    return Err(corrupt("quicklist", "empty node", *node_start));
                }
                match (*v2, *container) {
                    (true, Some(container::PLAIN)) => items.push(node),
                    (v2, _) => {
                        let what = if v2 { "listpack" } else { "ziplist" };
                        let push = |i: Item<'_>| {
                            items.push(i.to_bytes());
                            Ok(())
                        };
                        if v2 {
                            listpack::for_each(&node, push)
                        } else {
                            ziplist::for_each(&node, push)
                        }
                        .map_err(|reason| corrupt(what, reason, *node_start))?;
                    }
                }
                if items.len() as u64 > max_el {
                    return Err(RdbError::new(
                        RdbErrorKind::LengthTooLarge {
                            what: "list",
                            len: items.len() as u64,
                            max: max_el,
                        },
                        *node_start,
                    ));
                }
                *container = None;
                *remaining = Some(left - 1);
            },
        }
    }
}
