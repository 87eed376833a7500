//! Writing output files safely: never over the input, never half-written.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `dest` atomically: a temporary file in the same folder,
/// flushed and then renamed over `dest`, so a failure leaves no partial file.
/// Refuses to write to `input` (the session being read), and refuses to
/// replace an existing `dest` unless `overwrite`.
pub fn write_atomic(
    dest: &Path,
    bytes: &[u8],
    input: Option<&Path>,
    overwrite: bool,
) -> Result<()> {
    if let Some(input) = input {
        if same_file(dest, input) {
            bail!(
                "{}: refusing to overwrite the input session; choose another output path",
                dest.display()
            );
        }
    }
    if dest.exists() && !overwrite {
        bail!(
            "{}: already exists (use --force to replace it)",
            dest.display()
        );
    }
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".premix-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    // A temporary file is created private (0600); the result is an ordinary
    // document, readable as any file the user saves would be.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("{}: cannot set permissions", dest.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("{}: write failed", dest.display()))?;
    tmp.persist(dest).map_err(|e| e.error).with_context(|| {
        format!(
            "{}: cannot move the finished file into place",
            dest.display()
        )
    })?;
    Ok(())
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Writes a stereo 32-bit float WAV atomically (see [`write_atomic`]).
pub fn write_wav(
    dest: &Path,
    left: &[f32],
    right: &[f32],
    rate: u32,
    input: Option<&Path>,
    overwrite: bool,
) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(44 + 8 * left.len()));
    {
        let mut w = hound::WavWriter::new(&mut bytes, spec)
            .with_context(|| format!("{}: cannot encode the WAV", dest.display()))?;
        for (l, r) in left.iter().zip(right) {
            w.write_sample(*l)?;
            w.write_sample(*r)?;
        }
        w.finalize()?;
    }
    write_atomic(dest, bytes.get_ref(), input, overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_are_ordinary_documents_and_never_replace_silently() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.RPP");
        write_atomic(&dest, b"one", None, false).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "not the private temp file's mode");
        }
        let err = write_atomic(&dest, b"two", None, false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        write_atomic(&dest, b"two", None, true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        let err = write_atomic(&dest, b"three", Some(&dest), true).unwrap_err();
        assert!(err.to_string().contains("input"), "{err}");
    }
}
