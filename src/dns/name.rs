//! Domain names as lower-cased wire-format bytes.
//!
//! Every name the server stores or looks up is a [`Name`]: the uncompressed wire form
//! (length-prefixed labels, ending with the root label) with ASCII letters folded to lower
//! case, so that comparison and hashing are plain byte operations (RFC 4343).

use std::fmt;

/// Longest name in wire form (RFC 1035 3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// A domain name, lower-cased, in uncompressed wire form (always ends with the root label).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Box<[u8]>);

/// Why a presentation-format name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// A label was empty (two dots in a row, or a leading dot).
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    /// A label was longer than 63 bytes.
    #[error("label longer than 63 bytes in {0:?}")]
    LabelTooLong(String),
    /// The whole name was longer than 255 bytes.
    #[error("name longer than 255 bytes: {0:?}")]
    TooLong(String),
    /// A backslash escape was malformed.
    #[error("bad escape in {0:?}")]
    BadEscape(String),
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Self(Box::new([0]))
    }

    /// Builds a name from wire bytes that are already validated and lower-cased.
    pub(crate) fn from_wire_lower(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// Parses an absolute presentation-format name (`www.example.test.`; the final dot is
    /// optional). Supports `\.` and `\DDD` escapes.
    pub fn parse_absolute(text: &str) -> Result<Self, NameError> {
        if text == "." || text.is_empty() {
            return Ok(Self::root());
        }
        let mut out = Vec::with_capacity(text.len() + 2);
        let mut label = Vec::with_capacity(MAX_LABEL_LEN);
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut ended_with_dot = false;
        while i < bytes.len() {
            ended_with_dot = false;
            match bytes[i] {
                b'.' => {
                    push_label(&mut out, &label, text)?;
                    label.clear();
                    ended_with_dot = true;
                    i += 1;
                }
                b'\\' => {
                    let rest = &bytes[i + 1..];
                    if rest.len() >= 3 && rest[..3].iter().all(u8::is_ascii_digit) {
                        let value = u32::from(rest[0] - b'0') * 100
                            + u32::from(rest[1] - b'0') * 10
                            + u32::from(rest[2] - b'0');
                        let byte =
                            u8::try_from(value).map_err(|_| NameError::BadEscape(text.into()))?;
                        label.push(byte.to_ascii_lowercase());
                        i += 4;
                    } else if let Some(&c) = rest.first() {
                        label.push(c.to_ascii_lowercase());
                        i += 2;
                    } else {
                        return Err(NameError::BadEscape(text.into()));
                    }
                }
                c => {
                    label.push(c.to_ascii_lowercase());
                    i += 1;
                }
            }
        }
        if !ended_with_dot {
            push_label(&mut out, &label, text)?;
        }
        out.push(0);
        if out.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(text.into()));
        }
        Ok(Self(out.into()))
    }

    /// Parses a name relative to `origin`: `@` is the origin itself, a name ending in `.` is
    /// absolute, anything else has the origin appended.
    pub fn parse_relative(text: &str, origin: &Self) -> Result<Self, NameError> {
        if text == "@" {
            return Ok(origin.clone());
        }
        if text.ends_with('.') && !text.ends_with("\\.") {
            return Self::parse_absolute(text);
        }
        let relative = Self::parse_absolute(text)?;
        relative.append(origin, text)
    }

    fn append(&self, suffix: &Self, text: &str) -> Result<Self, NameError> {
        let mut out = Vec::with_capacity(self.0.len() + suffix.0.len());
        out.extend_from_slice(&self.0[..self.0.len() - 1]);
        out.extend_from_slice(&suffix.0);
        if out.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(text.into()));
        }
        Ok(Self(out.into()))
    }

    /// The wire bytes (lower case, uncompressed).
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The labels from left to right, without the root label.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let mut at = 0;
        std::iter::from_fn(move || {
            let len = usize::from(*self.0.get(at)?);
            if len == 0 {
                return None;
            }
            let label = self.0.get(at + 1..at + 1 + len)?;
            at += 1 + len;
            Some(label)
        })
    }

    /// The name without its first label; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        wire_parent(&self.0).map(Self::from_wire_lower)
    }

    /// Whether `self` equals `ancestor` or lies below it.
    pub fn is_at_or_below(&self, ancestor: &Self) -> bool {
        wire_is_at_or_below(&self.0, &ancestor.0)
    }

    /// The first label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.0.get(..2) == Some(&[1, b'*'])
    }

    /// `*.` + `self`.
    pub fn wildcard_child(&self) -> Option<Self> {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        out.extend_from_slice(&[1, b'*']);
        out.extend_from_slice(&self.0);
        (out.len() <= MAX_NAME_LEN).then(|| Self(out.into()))
    }

    /// `label.` + `self` (label given as raw bytes, folded to lower case).
    pub fn child(&self, label: &[u8]) -> Option<Self> {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return None;
        }
        let mut out = Vec::with_capacity(self.0.len() + label.len() + 1);
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        out.extend_from_slice(&self.0);
        (out.len() <= MAX_NAME_LEN).then(|| Self(out.into()))
    }
}

/// The wire form of the parent of a wire name (`None` for the root).
pub(crate) fn wire_parent(wire: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*wire.first()?);
    if len == 0 {
        return None;
    }
    wire.get(1 + len..)
}

/// Whether wire name `name` equals or lies below wire name `ancestor` (both lower case).
pub(crate) fn wire_is_at_or_below(name: &[u8], ancestor: &[u8]) -> bool {
    let mut at = name;
    loop {
        if at.len() == ancestor.len() {
            return at == ancestor;
        }
        if at.len() < ancestor.len() {
            return false;
        }
        match wire_parent(at) {
            Some(parent) => at = parent,
            None => return false,
        }
    }
}

fn push_label(out: &mut Vec<u8>, label: &[u8], text: &str) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel(text.into()));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(NameError::LabelTooLong(text.into()));
    }
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    Ok(())
}

/// Writes a wire-format name in presentation format (with the final dot), escaping bytes
/// that are not letters, digits, `-`, `_` or `*`.
pub fn write_wire_text(wire: &[u8], f: &mut impl fmt::Write) -> fmt::Result {
    let mut at = 0;
    let mut any = false;
    while let Some(&len) = wire.get(at) {
        let len = usize::from(len);
        if len == 0 {
            break;
        }
        let Some(label) = wire.get(at + 1..at + 1 + len) else {
            break;
        };
        for &b in label {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'*' => {
                    f.write_char(char::from(b))?
                }
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    f.write_char('\\')?;
                    f.write_char(char::from(b))?;
                }
                _ => write!(f, "\\{b:03}")?,
            }
        }
        f.write_char('.')?;
        any = true;
        at += 1 + len;
    }
    if !any {
        f.write_char('.')?;
    }
    Ok(())
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_wire_text(&self.0, f)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl std::borrow::Borrow<[u8]> for Name {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let n = Name::parse_absolute("WWW.Example.Test.").unwrap();
        assert_eq!(n.as_wire(), b"\x03www\x07example\x04test\x00");
        assert_eq!(n.to_string(), "www.example.test.");
        assert_eq!(Name::parse_absolute("a.b").unwrap().to_string(), "a.b.");
        assert_eq!(Name::root().to_string(), ".");
        assert_eq!(Name::parse_absolute("a\\.b.c.").unwrap().label_count(), 2);
        assert_eq!(
            Name::parse_absolute("\\065.b.").unwrap().to_string(),
            "a.b."
        );
    }

    #[test]
    fn rejects_bad_names() {
        assert!(matches!(
            Name::parse_absolute("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        let long = "a".repeat(64);
        assert!(matches!(
            Name::parse_absolute(&long),
            Err(NameError::LabelTooLong(_))
        ));
        let many = vec!["abcdefghi"; 30].join(".");
        assert!(matches!(
            Name::parse_absolute(&many),
            Err(NameError::TooLong(_))
        ));
        assert!(Name::parse_absolute("a\\").is_err());
    }

    #[test]
    fn relative_and_hierarchy() {
        let origin = Name::parse_absolute("gslb.example.test.").unwrap();
        let www = Name::parse_relative("www", &origin).unwrap();
        assert_eq!(www.to_string(), "www.gslb.example.test.");
        assert_eq!(Name::parse_relative("@", &origin).unwrap(), origin);
        assert_eq!(
            Name::parse_relative("x.other.", &origin)
                .unwrap()
                .to_string(),
            "x.other."
        );
        assert!(www.is_at_or_below(&origin));
        assert!(origin.is_at_or_below(&origin));
        assert!(!origin.is_at_or_below(&www));
        assert!(
            !Name::parse_absolute("xgslb.example.test")
                .unwrap()
                .is_at_or_below(&origin)
        );
        assert_eq!(www.parent().unwrap(), origin);
        assert!(origin.wildcard_child().unwrap().is_wildcard());
        assert_eq!(Name::root().parent(), None);
    }
}
