//! The resumable RDB reader.

use bytes::Bytes;

use crate::decode::{Parsed, ValueParser};
use crate::error::{RdbError, RdbErrorKind};
use crate::format::{opcode, rdb_type, FIRST_CHECKSUM_VERSION, MAX_READ_VERSION, MIN_READ_VERSION};
use crate::input::{parse_len, Input, Len, StrRead};
use crate::value::{RdbEntry, RdbEvent};

/// Limits and checks applied by [`RdbReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Longest string (key, value, element or encoded blob) accepted, in
    /// bytes. Default 512 MiB, Redis's `proto-max-bulk-len` default.
    pub max_string_len: u64,
    /// Most elements (or pairs, or quicklist nodes) in one collection.
    /// Default 2^32.
    pub max_elements: u64,
    /// Verify the CRC-64 trailer (a zero trailer is never checked, as it
    /// means the writer did not compute one). Default true.
    pub verify_checksum: bool,
    /// Reject sets, sorted sets and hashes that hold a member or field twice,
    /// as Redis does. Default true.
    pub reject_duplicates: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_string_len: 512 * 1024 * 1024,
            max_elements: 1 << 32,
            verify_checksum: true,
            reject_duplicates: true,
        }
    }
}

/// Metadata given by opcodes before a key.
#[derive(Debug, Default, Clone, Copy)]
struct KeyMeta {
    expire_ms: Option<i64>,
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

/// Progress of a module aux record.
#[derive(Debug)]
enum ModuleStage {
    /// Module id, the `when` opcode and the `when` value.
    Header,
    /// The opcode of the next annotated value (0 ends the record).
    Opcode,
    /// A string value.
    String,
}

/// Fields of the 7.0 release-candidate function record, in order.
#[derive(Debug, Default)]
struct OldFunction {
    name: Option<Bytes>,
    engine: Option<Bytes>,
    has_desc: Option<bool>,
    desc_done: bool,
}

/// Outcome of reading at an opcode position.
enum Op {
    Event(RdbEvent),
    Continue,
    NeedMore,
}

#[derive(Debug)]
enum State {
    Magic,
    Opcode,
    Aux { key: Option<Bytes>, s: StrRead },
    ModuleAux { stage: ModuleStage, s: StrRead },
    OldFunction { fields: OldFunction, s: StrRead },
    Function(StrRead),
    Key { rdb_type: u8, s: StrRead },
    Value { key: Bytes, parser: ValueParser },
    Trailer,
    Done,
}

impl State {
    /// What is being read, for truncation errors.
    fn describe(&self) -> &'static str {
        match self {
            State::Magic => "the header",
            State::Opcode => "an opcode or its arguments",
            State::Aux { .. } => "an aux field",
            State::ModuleAux { .. } => "module aux data",
            State::OldFunction { .. } | State::Function(_) => "a function library",
            State::Key { .. } => "a key",
            State::Value { .. } => "a value",
            State::Trailer => "the checksum trailer",
            State::Done => "nothing",
        }
    }
}

/// Reads an RDB stream fed in chunks of any size, yielding [`RdbEvent`]s.
///
/// Sans-IO: [`feed`](Self::feed) bytes as they arrive, then call
/// [`next_event`](Self::next_event) until it returns `Ok(None)` (more bytes
/// needed). Memory use is bounded by the largest single value plus the
/// unconsumed input: lengths from the stream are checked against
/// [`ReaderOptions`] and preallocation is capped, so a corrupt length never
/// causes a large allocation.
///
/// ```
/// # fn main() -> Result<(), rdb::RdbError> {
/// use rdb::{RdbReader, RdbEvent, ReaderOptions};
/// let file: &[u8] = b"REDIS0010\xff\0\0\0\0\0\0\0\0";
/// let mut reader = RdbReader::new(ReaderOptions::default());
/// let mut events = Vec::new();
/// for chunk in file.chunks(4) {
///     reader.feed(chunk);
///     while let Some(ev) = reader.next_event()? {
///         events.push(ev);
///     }
/// }
/// reader.finish()?;
/// assert_eq!(events, vec![RdbEvent::Eof { checksum: None }]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RdbReader {
    opts: ReaderOptions,
    input: Input,
    state: State,
    version: Option<u32>,
    meta: KeyMeta,
    last_type: Option<u8>,
    skipped_empty: u64,
    error: Option<RdbError>,
}

impl Default for RdbReader {
    fn default() -> Self {
        Self::new(ReaderOptions::default())
    }
}

impl RdbReader {
    /// A reader expecting the start of an RDB stream.
    pub fn new(opts: ReaderOptions) -> Self {
        let input = Input::new(opts.verify_checksum);
        Self {
            opts,
            input,
            state: State::Magic,
            version: None,
            meta: KeyMeta::default(),
            last_type: None,
            skipped_empty: 0,
            error: None,
        }
    }

    /// Appends the next bytes of the stream.
    pub fn feed(&mut self, data: &[u8]) {
        self.input.feed(data);
    }

    /// The next event: `Ok(None)` when more input is needed (or the stream
    /// is done). After an error the reader is stuck and repeats the error.
    pub fn next_event(&mut self) -> Result<Option<RdbEvent>, RdbError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.step();
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        self.input.compact();
        r
    }

    /// Declares the end of the input: an error if the stream stopped before
    /// its checksum trailer (or an earlier error occurred).
    pub fn finish(&mut self) -> Result<(), RdbError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.is_done() {
            return Ok(());
        }
        let e = RdbError::new(
            RdbErrorKind::Truncated(self.state.describe()),
            self.input.end_offset(),
        );
        let e = match &self.state {
            State::Value { key, .. } => e.with_key(key),
            _ => e,
        };
        self.error = Some(e.clone());
        Err(e)
    }

    /// Whether the EOF event (and the checksum) has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Bytes of the stream consumed so far (after the EOF event: the size
    /// of the RDB data including its trailer).
    pub fn bytes_consumed(&self) -> u64 {
        self.input.offset()
    }

    /// The RDB version from the header, once read.
    pub fn rdb_version(&self) -> Option<u32> {
        self.version
    }

    /// The RDB type byte of the last [`RdbEvent::Entry`] returned (which
    /// says how Redis had encoded the value).
    pub fn last_value_type(&self) -> Option<u8> {
        self.last_type
    }

    /// Keys skipped because their collection had no elements (Redis skips
    /// those on load too).
    pub fn skipped_empty_keys(&self) -> u64 {
        self.skipped_empty
    }

    /// Removes and returns the bytes fed but not consumed: after the EOF
    /// event, whatever followed the RDB data in the input.
    pub fn take_unconsumed(&mut self) -> Bytes {
        self.input.take_rest()
    }

    fn err(&self, kind: RdbErrorKind) -> RdbError {
        RdbError::new(kind, self.input.offset())
    }

    fn step(&mut self) -> Result<Option<RdbEvent>, RdbError> {
        loop {
            match &mut self.state {
                State::Magic => {
                    let avail = self.input.avail();
                    let prefix = avail.get(..avail.len().min(5)).unwrap_or_default();
                    if !b"REDIS".starts_with(prefix) {
                        return Err(self.err(RdbErrorKind::BadMagic));
                    }
                    let Some(header) = self.input.take_array::<9>() else {
                        return Ok(None);
                    };
                    let digits = header.get(5..).unwrap_or_default();
                    if !digits.iter().all(u8::is_ascii_digit) {
                        return Err(RdbError::new(RdbErrorKind::BadMagic, 0));
                    }
                    let v = digits
                        .iter()
                        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                    if !(MIN_READ_VERSION..=MAX_READ_VERSION).contains(&v) {
                        return Err(RdbError::new(RdbErrorKind::UnsupportedVersion(v), 5));
                    }
                    self.version = Some(v);
                    self.state = State::Opcode;
                }
                State::Opcode => match self.read_opcode()? {
                    Op::Event(ev) => return Ok(Some(ev)),
                    Op::Continue => {}
                    Op::NeedMore => return Ok(None),
                },
                State::Aux { key, s } => {
                    let max = self.opts.max_string_len;
                    if key.is_none() {
                        let Some(k) = s.poll(&mut self.input, max)? else {
                            return Ok(None);
                        };
                        *key = Some(k);
                    }
                    let Some(value) = s.poll(&mut self.input, max)? else {
                        return Ok(None);
                    };
                    let key = key.take().unwrap_or_default();
                    self.state = State::Opcode;
                    return Ok(Some(RdbEvent::Aux { key, value }));
                }
                State::ModuleAux { stage, s } => match stage {
                    ModuleStage::Header => {
                        let at = self.input.offset();
                        let avail = self.input.avail();
                        // Module id, `when` opcode, `when`: three lengths.
                        let mut used = 0;
                        let mut vals = [0u64; 3];
                        for v in &mut vals {
                            match parse_len(avail.get(used..).unwrap_or_default())
                                .map_err(|k| RdbError::new(k, at))?
                            {
                                None => return Ok(None),
                                Some((Len::Plain(n), u)) => {
                                    *v = n;
                                    used += u;
                                }
                                Some((Len::Enc(_), _)) => {
                                    return Err(RdbError::new(
                                        RdbErrorKind::UnexpectedEncodedLength,
                                        at,
                                    ))
                                }
                            }
                        }
                        // The `when` value must be announced as an unsigned integer.
                        let [_module_id, when_opcode, _when] = vals;
                        if when_opcode != 2 {
                            return Err(RdbError::new(
                                RdbErrorKind::Corrupt {
                                    what: "module aux data",
                                    reason: "bad 'when' opcode",
                                },
                                at,
                            ));
                        }
                        self.input.consume(used);
                        *stage = ModuleStage::Opcode;
                    }
                    ModuleStage::Opcode => {
                        let at = self.input.offset();
                        let avail = self.input.avail();
                        let Some((op, used)) =
                            parse_len(avail).map_err(|k| RdbError::new(k, at))?
                        else {
                            return Ok(None);
                        };
                        let rest = avail.get(used..).unwrap_or_default();
                        // Bytes of the value after the opcode, for fixed-size values.
                        let value_len = match op {
                            Len::Plain(0) => {
                                self.input.consume(used);
                                self.state = State::Opcode;
                                return Ok(Some(RdbEvent::ModuleAux));
                            }
                            // Signed and unsigned integers are length-encoded.
                            Len::Plain(1 | 2) => {
                                match parse_len(rest).map_err(|k| RdbError::new(k, at))? {
                                    None => return Ok(None),
                                    Some((_, u)) => u,
                                }
                            }
                            Len::Plain(3) => 4,
                            Len::Plain(4) => 8,
                            Len::Plain(5) => {
                                self.input.consume(used);
                                *stage = ModuleStage::String;
                                continue;
                            }
                            _ => {
                                return Err(RdbError::new(
                                    RdbErrorKind::Corrupt {
                                        what: "module aux data",
                                        reason: "unknown value opcode",
                                    },
                                    at,
                                ))
                            }
                        };
                        if rest.len() < value_len {
                            return Ok(None);
                        }
                        self.input.consume(used + value_len);
                    }
                    ModuleStage::String => {
                        if s.poll(&mut self.input, self.opts.max_string_len)?.is_none() {
                            return Ok(None);
                        }
                        *stage = ModuleStage::Opcode;
                    }
                },
                State::OldFunction { fields, s } => {
                    let max = self.opts.max_string_len;
                    if fields.name.is_none() {
                        let Some(v) = s.poll(&mut self.input, max)? else {
                            return Ok(None);
                        };
                        fields.name = Some(v);
                    }
                    if fields.engine.is_none() {
                        let Some(v) = s.poll(&mut self.input, max)? else {
                            return Ok(None);
                        };
                        fields.engine = Some(v);
                    }
                    if fields.has_desc.is_none() {
                        let Some(v) = self.input.take_len()? else {
                            return Ok(None);
                        };
                        fields.has_desc = Some(v != 0);
                    }
                    if fields.has_desc == Some(true) && !fields.desc_done {
                        if s.poll(&mut self.input, max)?.is_none() {
                            return Ok(None);
                        }
                        fields.desc_done = true;
                    }
                    let Some(code) = s.poll(&mut self.input, max)? else {
                        return Ok(None);
                    };
                    // The 7.0 release candidates kept name and engine apart;
                    // later releases carry them in a shebang line instead.
                    let mut payload = Vec::with_capacity(code.len() + 64);
                    payload.extend_from_slice(b"#!");
                    payload.extend_from_slice(fields.engine.as_deref().unwrap_or_default());
                    payload.extend_from_slice(b" name=");
                    payload.extend_from_slice(fields.name.as_deref().unwrap_or_default());
                    payload.push(b'\n');
                    payload.extend_from_slice(&code);
                    self.state = State::Opcode;
                    return Ok(Some(RdbEvent::Function(Bytes::from(payload))));
                }
                State::Function(s) => {
                    let Some(code) = s.poll(&mut self.input, self.opts.max_string_len)? else {
                        return Ok(None);
                    };
                    self.state = State::Opcode;
                    return Ok(Some(RdbEvent::Function(code)));
                }
                State::Key { rdb_type: t, s } => {
                    let Some(key) = s.poll(&mut self.input, self.opts.max_string_len)? else {
                        return Ok(None);
                    };
                    let t = *t;
                    let start = self.input.offset();
                    let Some(parser) = ValueParser::new(t, start) else {
                        return Err(
                            RdbError::new(RdbErrorKind::UnsupportedType(t), start).with_key(&key)
                        );
                    };
                    self.last_type = Some(t);
                    self.state = State::Value { key, parser };
                }
                State::Value { key, parser } => {
                    let parsed = match parser.poll(&mut self.input, &self.opts) {
                        Ok(None) => return Ok(None),
                        Ok(Some(p)) => p,
                        Err(e) => return Err(e.with_key(key)),
                    };
                    let key = std::mem::take(key);
                    let meta = std::mem::take(&mut self.meta);
                    self.state = State::Opcode;
                    match parsed {
                        Parsed::Empty => self.skipped_empty += 1,
                        Parsed::Value(value) => {
                            return Ok(Some(RdbEvent::Entry(RdbEntry {
                                key,
                                value,
                                expire_ms: meta.expire_ms,
                                idle_secs: meta.idle_secs,
                                freq: meta.freq,
                            })));
                        }
                    }
                }
                State::Trailer => {
                    let at = self.input.offset();
                    let Some(raw) = self
                        .input
                        .avail()
                        .get(..8)
                        .and_then(|s| <[u8; 8]>::try_from(s).ok())
                    else {
                        return Ok(None);
                    };
                    let stored = u64::from_le_bytes(raw);
                    let computed = self.input.checksum();
                    if let Some(computed) = computed {
                        if stored != 0 && stored != computed {
                            return Err(RdbError::new(
                                RdbErrorKind::ChecksumMismatch { stored, computed },
                                at,
                            ));
                        }
                    }
                    self.input.consume_unhashed(8);
                    self.state = State::Done;
                    return Ok(Some(RdbEvent::Eof {
                        checksum: (stored != 0).then_some(stored),
                    }));
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// Handles the byte in opcode position: an event, or progress (possibly
    /// a new state), or nothing consumed because more input is needed.
    fn read_opcode(&mut self) -> Result<Op, RdbError> {
        let at = self.input.offset();
        let avail = self.input.avail();
        let Some((&op, rest)) = avail.split_first() else {
            return Ok(Op::NeedMore);
        };
        let lens = |n: usize| -> Result<Option<(Vec<u64>, usize)>, RdbError> {
            let mut used = 0;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                match parse_len(rest.get(used..).unwrap_or_default())
                    .map_err(|k| RdbError::new(k, at + 1 + used as u64))?
                {
                    None => return Ok(None),
                    Some((Len::Plain(v), u)) => {
                        out.push(v);
                        used += u;
                    }
                    Some((Len::Enc(_), _)) => {
                        return Err(RdbError::new(
                            RdbErrorKind::UnexpectedEncodedLength,
                            at + 1 + used as u64,
                        ))
                    }
                }
            }
            Ok(Some((out, 1 + used)))
        };
        match op {
            opcode::EOF => {
                self.input.consume(1);
                if self.version.is_some_and(|v| v < FIRST_CHECKSUM_VERSION) {
                    // Files older than RDB 5 have no checksum trailer.
                    self.state = State::Done;
                    return Ok(Op::Event(RdbEvent::Eof { checksum: None }));
                }
                self.state = State::Trailer;
                Ok(Op::Continue)
            }
            opcode::SELECTDB => {
                let Some((v, used)) = lens(1)? else {
                    return Ok(Op::NeedMore);
                };
                self.input.consume(used);
                Ok(Op::Event(RdbEvent::SelectDb(
                    v.first().copied().unwrap_or(0),
                )))
            }
            opcode::RESIZEDB => {
                let Some((v, used)) = lens(2)? else {
                    return Ok(Op::NeedMore);
                };
                self.input.consume(used);
                Ok(Op::Event(RdbEvent::ResizeDb {
                    db_size: v.first().copied().unwrap_or(0),
                    expires_size: v.get(1).copied().unwrap_or(0),
                }))
            }
            opcode::SLOT_INFO => {
                // A cluster sizing hint only: skipped.
                let Some((_, used)) = lens(3)? else {
                    return Ok(Op::NeedMore);
                };
                self.input.consume(used);
                Ok(Op::Continue)
            }
            opcode::EXPIRETIME_MS => {
                let Some(raw) = rest.get(..8).and_then(|s| <[u8; 8]>::try_from(s).ok()) else {
                    return Ok(Op::NeedMore);
                };
                self.meta.expire_ms = Some(i64::from_le_bytes(raw));
                self.input.consume(9);
                Ok(Op::Continue)
            }
            opcode::EXPIRETIME => {
                let Some(raw) = rest.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) else {
                    return Ok(Op::NeedMore);
                };
                self.meta.expire_ms = Some(i64::from(i32::from_le_bytes(raw)) * 1000);
                self.input.consume(5);
                Ok(Op::Continue)
            }
            opcode::IDLE => {
                let Some((v, used)) = lens(1)? else {
                    return Ok(Op::NeedMore);
                };
                self.meta.idle_secs = v.first().copied();
                self.input.consume(used);
                Ok(Op::Continue)
            }
            opcode::FREQ => {
                let Some(&f) = rest.first() else {
                    return Ok(Op::NeedMore);
                };
                self.meta.freq = Some(f);
                self.input.consume(2);
                Ok(Op::Continue)
            }
            opcode::AUX => {
                self.input.consume(1);
                self.state = State::Aux {
                    key: None,
                    s: StrRead::Start,
                };
                Ok(Op::Continue)
            }
            opcode::MODULE_AUX => {
                self.input.consume(1);
                self.state = State::ModuleAux {
                    stage: ModuleStage::Header,
                    s: StrRead::Start,
                };
                Ok(Op::Continue)
            }
            opcode::FUNCTION_PRE_GA => {
                self.input.consume(1);
                self.state = State::OldFunction {
                    fields: OldFunction::default(),
                    s: StrRead::Start,
                };
                Ok(Op::Continue)
            }
            opcode::FUNCTION2 => {
                self.input.consume(1);
                self.state = State::Function(StrRead::Start);
                Ok(Op::Continue)
            }
            t if rdb_type::is_known(t) => {
                self.input.consume(1);
                self.state = State::Key {
                    rdb_type: t,
                    s: StrRead::Start,
                };
                Ok(Op::Continue)
            }
            other => Err(RdbError::new(RdbErrorKind::UnknownOpcode(other), at)),
        }
    }
}

/// Reads a complete RDB file held in memory.
///
/// Fails if the data ends before the checksum trailer; bytes after the
/// trailer are ignored, as Redis does.
pub fn read_all(bytes: &[u8]) -> Result<Vec<RdbEvent>, RdbError> {
    let mut reader = RdbReader::default();
    let mut events = Vec::new();
    // Fed in pieces so the reader never copies the whole file at once.
    for chunk in bytes.chunks(256 * 1024) {
        reader.feed(chunk);
        while let Some(ev) = reader.next_event()? {
            events.push(ev);
        }
        if reader.is_done() {
            break;
        }
    }
    reader.finish()?;
    Ok(events)
}
