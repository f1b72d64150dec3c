//! Name compression (RFC 1035 4.1.4) for the response writer.
//!
//! The writer hands every name it writes to a [`Compressor`], which remembers where in the
//! message each written label starts and how long the name is from that label on. A new
//! name is written as its labels up to the longest suffix already in the message, then a
//! pointer to that suffix; its literal labels are remembered in turn.
//!
//! ```text
//!   name to write: 04 mx01 05 deleg 07 example 04 test 00      (suffix lengths 25, 20, 14, 6, 1)
//!   remembered:    offset 12 -> 20 (deleg.example.test.), offset 18 -> 14 (example.test.) ...
//!   written:       04 mx01 C0 0C                               (a label and a pointer to 12)
//! ```
//!
//! Finding the suffix costs one bit test per label of the new name (a bitmap of the suffix
//! lengths remembered), then a label-by-label comparison, case-insensitive, only with
//! remembered suffixes of the same length. The table is a fixed array: no allocation per
//! message. When it is full, further names are still written correctly, only compressed
//! against what the table holds. Only offsets below 0x4000 can be pointed at (14 bits), so
//! nothing later in a large TCP message is remembered.
//!
//! Case: a pointer may lead to the same name in another case (the question as the client
//! wrote it). Names compare case-insensitively (RFC 4343), as every compressor does.

/// Remembered label positions per message.
pub const CAPACITY: usize = 64;

/// Most labels a [`Prepared`] record may leave in the table.
pub const PREPARED_LABELS: usize = 8;

/// Largest offset a compression pointer can hold.
const MAX_POINTER: usize = 0x3FFF;

/// What a message remembers of the names written so far.
#[derive(Debug, Clone)]
pub struct Compressor {
    /// Offset in the message of each remembered label.
    at: [u16; CAPACITY],
    /// Uncompressed length of the name from that label on (root label included).
    len: [u8; CAPACITY],
    /// Entries in use.
    count: usize,
    /// Bit `n` set when some entry has `len == n`.
    lengths: [u64; 4],
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

/// The state to return to when records are taken back ([`Compressor::rollback`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressorMark(usize);

impl Compressor {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            at: [0; CAPACITY],
            len: [0; CAPACITY],
            count: 0,
            lengths: [0; 4],
        }
    }

    /// Forgets everything (a new message).
    pub fn clear(&mut self) {
        self.count = 0;
        self.lengths = [0; 4];
    }

    /// Whether nothing is remembered yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The remembered labels, in the order remembered: offset and name length from there.
    pub(super) fn entries(&self) -> impl Iterator<Item = (u16, u8)> + '_ {
        self.at[..self.count]
            .iter()
            .copied()
            .zip(self.len[..self.count].iter().copied())
    }

    /// The current state, for [`rollback`](Self::rollback).
    pub fn mark(&self) -> CompressorMark {
        CompressorMark(self.count)
    }

    /// Forgets the labels remembered after `mark` (their bytes were removed from the
    /// message).
    pub fn rollback(&mut self, mark: CompressorMark) {
        if mark.0 >= self.count {
            return;
        }
        self.count = mark.0;
        self.lengths = [0; 4];
        for &len in &self.len[..self.count] {
            set_bit(&mut self.lengths, len);
        }
    }

    /// Remembers the labels of an uncompressed name written at `offset` in the message.
    pub fn remember(&mut self, name: &[u8], offset: usize) {
        let mut i = 0;
        while let Some(&label) = name.get(i) {
            if label == 0 {
                break;
            }
            self.add(offset + i, name.len() - i);
            i += 1 + usize::from(label);
        }
    }

    /// Remembers one label at `offset` whose name is `len` octets from there on.
    pub(super) fn add(&mut self, offset: usize, len: usize) {
        if self.count == CAPACITY || offset > MAX_POINTER {
            return;
        }
        let len = len as u8; // a name is at most 255 octets
        self.at[self.count] = offset as u16;
        self.len[self.count] = len;
        self.count += 1;
        set_bit(&mut self.lengths, len);
    }

    /// Appends `name` (uncompressed wire form, any case) to `msg`, compressed against the
    /// names already remembered, and remembers its literal labels.
    pub fn write(&mut self, msg: &mut Vec<u8>, name: &[u8]) {
        let (literal, pointer) = self.find(msg, name);
        let start = msg.len();
        msg.extend_from_slice(&name[..literal]);
        // Remember the literal labels (suffix lengths measured in `name`).
        let mut i = 0;
        while i < literal {
            self.add(start + i, name.len() - i);
            i += 1 + usize::from(name[i]);
        }
        match pointer {
            Some(target) => msg.extend_from_slice(&(0xC000 | target).to_be_bytes()),
            None => msg.push(0),
        }
    }

    /// The uncompressed wire length `write` would produce: the literal part, then 2 for a
    /// pointer or 1 for the root label.
    pub fn written_len(&self, msg: &[u8], name: &[u8]) -> usize {
        match self.find(msg, name) {
            (literal, Some(_)) => literal + 2,
            (literal, None) => literal + 1,
        }
    }

    /// The longest remembered suffix of `name`: how many octets of `name` come before it,
    /// and the offset to point at (`None`: no suffix but the root, all labels literal).
    fn find(&self, msg: &[u8], name: &[u8]) -> (usize, Option<u16>) {
        let mut i = 0;
        while let Some(&label) = name.get(i) {
            if label == 0 {
                break;
            }
            let suffix = &name[i..];
            if has_bit(&self.lengths, suffix.len()) {
                for k in 0..self.count {
                    if usize::from(self.len[k]) == suffix.len()
                        && same_name(msg, usize::from(self.at[k]), suffix)
                    {
                        return (i, Some(self.at[k]));
                    }
                }
            }
            i += 1 + usize::from(label);
        }
        (name.len().saturating_sub(1), None)
    }
}

/// A record encoded once (at load) as the writer writes it right after a question that is
/// `base` itself, with nothing else in the message: a zone's negative-answer SOA after a
/// question at or below the apex. After any question that ends in `base` the writer would
/// write the same bytes with every compression pointer moved by the question's extra length
/// ([`shift_for`](Self::shift_for) says when that holds), and remember the same labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The record as written after the question `base`.
    pub(super) bytes: Box<[u8]>,
    /// Offsets in `bytes` of its compression pointers.
    pub(super) pointers: Box<[u16]>,
    /// The labels it leaves in the table, in the order remembered: offset in `bytes` and
    /// length of the name from there on.
    pub(super) labels: Box<[(u16, u8)]>,
    /// The name the question ends in (lower case).
    base: Box<[u8]>,
    /// Labels of `base` (its entries in the table), root excluded.
    base_labels: usize,
    /// For each name of the record below `base`, its label just above `base` (lower case):
    /// a question whose label above `base` is one of these holds a longer suffix of that
    /// name, which the general writer would point at instead.
    guards: Box<[Box<[u8]>]>,
}

impl Prepared {
    /// From a record written after the question `base` (`bytes`, with its pointers and
    /// remembered labels as the writer found them) and the uncompressed names it holds.
    /// `None` when the table would not hold every label (the general writer then drops some),
    /// or the record has more than [`PREPARED_LABELS`] literal labels.
    pub(super) fn new(
        base: &[u8],
        bytes: Vec<u8>,
        pointers: Vec<u16>,
        labels: Vec<(u16, u8)>,
        names: &[&[u8]],
    ) -> Option<Self> {
        let base_labels = label_count(base);
        if base_labels + labels.len() > CAPACITY || labels.len() > PREPARED_LABELS {
            return None;
        }
        let guards = names
            .iter()
            .filter(|n| n.len() > base.len() && n.ends_with(base))
            .map(|n| {
                let mut at = 0;
                loop {
                    let next = at + 1 + usize::from(n[at]);
                    if next >= n.len() - base.len() {
                        return n[at..next].to_ascii_lowercase().into_boxed_slice();
                    }
                    at = next;
                }
            })
            .collect();
        Some(Self {
            bytes: bytes.into(),
            pointers: pointers.into(),
            labels: labels.into(),
            base: base.into(),
            base_labels,
            guards,
        })
    }

    /// How far the record moves after the question `qname` (lower case, wire form): its
    /// length past `base`, or `None` when the record does not apply (`qname` does not end in
    /// `base`, a name of the record has a longer suffix in `qname`, or the table would
    /// overflow).
    pub fn shift_for(&self, qname: &[u8]) -> Option<usize> {
        let extra = qname.len().checked_sub(self.base.len())?;
        if qname[extra..] != *self.base {
            return None;
        }
        let mut labels = 0;
        let mut at = 0;
        let mut last = &qname[..0];
        while at < extra {
            let next = at + 1 + usize::from(qname[at]);
            last = qname.get(at..next)?;
            at = next;
            labels += 1;
        }
        if at != extra || labels + self.base_labels + self.labels.len() > CAPACITY {
            return None;
        }
        if !last.is_empty() && self.guards.iter().any(|g| **g == *last) {
            return None;
        }
        Some(extra)
    }
}

/// Labels of a wire name, root excluded.
fn label_count(name: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        n += 1;
        at += 1 + usize::from(len);
    }
    n
}

fn set_bit(bits: &mut [u64; 4], n: u8) {
    bits[usize::from(n >> 6)] |= 1 << (n & 63);
}

fn has_bit(bits: &[u64; 4], n: usize) -> bool {
    n < 256 && bits[n >> 6] & (1 << (n & 63)) != 0
}

/// Whether the name at `at` in `msg` (possibly ending in a pointer, which the writer
/// itself wrote) equals `name` (uncompressed, of the same total length), ignoring ASCII case.
fn same_name(msg: &[u8], mut at: usize, name: &[u8]) -> bool {
    // The common case first: the name is in the message literally and in the same case
    // (zone data against zone data, or a question in lower case). One comparison of the
    // whole name; equal bytes are equal labels, since `name` is a well-formed name and
    // length octets (< 64) and pointer octets (>= 0xC0) are never ASCII letters.
    if msg.get(at..at + name.len()) == Some(name) {
        return true;
    }
    let mut i = 0;
    // At most 127 labels and as many pointers: bounded even if `msg` were corrupt.
    for _ in 0..256 {
        let Some(&len) = msg.get(at) else {
            return false;
        };
        if len >= 0xC0 {
            let Some(&low) = msg.get(at + 1) else {
                return false;
            };
            at = usize::from(len & 0x3F) << 8 | usize::from(low);
            continue;
        }
        let len = usize::from(len);
        if name.get(i) != Some(&(len as u8)) {
            return false;
        }
        if len == 0 {
            return i + 1 == name.len();
        }
        let (Some(a), Some(b)) = (msg.get(at + 1..at + 1 + len), name.get(i + 1..i + 1 + len))
        else {
            return false;
        };
        if a != b && !a.eq_ignore_ascii_case(b) {
            return false;
        }
        at += 1 + len;
        i += 1 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands the name at `at` in `msg`, following pointers (test helper).
    fn expand(msg: &[u8], mut at: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let len = msg[at];
            if len >= 0xC0 {
                at = usize::from(len & 0x3F) << 8 | usize::from(msg[at + 1]);
                continue;
            }
            out.extend_from_slice(&msg[at..at + 1 + usize::from(len)]);
            if len == 0 {
                return out;
            }
            at += 1 + usize::from(len);
        }
    }

    #[test]
    fn compresses_against_every_suffix_written() {
        let mut msg = vec![0u8; 12];
        let mut c = Compressor::new();
        let names: [&[u8]; 5] = [
            b"\x03WwW\x07example\x04test\x00",
            b"\x03mx1\x07example\x04test\x00",
            b"\x07example\x04test\x00",
            b"\x04test\x00",
            b"\x03www\x07example\x04test\x00",
        ];
        let mut starts = Vec::new();
        for n in names {
            starts.push(msg.len());
            c.write(&mut msg, n);
        }
        // The first is literal; mx1 is a label and a pointer; then pointers only.
        assert_eq!(starts[1] - starts[0], names[0].len());
        assert_eq!(starts[2] - starts[1], 4 + 2);
        assert_eq!(starts[3] - starts[2], 2);
        assert_eq!(starts[4] - starts[3], 2);
        assert_eq!(msg.len() - starts[4], 2);
        for (n, &s) in names.iter().zip(&starts) {
            assert!(expand(&msg, s).eq_ignore_ascii_case(n));
        }
    }

    #[test]
    fn root_and_unrelated_names() {
        let mut msg = Vec::new();
        let mut c = Compressor::new();
        c.write(&mut msg, b"\x00");
        assert_eq!(msg, [0]);
        c.write(&mut msg, b"\x01a\x00");
        c.write(&mut msg, b"\x01b\x00");
        assert_eq!(msg, b"\x00\x01a\x00\x01b\x00");
        // "a." again: a pointer to offset 1.
        c.write(&mut msg, b"\x01A\x00");
        assert_eq!(&msg[msg.len() - 2..], &[0xC0, 1]);
    }

    #[test]
    fn same_length_different_labels_do_not_match() {
        let mut msg = Vec::new();
        let mut c = Compressor::new();
        c.write(&mut msg, b"\x02ab\x01c\x00");
        let before = msg.len();
        c.write(&mut msg, b"\x01a\x02bc\x00");
        assert_eq!(msg.len() - before, 6, "written in full");
    }

    #[test]
    fn rollback_forgets_labels() {
        let mut msg = Vec::new();
        let mut c = Compressor::new();
        c.write(&mut msg, b"\x01a\x00");
        let mark = c.mark();
        let len = msg.len();
        c.write(&mut msg, b"\x01b\x01c\x00");
        msg.truncate(len);
        c.rollback(mark);
        let before = msg.len();
        c.write(&mut msg, b"\x01c\x00");
        assert_eq!(msg.len() - before, 3, "c. was forgotten");
        assert_eq!(c.written_len(&msg, b"\x01x\x01c\x00"), 4);
    }

    #[test]
    fn full_table_still_writes_correct_names() {
        let mut msg = Vec::new();
        let mut c = Compressor::new();
        let mut starts = Vec::new();
        for i in 0..(CAPACITY as u8 + 10) {
            let name = [1, b'a' + i % 26, 1, b'0' + i / 26, 0];
            starts.push((msg.len(), name));
            c.write(&mut msg, &name);
        }
        for (s, name) in starts {
            assert_eq!(expand(&msg, s), name);
        }
    }

    #[test]
    fn no_pointer_past_14_bits() {
        let mut msg = vec![0u8; MAX_POINTER + 1];
        let mut c = Compressor::new();
        c.write(&mut msg, b"\x01a\x00");
        let before = msg.len();
        c.write(&mut msg, b"\x01a\x00");
        assert_eq!(msg.len() - before, 3, "offset 0x4000 cannot be pointed at");
    }
}
