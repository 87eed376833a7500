//! The stored forms of the AAF object layer (FORMATS.md §3.1): the
//! `properties` stream, the `index` streams of strong and weak reference
//! collections, weak-reference values and the `referenced properties` table.
//! Hand-written because no crate decodes them; every count is checked
//! against the bytes actually present before anything is allocated.

use crate::error::{Error, Result};

/// Stored forms (the `u16` after each pid in a `properties` stream).
pub mod form {
    pub const DATA: u16 = 0x82;
    pub const STRONG_REF: u16 = 0x22;
    pub const STRONG_REF_VECTOR: u16 = 0x32;
    pub const STRONG_REF_SET: u16 = 0x3A;
    pub const WEAK_REF: u16 = 0x02;
    pub const WEAK_REF_VECTOR: u16 = 0x12;
    pub const WEAK_REF_SET: u16 = 0x1A;
    pub const DATA_STREAM: u16 = 0x42;
}

/// Little-endian cursor over a stream's bytes that reports the stream and
/// offset of a short read.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    stream: &'a str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], stream: &'a str) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            stream,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn err(&self, what: impl Into<String>) -> Error {
        Error::malformed(self.stream, self.pos as u64, what)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "needs {n} bytes, {} left (truncated?)",
                self.remaining()
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// One entry of a `properties` stream: pid, stored form and the value bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropEntry {
    pub pid: u16,
    pub form: u16,
    pub data: Vec<u8>,
}

/// A decoded `properties` stream. [`PropSet::encode`] gives back the exact
/// bytes it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropSet {
    pub byte_order: u8,
    pub version: u8,
    pub entries: Vec<PropEntry>,
}

/// The only byte order the writers use ('L', little-endian).
pub const BYTE_ORDER_LE: u8 = 0x4C;
/// The `properties` stream version the AAF SDK and pyaaf2 write.
pub const PROPERTIES_VERSION: u8 = 0x20;

impl PropSet {
    pub fn empty() -> PropSet {
        PropSet {
            byte_order: BYTE_ORDER_LE,
            version: PROPERTIES_VERSION,
            entries: Vec::new(),
        }
    }

    pub fn parse(data: &[u8], stream: &str) -> Result<PropSet> {
        let mut r = Reader::new(data, stream);
        let byte_order = r.u8()?;
        if byte_order != BYTE_ORDER_LE {
            return Err(Error::malformed(
                stream,
                0,
                format!("byte order 0x{byte_order:02x}, only little-endian ('L') is supported"),
            ));
        }
        let version = r.u8()?;
        let count = r.u16()? as usize;
        // Each entry header is 6 bytes: check before allocating.
        if count * 6 > r.remaining() {
            return Err(r.err(format!("{count} property entries do not fit the stream")));
        }
        let mut heads = Vec::with_capacity(count);
        for _ in 0..count {
            heads.push((r.u16()?, r.u16()?, r.u16()? as usize));
        }
        let mut entries = Vec::with_capacity(count);
        for (pid, form, size) in heads {
            let at = r.pos();
            let data = r.bytes(size).map_err(|_| {
                Error::malformed(
                    stream,
                    at as u64,
                    format!("value of property 0x{pid:04x} ({size} bytes) runs past the end"),
                )
            })?;
            entries.push(PropEntry {
                pid,
                form,
                data: data.to_vec(),
            });
        }
        Ok(PropSet {
            byte_order,
            version,
            entries,
        })
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let count = u16::try_from(self.entries.len())
            .map_err(|_| Error::edit("more than 65535 properties on one object"))?;
        let mut out = vec![self.byte_order, self.version];
        out.extend_from_slice(&count.to_le_bytes());
        for e in &self.entries {
            let len = u16::try_from(e.data.len()).map_err(|_| {
                Error::edit(format!(
                    "value of property 0x{:04x} is {} bytes, over 65535",
                    e.pid,
                    e.data.len()
                ))
            })?;
            out.extend_from_slice(&e.pid.to_le_bytes());
            out.extend_from_slice(&e.form.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        for e in &self.entries {
            out.extend_from_slice(&e.data);
        }
        Ok(out)
    }

    pub fn get(&self, pid: u16) -> Option<&PropEntry> {
        self.entries.iter().find(|e| e.pid == pid)
    }
}

/// Decodes a NUL-terminated (or unterminated) UTF-16LE string; odd trailing
/// bytes and invalid surrogates are errors.
pub(crate) fn utf16(data: &[u8], stream: &str, offset: u64) -> Result<String> {
    if !data.len().is_multiple_of(2) {
        return Err(Error::malformed(
            stream,
            offset,
            format!("UTF-16 string of odd length {}", data.len()),
        ));
    }
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16(&units)
        .map_err(|_| Error::malformed(stream, offset, "invalid UTF-16 string"))
}

/// Encodes a string as UTF-16LE with a terminating NUL.
pub(crate) fn utf16_nul(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

/// A strong-reference vector's index stream: the local keys of the elements,
/// in order; element `i` is the storage `<name>{<key hex>}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorIndex {
    pub next_free_key: u32,
    pub last_free_key: u32,
    pub keys: Vec<u32>,
}

impl VectorIndex {
    pub fn parse(data: &[u8], stream: &str) -> Result<VectorIndex> {
        let mut r = Reader::new(data, stream);
        let count = r.u32()? as usize;
        let next_free_key = r.u32()?;
        let last_free_key = r.u32()?;
        if count > r.remaining() / 4 {
            return Err(r.err(format!("{count} vector entries do not fit the stream")));
        }
        let keys = (0..count).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
        Ok(VectorIndex {
            next_free_key,
            last_free_key,
            keys,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 4 * self.keys.len());
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.next_free_key.to_le_bytes());
        out.extend_from_slice(&self.last_free_key.to_le_bytes());
        for k in &self.keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
        out
    }
}

/// One element of a strong-reference set's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetEntry {
    pub local_key: u32,
    pub ref_count: u32,
    /// The element's unique identifier (an AUID or a MobID).
    pub key: Vec<u8>,
}

/// A strong-reference set's index stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetIndex {
    pub next_free_key: u32,
    pub last_free_key: u32,
    /// The pid of the property whose value is each element's key.
    pub key_pid: u16,
    pub key_size: u8,
    pub entries: Vec<SetEntry>,
}

impl SetIndex {
    pub fn parse(data: &[u8], stream: &str) -> Result<SetIndex> {
        let mut r = Reader::new(data, stream);
        let count = r.u32()? as usize;
        let next_free_key = r.u32()?;
        let last_free_key = r.u32()?;
        let key_pid = r.u16()?;
        let key_size = r.u8()?;
        let each = 8 + key_size as usize;
        if count > r.remaining() / each {
            return Err(r.err(format!("{count} set entries do not fit the stream")));
        }
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            entries.push(SetEntry {
                local_key: r.u32()?,
                ref_count: r.u32()?,
                key: r.bytes(key_size as usize)?.to_vec(),
            });
        }
        Ok(SetIndex {
            next_free_key,
            last_free_key,
            key_pid,
            key_size,
            entries,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.next_free_key.to_le_bytes());
        out.extend_from_slice(&self.last_free_key.to_le_bytes());
        out.extend_from_slice(&self.key_pid.to_le_bytes());
        out.push(self.key_size);
        for e in &self.entries {
            out.extend_from_slice(&e.local_key.to_le_bytes());
            out.extend_from_slice(&e.ref_count.to_le_bytes());
            out.extend_from_slice(&e.key);
        }
        out
    }
}

/// A weak reference: which `referenced properties` path (`tag`) holds the
/// target, the pid of the target's unique identifier and the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WeakRef {
    pub tag: u16,
    pub key_pid: u16,
    pub key: Vec<u8>,
}

impl WeakRef {
    /// A single weak reference value (stored form 0x02).
    pub fn parse(data: &[u8], stream: &str) -> Result<WeakRef> {
        let mut r = Reader::new(data, stream);
        let tag = r.u16()?;
        let key_pid = r.u16()?;
        let key_size = r.u8()? as usize;
        let key = r.bytes(key_size)?.to_vec();
        Ok(WeakRef { tag, key_pid, key })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.key.len());
        out.extend_from_slice(&self.tag.to_le_bytes());
        out.extend_from_slice(&self.key_pid.to_le_bytes());
        out.push(self.key.len() as u8);
        out.extend_from_slice(&self.key);
        out
    }
}

/// A weak-reference vector's or set's index stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeakIndex {
    pub tag: u16,
    pub key_pid: u16,
    pub key_size: u8,
    pub keys: Vec<Vec<u8>>,
}

impl WeakIndex {
    pub fn parse(data: &[u8], stream: &str) -> Result<WeakIndex> {
        let mut r = Reader::new(data, stream);
        let count = r.u32()? as usize;
        let tag = r.u16()?;
        let key_pid = r.u16()?;
        let key_size = r.u8()?;
        if key_size == 0 && count > 0 {
            return Err(r.err("weak reference keys of size 0"));
        }
        if key_size > 0 && count > r.remaining() / key_size as usize {
            return Err(r.err(format!("{count} weak references do not fit the stream")));
        }
        let keys = (0..count)
            .map(|_| r.bytes(key_size as usize).map(<[u8]>::to_vec))
            .collect::<Result<Vec<_>>>()?;
        Ok(WeakIndex {
            tag,
            key_pid,
            key_size,
            keys,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.tag.to_le_bytes());
        out.extend_from_slice(&self.key_pid.to_le_bytes());
        out.push(self.key_size);
        for k in &self.keys {
            out.extend_from_slice(k);
        }
        out
    }
}

/// The root `referenced properties` stream: the pid paths (from the root
/// object) of the collections weak references point into; a weak
/// reference's `tag` indexes this table.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReferencedProperties {
    pub byte_order: u8,
    pub paths: Vec<Vec<u16>>,
}

impl ReferencedProperties {
    pub fn parse(data: &[u8], stream: &str) -> Result<ReferencedProperties> {
        let mut r = Reader::new(data, stream);
        let byte_order = r.u8()?;
        let path_count = r.u16()? as usize;
        let pid_count = r.u32()? as usize;
        if pid_count > r.remaining() / 2 {
            return Err(r.err(format!("{pid_count} pids do not fit the stream")));
        }
        let mut paths = Vec::with_capacity(path_count.min(pid_count));
        let mut path = Vec::new();
        for _ in 0..pid_count {
            match r.u16()? {
                0 => paths.push(std::mem::take(&mut path)),
                pid => path.push(pid),
            }
        }
        if !path.is_empty() || paths.len() != path_count {
            return Err(r.err(format!(
                "{} paths found, header says {path_count}",
                paths.len()
            )));
        }
        Ok(ReferencedProperties { byte_order, paths })
    }

    pub fn encode(&self) -> Vec<u8> {
        let pid_count: usize = self.paths.iter().map(|p| p.len() + 1).sum();
        let mut out = vec![self.byte_order];
        out.extend_from_slice(&(self.paths.len() as u16).to_le_bytes());
        out.extend_from_slice(&(pid_count as u32).to_le_bytes());
        for p in &self.paths {
            for pid in p {
                out.extend_from_slice(&pid.to_le_bytes());
            }
            out.extend_from_slice(&[0, 0]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_stream_round_trips() {
        let set = PropSet {
            byte_order: BYTE_ORDER_LE,
            version: PROPERTIES_VERSION,
            entries: vec![
                PropEntry {
                    pid: 0x4802,
                    form: form::DATA,
                    data: utf16_nul("A1"),
                },
                PropEntry {
                    pid: 0x4803,
                    form: form::STRONG_REF,
                    data: utf16_nul("Segment-4803"),
                },
            ],
        };
        let bytes = set.encode().unwrap();
        assert_eq!(&bytes[..4], &[0x4C, 0x20, 2, 0]);
        assert_eq!(&bytes[4..10], &[0x02, 0x48, 0x82, 0, 6, 0]);
        assert_eq!(PropSet::parse(&bytes, "p").unwrap(), set);
    }

    #[test]
    fn truncated_or_huge_counts_are_errors() {
        let e = PropSet::parse(&[0x4C, 0x20, 0xff, 0xff, 1, 2], "x/properties").unwrap_err();
        assert!(e.to_string().contains("x/properties"), "{e}");
        assert!(PropSet::parse(&[0x4C], "p").is_err());
        assert!(PropSet::parse(&[0x42, 0x20, 0, 0], "p").is_err());
        let mut v = vec![0xff, 0xff, 0xff, 0xff];
        v.extend_from_slice(&[0; 8]);
        assert!(VectorIndex::parse(&v, "i").is_err());
        v.extend_from_slice(&[5, 0, 16]);
        assert!(SetIndex::parse(&v, "i").is_err());
        assert!(WeakIndex::parse(&[255, 255, 255, 255, 0, 0, 5, 0, 16], "w").is_err());
        assert!(ReferencedProperties::parse(&[0x4c, 1, 0, 255, 255, 255, 255], "r").is_err());
        assert!(utf16(&[0x41], "s", 0).is_err());
    }

    #[test]
    fn indexes_round_trip() {
        let v = VectorIndex {
            next_free_key: 3,
            last_free_key: 0xffff_ffff,
            keys: vec![0, 2],
        };
        assert_eq!(VectorIndex::parse(&v.encode(), "i").unwrap(), v);
        let s = SetIndex {
            next_free_key: 1,
            last_free_key: 0xffff_ffff,
            key_pid: 0x1b01,
            key_size: 16,
            entries: vec![SetEntry {
                local_key: 0,
                ref_count: 1,
                key: vec![7; 16],
            }],
        };
        assert_eq!(SetIndex::parse(&s.encode(), "i").unwrap(), s);
        let r = ReferencedProperties {
            byte_order: 0x4c,
            paths: vec![vec![1, 3], vec![2, 0x3b04, 0x2605]],
        };
        assert_eq!(ReferencedProperties::parse(&r.encode(), "r").unwrap(), r);
    }
}
