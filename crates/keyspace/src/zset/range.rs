//! The score and lexicographic ranges of ZRANGEBYSCORE, ZRANGEBYLEX and
//! friends, parsed from client arguments with Redis's rules.

use std::cmp::Ordering;

use bytes::Bytes;

/// A score interval as `ZRANGEBYSCORE` takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Whether the lower bound is excluded.
    pub minex: bool,
    /// Whether the upper bound is excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether `v` is at or above the lower bound.
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is at or below the upper bound.
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether no value can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexValue {
    /// `-`: below every string.
    Min,
    /// `+`: above every string.
    Max,
    /// A string bound.
    Str(Bytes),
}

/// A member interval as `ZRANGEBYLEX` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexValue,
    /// Upper bound.
    pub max: LexValue,
    /// Whether the lower bound is excluded.
    pub minex: bool,
    /// Whether the upper bound is excluded.
    pub maxex: bool,
}

pub(super) fn cmp_lex(a: &LexValue, b: &LexValue) -> Ordering {
    match (a, b) {
        (LexValue::Min, LexValue::Min) | (LexValue::Max, LexValue::Max) => Ordering::Equal,
        (LexValue::Min, _) | (_, LexValue::Max) => Ordering::Less,
        (LexValue::Max, _) | (_, LexValue::Min) => Ordering::Greater,
        (LexValue::Str(x), LexValue::Str(y)) => x.cmp(y),
    }
}

pub(super) fn cmp_member(m: &[u8], b: &LexValue) -> Ordering {
    match b {
        LexValue::Min => Ordering::Greater,
        LexValue::Max => Ordering::Less,
        LexValue::Str(s) => m.cmp(s),
    }
}

impl LexRange {
    /// Parses one bound: `-`, `+`, `[value` or `(value`.
    pub fn parse_item(item: &[u8]) -> Option<(LexValue, bool)> {
        match item.split_first() {
            Some((b'+', [])) => Some((LexValue::Max, true)),
            Some((b'-', [])) => Some((LexValue::Min, true)),
            Some((b'(', rest)) => Some((LexValue::Str(Bytes::copy_from_slice(rest)), true)),
            Some((b'[', rest)) => Some((LexValue::Str(Bytes::copy_from_slice(rest)), false)),
            _ => None,
        }
    }

    /// Parses a `min max` pair.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        let (min, minex) = Self::parse_item(min)?;
        let (max, maxex) = Self::parse_item(max)?;
        Some(LexRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    /// Whether `m` is at or above the lower bound.
    pub fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    /// Whether `m` is at or below the upper bound.
    pub fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// Whether no string can be in the range.
    pub fn is_empty(&self) -> bool {
        match cmp_lex(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.minex || self.maxex,
            Ordering::Less => false,
        }
    }
}
