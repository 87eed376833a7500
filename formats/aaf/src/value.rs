//! Typed property values, decoded from and encoded to their stored bytes
//! through the file's own type definitions.

use crate::auid::{Auid, MobId};
use crate::error::{Error, Limits, Result};
use crate::meta::{ids, MetaDictionary, TypeKind};
use crate::store::{utf16, utf16_nul, WeakRef};

/// An AAF Rational.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    pub num: i32,
    pub den: i32,
}

impl Rational {
    pub fn new(num: i32, den: i32) -> Rational {
        Rational { num, den }
    }

    /// The value as a float; `None` when the denominator is 0.
    pub fn to_f64(self) -> Option<f64> {
        (self.den != 0).then(|| f64::from(self.num) / f64::from(self.den))
    }
}

/// An AAF TimeStamp (date and time, fraction in 1/250 s units as written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeStamp {
    pub year: i16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub fraction: u8,
}

/// A decoded property value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    Int(i64),
    UInt(u64),
    Bool(bool),
    Rational(Rational),
    Auid(Auid),
    MobId(MobId),
    TimeStamp(TimeStamp),
    String(String),
    /// An enumeration value and its name when the type lists it.
    Enum {
        value: i64,
        name: Option<String>,
    },
    /// An extendible-enumeration value (an AUID) and its name when listed.
    ExtEnum {
        value: Auid,
        name: Option<String>,
    },
    Record(Vec<(String, Value)>),
    Array(Vec<Value>),
    /// Arrays of bytes (`DataValue`, `UInt8Array`, ...).
    Bytes(Vec<u8>),
    /// A value that carries its own type.
    Indirect {
        type_id: Auid,
        value: Box<Value>,
    },
    /// Bytes of a type the reader may not know (kept, not decoded).
    Opaque {
        type_id: Auid,
        data: Vec<u8>,
    },
    /// A data-stream property: the name of the stream in the object's storage.
    Stream(String),
    /// A strong reference: the child storage's name.
    StrongRef(String),
    /// A strong-reference vector or set: the collection's storage-name stem.
    StrongRefs(String),
    /// A single weak reference.
    WeakRef(WeakRef),
    /// A weak-reference vector or set: the collection's index-stream stem.
    WeakRefs(String),
    /// The stored bytes of a property whose type is not defined.
    Unknown(Vec<u8>),
}

impl Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::UInt(v) => i64::try_from(*v).ok(),
            Value::Enum { value, .. } => Some(*value),
            Value::Indirect { value, .. } => value.as_i64(),
            _ => None,
        }
    }

    pub fn as_rational(&self) -> Option<Rational> {
        match self {
            Value::Rational(r) => Some(*r),
            Value::Indirect { value, .. } => value.as_rational(),
            _ => None,
        }
    }

    /// A number: a rational, an integer or a boolean, through Indirect.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Rational(r) => r.to_f64(),
            Value::Int(v) => Some(*v as f64),
            Value::UInt(v) => Some(*v as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Indirect { value, .. } => value.as_f64(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Indirect { value, .. } => value.as_str(),
            _ => None,
        }
    }

    pub fn as_auid(&self) -> Option<Auid> {
        match self {
            Value::Auid(a) => Some(*a),
            Value::ExtEnum { value, .. } => Some(*value),
            _ => None,
        }
    }

    pub fn as_mob_id(&self) -> Option<MobId> {
        match self {
            Value::MobId(m) => Some(*m),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Indirect { value, .. } => value.as_bool(),
            _ => None,
        }
    }
}

/// Decoding context: the dictionary, the limits and where the bytes are.
pub(crate) struct Ctx<'a> {
    pub meta: &'a MetaDictionary,
    pub limits: &'a Limits,
    pub stream: &'a str,
    pub offset: u64,
}

impl Ctx<'_> {
    fn err(&self, what: impl Into<String>) -> Error {
        Error::malformed(self.stream, self.offset, what)
    }

    fn kind(&self, t: &Auid, depth: usize) -> Result<TypeKind> {
        if depth > self.limits.max_type_depth {
            return Err(Error::limit(
                self.stream,
                format!(
                    "type nesting deeper than {} (cyclic type?)",
                    self.limits.max_type_depth
                ),
            ));
        }
        self.meta
            .type_def(t)
            .map(|d| d.kind)
            .ok_or_else(|| Error::undefined(format!("type {t}")).in_stream(self.stream))
    }

    /// The fixed byte size of a type, or `None` for variable-size types.
    pub fn size(&self, t: &Auid, depth: usize) -> Result<Option<usize>> {
        Ok(match self.kind(t, depth)? {
            TypeKind::Integer { size, .. } => Some(size as usize),
            TypeKind::Character => Some(2),
            TypeKind::Enum { element, .. } => self.size(&element, depth + 1)?,
            TypeKind::ExtEnum { .. } => Some(16),
            TypeKind::Rename { renamed } => self.size(&renamed, depth + 1)?,
            TypeKind::FixedArray { element, count } => self
                .size(&element, depth + 1)?
                .and_then(|s| s.checked_mul(count as usize)),
            TypeKind::Record { members } => {
                let mut total = 0usize;
                for (_, m) in &members {
                    match self.size(m, depth + 1)? {
                        Some(s) => total = total.saturating_add(s),
                        None => return Ok(None),
                    }
                }
                Some(total)
            }
            _ => None,
        })
    }

    /// Decodes `data` as a value of type `t`.
    pub fn decode(&self, t: &Auid, data: &[u8], depth: usize) -> Result<Value> {
        match *t {
            ids::RATIONAL if data.len() == 8 => {
                return Ok(Value::Rational(Rational {
                    num: i32::from_le_bytes([data[0], data[1], data[2], data[3]]),
                    den: i32::from_le_bytes([data[4], data[5], data[6], data[7]]),
                }))
            }
            ids::AUID if data.len() == 16 => {
                return Ok(Value::Auid(Auid::from_slice(data).unwrap_or_default()))
            }
            ids::MOBID if data.len() == 32 => {
                if let Some(m) = MobId::from_slice(data) {
                    return Ok(Value::MobId(m));
                }
            }
            ids::TIMESTAMP if data.len() == 8 => {
                return Ok(Value::TimeStamp(TimeStamp {
                    year: i16::from_le_bytes([data[0], data[1]]),
                    month: data[2],
                    day: data[3],
                    hour: data[4],
                    minute: data[5],
                    second: data[6],
                    fraction: data[7],
                }))
            }
            ids::BOOLEAN if data.len() == 1 => return Ok(Value::Bool(data[0] != 0)),
            _ => {}
        }
        match self.kind(t, depth)? {
            TypeKind::Integer { size, signed } => {
                if data.len() != size as usize || !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(self.err(format!(
                        "integer of {size} bytes stored in {} bytes",
                        data.len()
                    )));
                }
                let mut b = [0u8; 8];
                b[..data.len()].copy_from_slice(data);
                let u = u64::from_le_bytes(b);
                Ok(if signed {
                    let shift = 64 - 8 * u32::from(size);
                    Value::Int(((u << shift) as i64) >> shift)
                } else {
                    Value::UInt(u)
                })
            }
            TypeKind::Character => Ok(Value::String(utf16(data, self.stream, self.offset)?)),
            TypeKind::String { element } => match self.size(&element, depth + 1)? {
                Some(1) => Ok(Value::String(
                    String::from_utf8_lossy(data.split(|b| *b == 0).next().unwrap_or(&[]))
                        .into_owned(),
                )),
                _ => Ok(Value::String(utf16(data, self.stream, self.offset)?)),
            },
            TypeKind::Enum {
                element,
                names,
                values,
            } => {
                let v = self
                    .decode(&element, data, depth + 1)?
                    .as_i64()
                    .ok_or_else(|| self.err("enumeration over a non-integer type"))?;
                let name = values
                    .iter()
                    .position(|x| *x == v)
                    .and_then(|i| names.get(i).cloned());
                Ok(Value::Enum { value: v, name })
            }
            TypeKind::ExtEnum { names, values } => {
                let a = Auid::from_slice(data)
                    .ok_or_else(|| self.err("extendible enumeration value is not 16 bytes"))?;
                let name = values
                    .iter()
                    .position(|x| *x == a)
                    .and_then(|i| names.get(i).cloned());
                Ok(Value::ExtEnum { value: a, name })
            }
            TypeKind::Rename { renamed } => self.decode(&renamed, data, depth + 1),
            TypeKind::Record { members } => {
                let mut out = Vec::with_capacity(members.len());
                let mut at = 0usize;
                for (i, (name, m)) in members.iter().enumerate() {
                    let size = match self.size(m, depth + 1)? {
                        Some(s) => s,
                        // Only the last member may be variable-sized.
                        None if i + 1 == members.len() => data.len().saturating_sub(at),
                        None => return Err(self.err("record member of variable size")),
                    };
                    let end = at
                        .checked_add(size)
                        .filter(|e| *e <= data.len())
                        .ok_or_else(|| self.err("record runs past its value"))?;
                    out.push((name.clone(), self.decode(m, &data[at..end], depth + 1)?));
                    at = end;
                }
                if at != data.len() {
                    return Err(self.err(format!(
                        "record of {at} bytes stored in {} bytes",
                        data.len()
                    )));
                }
                Ok(Value::Record(out))
            }
            TypeKind::FixedArray { element, .. }
            | TypeKind::VariableArray { element }
            | TypeKind::Set { element } => self.decode_array(&element, data, depth),
            TypeKind::Indirect | TypeKind::Opaque => {
                if data.len() < 17 {
                    return Err(self.err("indirect value shorter than its 17-byte header"));
                }
                if data[0] != 0x4C {
                    return Err(self.err("indirect value not little-endian"));
                }
                let type_id = Auid::from_slice(&data[1..17]).unwrap_or_default();
                let rest = &data[17..];
                if matches!(self.kind(t, depth)?, TypeKind::Opaque)
                    || self.meta.type_def(&type_id).is_none()
                {
                    return Ok(Value::Opaque {
                        type_id,
                        data: rest.to_vec(),
                    });
                }
                Ok(Value::Indirect {
                    type_id,
                    value: Box::new(self.decode(&type_id, rest, depth + 1)?),
                })
            }
            TypeKind::WeakRef { .. } => Ok(match Auid::from_slice(data) {
                Some(a) => Value::Auid(a),
                None => Value::Bytes(data.to_vec()),
            }),
            TypeKind::Stream | TypeKind::StrongRef { .. } | TypeKind::Unknown { .. } => {
                Ok(Value::Unknown(data.to_vec()))
            }
        }
    }

    fn decode_array(&self, element: &Auid, data: &[u8], depth: usize) -> Result<Value> {
        let ek = self.kind(element, depth + 1)?;
        if let TypeKind::Integer { size: 1, .. } = ek {
            return Ok(Value::Bytes(data.to_vec()));
        }
        if let TypeKind::String { .. } = ek {
            // Arrays of strings: NUL-terminated UTF-16 strings back to back.
            let mut out = Vec::new();
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            for s in units.split(|u| *u == 0) {
                if out.len() >= self.limits.max_elements {
                    return Err(Error::limit(self.stream, "too many strings in an array"));
                }
                out.push(Value::String(String::from_utf16_lossy(s)));
            }
            if units.last() == Some(&0) {
                out.pop();
            }
            return Ok(Value::Array(out));
        }
        let size = self
            .size(element, depth + 1)?
            .ok_or_else(|| self.err("array of variable-size elements"))?;
        if size == 0 {
            return if data.is_empty() {
                Ok(Value::Array(Vec::new()))
            } else {
                Err(self.err("array of zero-size elements"))
            };
        }
        if !data.len().is_multiple_of(size) {
            return Err(self.err(format!(
                "array of {size}-byte elements stored in {} bytes",
                data.len()
            )));
        }
        let n = data.len() / size;
        if n > self.limits.max_elements {
            return Err(Error::limit(self.stream, format!("array of {n} elements")));
        }
        let mut out = Vec::with_capacity(n);
        for c in data.chunks_exact(size) {
            out.push(self.decode(element, c, depth + 1)?);
        }
        Ok(Value::Array(out))
    }

    /// Encodes `v` as type `t` (the forms an edit needs: numbers, booleans,
    /// rationals, strings, AUIDs, MobIDs, enums, records and Indirect).
    pub fn encode(&self, t: &Auid, v: &Value, depth: usize) -> Result<Vec<u8>> {
        let bad = || Error::edit(format!("a {v:?} cannot be stored as type {t}"));
        match (*t, v) {
            (ids::RATIONAL, Value::Rational(r)) => {
                let mut out = r.num.to_le_bytes().to_vec();
                out.extend_from_slice(&r.den.to_le_bytes());
                return Ok(out);
            }
            (_, Value::Auid(a))
                if matches!(
                    self.kind(t, depth)?,
                    TypeKind::Record { .. } | TypeKind::WeakRef { .. }
                ) =>
            {
                return Ok(a.0.to_vec())
            }
            (_, Value::MobId(m)) => return Ok(m.0.to_vec()),
            (ids::BOOLEAN, Value::Bool(b)) => return Ok(vec![u8::from(*b)]),
            _ => {}
        }
        match self.kind(t, depth)? {
            TypeKind::Integer { size, signed } => {
                let n: i128 = match v {
                    Value::Int(x) => i128::from(*x),
                    Value::UInt(x) => i128::from(*x),
                    Value::Enum { value, .. } => i128::from(*value),
                    _ => return Err(bad()),
                };
                let bits = 8 * u32::from(size);
                let (lo, hi) = if signed {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                } else {
                    (0, (1i128 << bits) - 1)
                };
                if n < lo || n > hi {
                    return Err(Error::edit(format!(
                        "{n} does not fit a {bits}-bit integer"
                    )));
                }
                Ok(n.to_le_bytes()[..size as usize].to_vec())
            }
            TypeKind::String { .. } | TypeKind::Character => match v {
                Value::String(s) => Ok(utf16_nul(s)),
                _ => Err(bad()),
            },
            TypeKind::Enum {
                element,
                names,
                values,
            } => {
                let n = match v {
                    Value::Bool(b) => i64::from(*b),
                    Value::Enum { value, .. } | Value::Int(value) => *value,
                    _ => return Err(bad()),
                };
                if !values.contains(&n) && !names.is_empty() {
                    return Err(Error::edit(format!(
                        "{n} is not a value of enumeration {t}"
                    )));
                }
                self.encode(&element, &Value::Int(n), depth + 1)
            }
            TypeKind::ExtEnum { .. } => match v {
                Value::ExtEnum { value, .. } | Value::Auid(value) => Ok(value.0.to_vec()),
                _ => Err(bad()),
            },
            TypeKind::Rename { renamed } => self.encode(&renamed, v, depth + 1),
            TypeKind::Record { members } => match v {
                Value::Record(fields) if fields.len() == members.len() => {
                    let mut out = Vec::new();
                    for ((_, m), (_, fv)) in members.iter().zip(fields) {
                        out.extend(self.encode(m, fv, depth + 1)?);
                    }
                    Ok(out)
                }
                _ => Err(bad()),
            },
            TypeKind::Indirect => match v {
                Value::Indirect { type_id, value } => {
                    let mut out = vec![0x4C];
                    out.extend_from_slice(&type_id.0);
                    out.extend(self.encode(type_id, value, depth + 1)?);
                    Ok(out)
                }
                _ => Err(bad()),
            },
            TypeKind::FixedArray { element, .. }
            | TypeKind::VariableArray { element }
            | TypeKind::Set { element } => match v {
                Value::Bytes(b) => Ok(b.clone()),
                Value::Array(items) => {
                    let mut out = Vec::new();
                    for it in items {
                        out.extend(self.encode(&element, it, depth + 1)?);
                    }
                    Ok(out)
                }
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}
