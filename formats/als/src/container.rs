//! The gzip wrapper (flate2), with a bound on the inflated size.

use crate::error::{Error, ErrorKind, Limits, Result};
use flate2::read::GzDecoder;
use flate2::{Compression as Level, GzBuilder};
use std::io::{Read, Write};

/// How the set was stored, kept so that writing uses the same choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip, with the header fields of the input (Live writes mtime 0, no
    /// file name, OS byte 3; a file re-gzipped by another tool may differ).
    Gzip {
        mtime: u32,
        os: u8,
        filename: Option<Vec<u8>>,
    },
    /// Plain XML (Live never writes this, but it opens such files).
    None,
}

impl Compression {
    /// The header Live writes.
    pub fn live_gzip() -> Compression {
        Compression::Gzip {
            mtime: 0,
            os: 3,
            filename: None,
        }
    }
}

/// Inflates `bytes` if they are gzip, else returns them as they are.
pub(crate) fn decompress(bytes: &[u8], limits: &Limits) -> Result<(Vec<u8>, Compression)> {
    if bytes.len() > limits.max_file_bytes {
        return Err(Error::new(ErrorKind::Limit(format!(
            "file larger than {} bytes",
            limits.max_file_bytes
        ))));
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok((bytes.to_vec(), Compression::None));
    }
    let mut dec = GzDecoder::new(bytes);
    let mut out = Vec::new();
    // One byte more than allowed tells "at the limit" from "over it".
    let cap = limits.max_xml_bytes as u64 + 1;
    (&mut dec)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| Error::new(ErrorKind::Gzip(e.to_string())))?;
    if out.len() as u64 == cap {
        return Err(Error::new(ErrorKind::Limit(format!(
            "gzip stream inflates to more than {} bytes",
            limits.max_xml_bytes
        ))));
    }
    let header = dec
        .header()
        .ok_or_else(|| Error::new(ErrorKind::Gzip("no gzip header".into())))?;
    let comp = Compression::Gzip {
        mtime: header.mtime(),
        os: header.operating_system(),
        filename: header.filename().map(<[u8]>::to_vec),
    };
    Ok((out, comp))
}

/// Wraps `xml` as `comp` says.
pub(crate) fn compress(xml: &[u8], comp: &Compression) -> Result<Vec<u8>> {
    match comp {
        Compression::None => Ok(xml.to_vec()),
        Compression::Gzip {
            mtime,
            os,
            filename,
        } => {
            let mut b = GzBuilder::new().mtime(*mtime).operating_system(*os);
            if let Some(f) = filename {
                b = b.filename(f.clone());
            }
            let mut enc = b.write(Vec::with_capacity(xml.len() / 8), Level::default());
            enc.write_all(xml)
                .map_err(|e| Error::new(ErrorKind::Io(e)))?;
            enc.finish().map_err(|e| Error::new(ErrorKind::Io(e)))
        }
    }
}
