//! Writing output files atomically: every file dcmmm writes goes through [`write_atomic`], which
//! writes a temporary file in the target's directory, flushes it to disk and renames it onto the
//! final name. A run killed while writing leaves the previous file (or none) and at worst a
//! `.<name>.tmp-*` file, never a truncated file under the real name.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent writes within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary name `path` is written under before the rename: hidden, in the same directory
/// (a rename within one file system is atomic), unique per process and write.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes `path` through `write` atomically: `write` fills a buffered temporary file next to
/// `path`, which is synced and renamed onto `path`. On any error the temporary file is removed and
/// `path` is left as it was.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| {
        std::io::Error::new(e.kind(), format!("{}: cannot write: {e}", path.display()))
    })
}

/// [`write_atomic`] for a CSV file: `rows` writes the records (header included).
pub fn write_csv_atomic(
    path: &Path,
    rows: impl FnOnce(&mut csv::Writer<&mut dyn Write>) -> csv::Result<()>,
) -> std::io::Result<()> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        rows(&mut csv)?;
        csv.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mmm-data-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let d = dir("ok");
        let p = d.join("out.csv");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(entries(&d), ["out.csv"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let d = dir("fail");
        let p = d.join("out.csv");
        std::fs::write(&p, "old").unwrap();
        let e = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("killed"))
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("out.csv: cannot write: killed"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(entries(&d), ["out.csv"]);
    }

    #[test]
    fn csv_records_are_written() {
        let d = dir("csv");
        let p = d.join("out.csv");
        write_csv_atomic(&p, |w| {
            w.write_record(["a", "b"])?;
            w.write_record(["1", "x,y"])
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a,b\n1,\"x,y\"\n");
    }
}
