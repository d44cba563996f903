//! Precompressed siblings for the release bundle: next to every text-like file in `dist/` (and the
//! wasm) a `<file>.br` (Brotli, quality 11, window 2^22) and a `<file>.gz` (gzip, level 9), so
//! the server (tower-http's `ServeDir`), nginx (`brotli_static` / `gzip_static`) or Caddy
//! (`precompressed br gzip`) send them as they are instead of compressing on every request.
//!
//! A sibling is written only when it is smaller than the file itself; a sibling whose file is gone
//! (or no longer shrinks) is removed, so a server never sends a stale encoding of another build.

// The build (bundle.rs) and the bench (bench.rs) call `precompress`; the other helpers (sizes of
// a buffer, which siblings were written) are for them and may have no caller yet.


use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use crate::process::Outcome;

/// The file endings that get siblings: what a browser downloads and compresses well. Images other
/// than SVG, fonts (woff2 is compressed already) and anything else are left as they are.
pub const COMPRESSIBLE: [&str; 8] = ["wasm", "js", "css", "svg", "json", "html", "txt", "webmanifest"];

/// The sibling endings, in the order a server prefers them.
pub const SIBLINGS: [&str; 2] = ["br", "gz"];

pub const BROTLI_QUALITY: i32 = 11;
pub const BROTLI_LGWIN: i32 = 22;
pub const GZIP_LEVEL: u32 = 9;

/// One compressible file of the bundle and what a browser downloads for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// The original file (`dir` joined with its relative path).
    pub path: PathBuf,
    /// Its size.
    pub raw: u64,
    /// What a browser accepting gzip downloads: the `.gz` sibling's size, or `raw` when gzip does
    /// not make it smaller (then no `.gz` is written).
    pub gzip: u64,
    /// The same for Brotli and the `.br` sibling.
    pub brotli: u64,
}

#[cfg(test)]
impl Compressed {
    /// Whether the `.gz` sibling was written.
    pub fn has_gzip(&self) -> bool {
        self.gzip < self.raw
    }

    /// Whether the `.br` sibling was written.
    pub fn has_brotli(&self) -> bool {
        self.brotli < self.raw
    }
}

/// Writes `.br` and `.gz` siblings for every compressible file under `dir` (recursively, in name
/// order; symbolic links are not followed) and removes siblings whose file is gone. A sibling
/// that already decodes to its file's bytes is kept, so running it again over a reused bundle
/// takes milliseconds; a fresh wasm of a few hundred KB takes seconds (Brotli quality 11).
/// Returns one row per compressible file.
pub fn precompress(dir: &Path) -> Outcome<Vec<Compressed>> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    let mut rows = Vec::new();
    for file in &files {
        if ending(file) == Some("partial") && file.with_extension("").extension().is_some_and(|ending| SIBLINGS.iter().any(|sibling| ending == *sibling)) {
            // Left by a run that was stopped between writing and renaming.
            remove(file)?;
            continue;
        }
        if let Some(original) = sibling_of(file) {
            if !original.is_file() {
                remove(file)?;
            }
            continue;
        }
        if !is_compressible(file) {
            continue;
        }
        let bytes = std::fs::read(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
        let raw = bytes.len() as u64;
        let brotli = match current_sibling(file, "br", &bytes) {
            Some(len) => len,
            None => write_sibling(file, "br", raw, brotli_bytes(&bytes))?,
        };
        let gzip = match current_sibling(file, "gz", &bytes) {
            Some(len) => len,
            None => write_sibling(file, "gz", raw, gzip_bytes(&bytes))?,
        };
        rows.push(Compressed { path: file.clone(), raw, gzip, brotli });
    }
    Ok(rows)
}

/// The Brotli size of `bytes` at the bundle's settings.
#[cfg(test)]
pub fn brotli_len(bytes: &[u8]) -> u64 {
    brotli_bytes(bytes).len() as u64
}

/// The gzip size of `bytes` at the bundle's settings.
#[cfg(test)]
pub fn gzip_len(bytes: &[u8]) -> u64 {
    gzip_bytes(bytes).len() as u64
}

fn brotli_bytes(bytes: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_LGWIN,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut output = Vec::with_capacity(bytes.len() / 3 + 64);
    brotli::BrotliCompress(&mut &bytes[..], &mut output, &params).expect("compressing in memory cannot fail");
    output
}

fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    // flate2's header has no file name and a zero time, so the same input gives the same bytes.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3 + 64), flate2::Compression::new(GZIP_LEVEL));
    encoder.write_all(bytes).expect("writing to memory cannot fail");
    encoder.finish().expect("finishing in memory cannot fail")
}

/// The size of `<file>.<ending>` when it is smaller than the file and decodes to exactly its
/// bytes: a bundle that was reused keeps its siblings (decoding takes milliseconds, Brotli at
/// quality 11 seconds), and a sibling of any other content is never kept.
fn current_sibling(file: &Path, ending: &str, bytes: &[u8]) -> Option<u64> {
    let sibling = with_ending(file, ending);
    let compressed = std::fs::read(&sibling).ok()?;
    if compressed.len() >= bytes.len() {
        return None;
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let complete = match ending {
        "br" => brotli::Decompressor::new(&compressed[..], 4096).take(bytes.len() as u64 + 1).read_to_end(&mut decoded).is_ok(),
        _ => flate2::read::GzDecoder::new(&compressed[..]).take(bytes.len() as u64 + 1).read_to_end(&mut decoded).is_ok(),
    };
    (complete && decoded == bytes).then_some(compressed.len() as u64)
}

/// Writes `<file>.<ending>` when `compressed` is smaller than the file (through a temporary name,
/// so a server reading the bundle meanwhile never sees half a sibling), or removes an old one.
/// Returns what a browser accepting that encoding downloads.
fn write_sibling(file: &Path, ending: &str, raw: u64, compressed: Vec<u8>) -> Outcome<u64> {
    let sibling = with_ending(file, ending);
    if compressed.len() as u64 >= raw {
        remove(&sibling)?;
        return Ok(raw);
    }
    let partial = with_ending(file, &format!("{ending}.partial"));
    std::fs::write(&partial, &compressed).map_err(|error| format!("cannot write {}: {error}", partial.display()))?;
    std::fs::rename(&partial, &sibling)
        .map_err(|error| format!("cannot rename {} to {}: {error}", partial.display(), sibling.display()))?;
    Ok(compressed.len() as u64)
}

fn remove(path: &Path) -> Outcome {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("cannot remove {}: {error}", path.display())),
    }
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Outcome {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("cannot read the folder {}: {error}", dir.display()))?;
    let mut entries: Vec<_> = entries
        .map(|entry| entry.map_err(|error| format!("cannot read the folder {}: {error}", dir.display())))
        .collect::<Outcome<_>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if kind.is_dir() {
            collect_files(&path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

fn ending(path: &Path) -> Option<&str> {
    path.extension().and_then(|ending| ending.to_str())
}

fn is_compressible(path: &Path) -> bool {
    ending(path).is_some_and(|ending| COMPRESSIBLE.iter().any(|known| ending.eq_ignore_ascii_case(known)))
}

/// For `app.js.br` or `app.js.gz`: `app.js`. Archives such as `data.tar.gz` are no siblings (a
/// `tar` is not compressible here), so they are never taken for stale ones.
fn sibling_of(path: &Path) -> Option<PathBuf> {
    let ending = ending(path)?;
    if !SIBLINGS.contains(&ending) {
        return None;
    }
    let original = path.with_extension("");
    is_compressible(&original).then_some(original)
}

fn with_ending(path: &Path, ending: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ending);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the target directory's temp space, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn new(name: &str) -> Folder {
            let path = std::env::temp_dir().join(format!("xtask-compress-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Folder(path)
        }

        fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Text shaped like wasm-bindgen's JavaScript glue: repetitive, with varied names and numbers.
    fn script_like(functions: usize) -> Vec<u8> {
        let mut text = String::new();
        for index in 0..functions {
            text += &format!(
                "export function __wbg_handler_{index:x}(arg0, arg1) {{\n    const ret = getObject(arg0).call(getObject(arg1), {});\n    \
                 return addHeapObject(ret);\n}}\n",
                index * 7919 % 1013
            );
        }
        text.into_bytes()
    }

    /// Bytes shaped like a wasm module: a header, then instruction-like runs with varied operands.
    fn wasm_like(len: usize) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        let mut state: u32 = 0x2545_f491;
        while bytes.len() < len {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let operand = (state % 64) as u8;
            bytes.extend_from_slice(&[0x20, operand, 0x41, (state >> 8) as u8 & 0x7f, 0x6a, 0x21, operand]);
            if state.is_multiple_of(5) {
                bytes.extend_from_slice(b"\x10\x8f\x01\x0b");
            }
        }
        bytes
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut output = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut output).unwrap();
        output
    }

    fn unbrotli(bytes: &[u8]) -> Vec<u8> {
        let mut output = Vec::new();
        brotli::Decompressor::new(bytes, 4096).read_to_end(&mut output).unwrap();
        output
    }

    #[test]
    fn siblings_decompress_to_the_original_bytes() {
        let folder = Folder::new("round-trip");
        let script = folder.write("wadesk-0123456789abcdef.js", &script_like(300));
        let wasm = folder.write("wadesk-0123456789abcdef_bg.wasm", &wasm_like(64 * 1024));
        let nested = folder.write("snippets/app/inline0.css", &b"body { margin: 0; padding: 0 }\n".repeat(40));
        let rows = precompress(&folder.0).unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        for original in [&script, &wasm, &nested] {
            let bytes = std::fs::read(original).unwrap();
            let br = std::fs::read(with_ending(original, "br")).unwrap();
            let gz = std::fs::read(with_ending(original, "gz")).unwrap();
            assert_eq!(unbrotli(&br), bytes, "{}", original.display());
            assert_eq!(gunzip(&gz), bytes, "{}", original.display());
            let row = rows.iter().find(|row| &row.path == original).unwrap();
            assert_eq!((row.raw, row.brotli, row.gzip), (bytes.len() as u64, br.len() as u64, gz.len() as u64));
            assert!(row.has_brotli() && row.has_gzip());
        }
        assert!(!folder.0.join("wadesk-0123456789abcdef.js.br.partial").exists());
        // Running again over its own output changes nothing and reports the same.
        assert_eq!(precompress(&folder.0).unwrap(), rows);
        // A file that changed gets new siblings, even when they are older than the file's
        // modification time would tell (a copied bundle keeps its times).
        let changed = script_like(301);
        std::fs::write(&script, &changed).unwrap();
        precompress(&folder.0).unwrap();
        assert_eq!(unbrotli(&std::fs::read(with_ending(&script, "br")).unwrap()), changed);
        assert_eq!(gunzip(&std::fs::read(with_ending(&script, "gz")).unwrap()), changed);
        // A damaged sibling is replaced too.
        std::fs::write(with_ending(&wasm, "br"), b"not brotli").unwrap();
        std::fs::write(with_ending(&wasm, "gz"), b"\x1f\x8b not gzip").unwrap();
        precompress(&folder.0).unwrap();
        let bytes = std::fs::read(&wasm).unwrap();
        assert_eq!(unbrotli(&std::fs::read(with_ending(&wasm, "br")).unwrap()), bytes);
        assert_eq!(gunzip(&std::fs::read(with_ending(&wasm, "gz")).unwrap()), bytes);
    }

    #[test]
    fn brotli_beats_gzip_on_script_and_wasm() {
        for (what, bytes) in [("script", script_like(400)), ("wasm", wasm_like(128 * 1024))] {
            let (brotli, gzip) = (brotli_len(&bytes), gzip_len(&bytes));
            assert!(brotli < gzip && gzip < bytes.len() as u64, "{what}: raw {} gzip {gzip} brotli {brotli}", bytes.len());
        }
    }

    #[test]
    fn only_compressible_files_get_siblings_and_never_a_sibling_of_a_sibling() {
        let folder = Folder::new("only");
        let script = folder.write("app.js", &script_like(50));
        // Left over from an earlier run: must not become app.js.br.br.
        std::fs::write(with_ending(&script, "br"), brotli_bytes(&std::fs::read(&script).unwrap())).unwrap();
        folder.write("logo.png", &[0x89; 4096]);
        folder.write("fonts/inter.woff2", &[7; 4096]);
        folder.write("downloads/data.tar.gz", &[1; 64]);
        let rows = precompress(&folder.0).unwrap();
        assert_eq!(rows.iter().map(|row| row.path.clone()).collect::<Vec<_>>(), std::slice::from_ref(&script));
        for never in ["app.js.br.br", "app.js.br.gz", "app.js.gz.gz", "app.js.gz.br", "logo.png.br", "fonts/inter.woff2.gz", "downloads/data.tar.gz.gz"] {
            assert!(!folder.0.join(never).exists(), "{never}");
        }
        assert!(folder.0.join("downloads/data.tar.gz").exists(), "an archive is not a stale sibling");
    }

    #[test]
    fn a_sibling_that_would_not_be_smaller_is_not_written() {
        let folder = Folder::new("tiny");
        let tiny = folder.write("robots.txt", b"x");
        // An older build's siblings of a file that no longer shrinks go too.
        std::fs::write(with_ending(&tiny, "gz"), b"old").unwrap();
        let rows = precompress(&folder.0).unwrap();
        assert_eq!(rows, [Compressed { path: tiny.clone(), raw: 1, gzip: 1, brotli: 1 }]);
        assert!(!rows[0].has_gzip() && !rows[0].has_brotli());
        assert!(!with_ending(&tiny, "br").exists() && !with_ending(&tiny, "gz").exists());
    }

    #[test]
    fn stale_siblings_are_removed() {
        let folder = Folder::new("stale");
        let current = folder.write("wadesk-1111111111111111.js", &script_like(100));
        let old = folder.write("wadesk-0000000000000000.js", &script_like(100));
        precompress(&folder.0).unwrap();
        assert!(with_ending(&old, "br").exists() && with_ending(&old, "gz").exists());
        std::fs::remove_file(&old).unwrap();
        folder.write("sub/gone.css.br", b"stale");
        let interrupted = folder.write("wadesk-1111111111111111.js.gz.partial", b"half");
        precompress(&folder.0).unwrap();
        for stale in ["wadesk-0000000000000000.js.br", "wadesk-0000000000000000.js.gz", "sub/gone.css.br"] {
            assert!(!folder.0.join(stale).exists(), "{stale}");
        }
        assert!(with_ending(&current, "br").exists() && with_ending(&current, "gz").exists());
        assert!(!interrupted.exists());
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let error = precompress(Path::new("/no/such/wadesk/dist")).unwrap_err();
        assert!(error.contains("/no/such/wadesk/dist"), "{error}");
    }
}
