//! The console's wasm, split by page (issue 8). Trunk cannot split a wasm module (trunk-rs/trunk
//! #1022), so this runs the steps cargo-leptos runs for `--split`:
//!
//! 1. `cargo build --release --features split` for wasm32, linked with `--emit-relocs` (the
//!    splitter needs the relocations to move functions and data between modules);
//! 2. `wasm_split_cli_support::transform` on that raw module: a main module, one `.wasm` per
//!    split point (each lazily loaded page, see `src/pages/mod.rs`) and per group of code shared
//!    by several split points, and `__wasm_split-<hash>.js`, the loader the main module imports;
//! 3. `wasm-bindgen --target web --keep-lld-exports --no-demangle` on the main module only;
//! 4. `wasm-opt -Oz` on the main module and every chunk;
//! 5. content-hashed file names.
//!
//! The result goes to `target/split/bundle/<hash>/`, where `<hash>` is that of the raw module
//! and the tool versions: a bundle whose code has not changed is not split and optimised again.
//! `bundle.rs` copies it into `dist/` beside the stylesheets and index.html.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::process::{Cmd, Outcome};
use crate::tools::{self, WASM_TARGET};

/// The Rust binary of the console and the name its files start with.
const APP: &str = "wadesk";
/// The file naming the files of a finished bundle: written last, so a half-built one is redone.
const MANIFEST: &str = "bundle-files.txt";
/// Which chunk files each split point loads (see [`write_chunk_manifest`]).
pub const CHUNK_MANIFEST: &str = "wasm-chunks.json";
/// Bump when the steps below change what they produce.
const PIPELINE_VERSION: &str = "split-2";
/// The wasm features the browsers we support have; rustc's wasm32 output uses them.
pub const WASM_OPT_FLAGS: [&str; 6] = [
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
];

/// The split, bindgen'd and optimised console: its folder and its files' names.
#[derive(Debug, Clone)]
pub struct SplitApp {
    pub dir: PathBuf,
    /// `wadesk-<hash>.js`: the module index.html loads.
    pub main_js: String,
    /// `wadesk-<hash>_bg.wasm`: the main wasm module (the login page and everything shared).
    pub main_wasm: String,
    /// The lazily loaded `.wasm` chunks.
    pub chunks: Vec<String>,
    /// Every file of the bundle, relative to `dir` (`/`-separated).
    pub files: Vec<String>,
}

fn target_dir(root: &Path) -> PathBuf {
    root.join("target").join("split")
}

/// Build (or reuse) the split bundle of the current sources.
pub fn build(root: &Path) -> Outcome<SplitApp> {
    let target = target_dir(root);
    // Release wasm with relocations kept; `--cfg erase_components` as in .cargo/config.toml (an
    // environment value replaces the file's).
    Cmd::new("cargo")
        .args(["build", "--release", "-p", APP, "--bin", APP, "--features", "split", "--target", WASM_TARGET])
        .args(crate::locked_flags())
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", "--cfg erase_components -Clink-args=--emit-relocs")
        .current_dir(root)
        .run()?;
    let raw_path = target.join(WASM_TARGET).join("release").join(format!("{APP}.wasm"));
    let raw = std::fs::read(&raw_path).map_err(|error| format!("cannot read {}: {error}", raw_path.display()))?;
    let hash = build_hash(&raw, root)?;
    let dir = target.join("bundle").join(&hash);
    if let Some(app) = read_manifest(&dir, &hash) {
        println!("    up to date: split bundle {}", dir.display());
        return Ok(app);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    split_bindgen_optimise(&raw, &dir, &hash)
}

/// Hash of the raw module and of every tool that turns it into the bundle.
fn build_hash(raw: &[u8], root: &Path) -> Outcome<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).map_err(|error| format!("cannot read Cargo.lock: {error}"))?;
    let mut hasher = Sha256::new();
    hasher.update(raw);
    hasher.update(PIPELINE_VERSION);
    hasher.update(tools::locked_version(&lock, "wasm-bindgen")?);
    hasher.update(tools::locked_version(&lock, "wasm_split_cli_support").unwrap_or_default());
    hasher.update(tools::WASM_OPT_VERSION);
    Ok(short_hash(&hasher.finalize()))
}

fn short_hash(digest: &[u8]) -> String {
    digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect()
}

pub fn content_hash(bytes: &[u8]) -> String {
    short_hash(&Sha256::digest(bytes))
}

fn split_bindgen_optimise(raw: &[u8], dir: &Path, hash: &str) -> Outcome<SplitApp> {
    let main_js = format!("{APP}-{hash}.js");
    let main_wasm = format!("{APP}-{hash}_bg.wasm");
    let loader = format!("__wasm_split-{hash}.js");
    let split_main = dir.join("main.split.wasm");

    println!("    splitting the wasm module at its split points");
    let link_name = format!("./{loader}");
    let main_module = format!("./{main_js}");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(raw);
        options.output_dir = dir;
        options.main_out_path = &split_main;
        options.link_name = &link_name;
        options.main_module = &main_module;
        options
    })
    .map_err(|error| format!("wasm splitting failed: {error:?}"))?;

    Cmd::new("wasm-bindgen")
        .args(["--target", "web", "--keep-lld-exports", "--no-demangle", "--no-typescript", "--out-name"])
        .arg(format!("{APP}-{hash}"))
        .arg("--out-dir")
        .arg(dir)
        .arg(&split_main)
        .run()?;
    // Kept beside the bundle for size analysis: the main module before wasm-bindgen and wasm-opt,
    // with its function names (which functions stayed out of the chunks).
    let _ = std::fs::rename(&split_main, dir.parent().unwrap_or(dir).join("last-main.split.wasm"));

    // binaryen's wasm-opt from npm, first on PATH (tools::extend_path).
    let wasm_opt = PathBuf::from("wasm-opt");
    let mut chunks = Vec::new();
    let mut renamed = std::collections::BTreeMap::new();
    let mut loader_js = std::fs::read_to_string(dir.join(&loader))
        .map_err(|error| format!("the splitter wrote no {loader}: {error}"))?;
    optimise(&wasm_opt, &dir.join(&main_wasm))?;
    for chunk in &split.split_modules {
        optimise(&wasm_opt, chunk)?;
        // A chunk is only named by the loader, so it can carry its own content hash.
        let name = chunk.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let bytes = std::fs::read(chunk).map_err(|error| format!("cannot read {}: {error}", chunk.display()))?;
        let stem = name.trim_end_matches(".wasm");
        let hashed = format!("{stem}-{}.wasm", content_hash(&bytes));
        let quoted = format!("\"./{name}\"");
        if !loader_js.contains(&quoted) {
            return Err(format!("{loader} does not load {name}"));
        }
        loader_js = loader_js.replace(&quoted, &format!("\"./{hashed}\""));
        std::fs::rename(chunk, dir.join(&hashed)).map_err(|error| format!("cannot rename {name}: {error}"))?;
        renamed.insert(stem.to_owned(), hashed.clone());
        chunks.push(hashed);
    }
    chunks.sort();
    std::fs::write(dir.join(&loader), loader_js).map_err(|error| format!("cannot write {loader}: {error}"))?;
    write_chunk_manifest(dir, &split.prefetch_map, &renamed)?;

    let files = files_under(dir)?;
    for needed in [&main_js, &main_wasm, &loader] {
        if !files.contains(needed) {
            return Err(format!("the split bundle has no {needed} (files: {})", files.join(", ")));
        }
    }
    let mut manifest = format!("{main_js}\n{main_wasm}\n");
    manifest += &files.iter().map(|file| format!("{file}\n")).collect::<String>();
    std::fs::write(dir.join(MANIFEST), manifest).map_err(|error| format!("cannot write the manifest: {error}"))?;
    Ok(SplitApp { dir: dir.to_path_buf(), main_js, main_wasm, chunks, files })
}

/// `wasm-chunks.json`: each split point (`numbers_page_chunk`...) and the chunk files it loads,
/// for the bench's per-page sizes and the end-to-end tests; the browser never reads it.
fn write_chunk_manifest(
    dir: &Path,
    prefetch: &std::collections::HashMap<String, Vec<String>>,
    renamed: &std::collections::BTreeMap<String, String>,
) -> Outcome {
    let mut splits: Vec<(&String, &Vec<String>)> = prefetch.iter().collect();
    splits.sort();
    let entries: Vec<String> = splits
        .into_iter()
        .map(|(split, stems)| {
            let mut files: Vec<String> = stems.iter().filter_map(|stem| renamed.get(stem)).map(|file| format!("\"{file}\"")).collect();
            files.sort();
            format!("  \"{split}\": [{}]", files.join(", "))
        })
        .collect();
    let json = format!("{{\n{}\n}}\n", entries.join(",\n"));
    std::fs::write(dir.join(CHUNK_MANIFEST), json).map_err(|error| format!("cannot write {CHUNK_MANIFEST}: {error}"))
}

fn optimise(wasm_opt: &Path, file: &Path) -> Outcome {
    Cmd::new(wasm_opt).args(WASM_OPT_FLAGS).arg(file).arg("-o").arg(file).run()
}

/// A finished bundle of `hash` in `dir`, from its manifest (main js, main wasm, then every file).
fn read_manifest(dir: &Path, hash: &str) -> Option<SplitApp> {
    let manifest = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    let mut lines = manifest.lines();
    let (main_js, main_wasm) = (lines.next()?.to_owned(), lines.next()?.to_owned());
    let files: Vec<String> = lines.map(str::to_owned).collect();
    if !main_js.contains(hash) || files.iter().any(|file| !dir.join(file).is_file()) {
        return None;
    }
    let chunks = files.iter().filter(|file| file.ends_with(".wasm") && **file != main_wasm).cloned().collect();
    Some(SplitApp { dir: dir.to_path_buf(), main_js, main_wasm, chunks, files })
}

/// Every file below `dir` but the manifest, relative and `/`-separated, sorted.
fn files_under(dir: &Path) -> Outcome<Vec<String>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|error| format!("cannot read {}: {error}", folder.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let relative = relative.to_string_lossy().replace('\\', "/");
                if relative != MANIFEST {
                    files.push(relative);
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_sixteen_hex_digits_and_follow_the_content() {
        let a = content_hash(b"one");
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(a, content_hash(b"one"));
        assert_ne!(a, content_hash(b"two"));
    }

    #[test]
    fn a_manifest_naming_a_missing_file_is_not_a_finished_bundle() {
        let dir = std::env::temp_dir().join(format!("xtask-split-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["wadesk-abc.js", "wadesk-abc_bg.wasm", "split_x-1.wasm"] {
            std::fs::write(dir.join(file), b"x").unwrap();
        }
        std::fs::write(dir.join(MANIFEST), "wadesk-abc.js\nwadesk-abc_bg.wasm\nsplit_x-1.wasm\nwadesk-abc.js\nwadesk-abc_bg.wasm\n").unwrap();
        let app = read_manifest(&dir, "abc").expect("complete");
        assert_eq!(app.chunks, vec!["split_x-1.wasm"]);
        assert!(read_manifest(&dir, "other").is_none(), "another hash's manifest");
        std::fs::remove_file(dir.join("split_x-1.wasm")).unwrap();
        assert!(read_manifest(&dir, "abc").is_none(), "a file is missing");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
