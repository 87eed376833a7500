//! AUIDs (16-byte class, type and definition identifiers) and MobIDs
//! (32-byte SMPTE UMIDs), kept as the bytes the file stores.

use std::fmt;

/// An AUID as stored in the file: a GUID in little-endian field order
/// (`Data1` u32, `Data2` u16, `Data3` u16, `Data4` 8 bytes). Displayed in
/// the usual GUID form, e.g. Header `0d010101-0101-2f00-060e-2b3402060101`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Auid(pub [u8; 16]);

impl Auid {
    /// From the GUID fields, as they are written in text.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Auid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Auid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// From 16 stored bytes; `None` if the slice is not 16 bytes long.
    pub fn from_slice(b: &[u8]) -> Option<Auid> {
        b.try_into().ok().map(Auid)
    }

    /// Parses the text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse(s: &str) -> Option<Auid> {
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok();
        let mut t = [0u8; 16];
        for (i, slot) in t.iter_mut().enumerate() {
            *slot = byte(i)?;
        }
        let d1 = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
        let d2 = u16::from_be_bytes([t[4], t[5]]);
        let d3 = u16::from_be_bytes([t[6], t[7]]);
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&t[8..]);
        Some(Auid::from_fields(d1, d2, d3, d4))
    }

    /// The same identifier as a `uuid::Uuid` (the form `cfb` uses for CLSIDs).
    pub fn to_uuid(self) -> uuid::Uuid {
        uuid::Uuid::from_bytes_le(self.0)
    }

    /// From a `cfb` CLSID.
    pub fn from_uuid(u: &uuid::Uuid) -> Auid {
        Auid(u.to_bytes_le())
    }

    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Auid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Auid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Auid({self})")
    }
}

/// A MobID (SMPTE UMID) as stored: 12-byte label, length, instance (3
/// bytes), material number (an AUID). Displayed as 64 hex digits of the
/// stored bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MobId(pub [u8; 32]);

impl MobId {
    pub fn from_slice(b: &[u8]) -> Option<MobId> {
        b.try_into().ok().map(MobId)
    }

    /// The material number (the last 16 bytes).
    pub fn material(&self) -> Auid {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.0[16..]);
        Auid(a)
    }

    pub fn is_nil(&self) -> bool {
        self.0 == [0; 32]
    }
}

impl fmt::Display for MobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_matches_stored_bytes() {
        // Header class: SMPTE UL 06.0e.2b.34.02.06.01.01.0d.01.01.01.01.01.2f.00
        // byte-swapped into GUID form (FORMATS.md §3.1).
        let a = Auid::parse("0d010101-0101-2f00-060e-2b3402060101").unwrap();
        assert_eq!(
            a.0,
            [1, 1, 1, 0x0d, 1, 1, 0, 0x2f, 6, 0x0e, 0x2b, 0x34, 2, 6, 1, 1]
        );
        assert_eq!(a.to_string(), "0d010101-0101-2f00-060e-2b3402060101");
        assert_eq!(Auid::from_uuid(&a.to_uuid()), a);
        assert!(Auid::parse("nope").is_none());
    }
}
