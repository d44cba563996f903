//! The release bundle: `trunk build --release`, with wasm-opt -Oz run by Trunk itself (see
//! Trunk.toml and the `data-wasm-opt` attributes in index.html) so the subresource-integrity
//! hashes Trunk writes into index.html describe the optimised file the browser downloads.
//!
//! A bundle whose inputs have not changed since the last build is reused, which is what makes a
//! second `cargo xtask run` start in seconds: wasm-opt alone takes far longer than that.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::process::{Cmd, Outcome};
use crate::tools::TRUNK_VERSION;

/// A bundle to build: where it goes and the URL path it is served under.
pub struct Bundle {
    pub dist: PathBuf,
    /// `/` for the root, `/console/` for a sub-path host.
    pub public_url: &'static str,
}

impl Bundle {
    pub fn root(root: &Path) -> Bundle {
        Bundle { dist: root.join("dist"), public_url: "/" }
    }

    pub fn console(root: &Path) -> Bundle {
        Bundle { dist: root.join("target").join("dist-console"), public_url: "/console/" }
    }

    /// Build unless the same inputs already produced this bundle.
    pub fn build(&self, root: &Path) -> Outcome {
        let fingerprint = fingerprint(root, self.public_url)?;
        let stamp = stamp_path(root, &self.dist);
        let unchanged = std::fs::read_to_string(&stamp).is_ok_and(|previous| previous.trim() == fingerprint);
        if unchanged && self.dist.join("index.html").is_file() {
            println!("    up to date: {} (public URL {})", self.dist.display(), self.public_url);
            return Ok(());
        }
        // A stale stamp must not survive a failed build.
        let _ = std::fs::remove_file(&stamp);
        // `--offline` below also keeps Trunk's cargo build offline, so download the crates first
        // (a no-op when they are cached).
        Cmd::new("cargo").arg("fetch").current_dir(root).run()?;
        Cmd::new("trunk")
            .args(["build", "--release", "--offline", "--public-url", self.public_url, "--dist"])
            .arg(&self.dist)
            .current_dir(root)
            .run()?;
        self.check_output()?;
        if let Some(parent) = stamp.parent() {
            std::fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        std::fs::write(&stamp, fingerprint).map_err(|error| format!("cannot write {}: {error}", stamp.display()))
    }

    /// Trunk succeeded; make sure what it wrote is a loadable bundle.
    fn check_output(&self) -> Outcome {
        let index = std::fs::read_to_string(self.dist.join("index.html"))
            .map_err(|error| format!("{}: no index.html after trunk build: {error}", self.dist.display()))?;
        let wasm_files = files_with_extension(&self.dist, "wasm");
        if wasm_files.len() != 1 {
            return Err(format!("{}: expected one .wasm file, found {}", self.dist.display(), wasm_files.len()));
        }
        let wasm_name = wasm_files[0].file_name().unwrap_or_default().to_string_lossy().into_owned();
        if !index.contains(&format!("{}{wasm_name}", self.public_url)) {
            return Err(format!("{}: index.html does not load {}{wasm_name}", self.dist.display(), self.public_url));
        }
        Ok(())
    }
}

fn stamp_path(root: &Path, dist: &Path) -> PathBuf {
    let name = dist.file_name().unwrap_or_default().to_string_lossy().into_owned();
    root.join("target").join("xtask").join(format!("bundle-{name}.stamp"))
}

/// The files in `dir` (not below it) ending in `.extension`, sorted.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

/// Everything the bundle is made from: the SPA and contract sources, the manifests and lockfile,
/// Trunk's inputs, the flags that change codegen, and the tool versions.
fn fingerprint(root: &Path, public_url: &str) -> Outcome<String> {
    let mut hasher = DefaultHasher::new();
    public_url.hash(&mut hasher);
    TRUNK_VERSION.hash(&mut hasher);
    std::env::var("RUSTFLAGS").unwrap_or_default().hash(&mut hasher);
    for input in ["Cargo.toml", "Cargo.lock", "Trunk.toml", "index.html", ".cargo", "src", "api-types", "style", "public"] {
        hash_tree(&root.join(input), root, &mut hasher)?;
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn hash_tree(path: &Path, root: &Path, hasher: &mut DefaultHasher) -> Outcome {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|child| child.file_name().is_some_and(|name| name != "target"))
            .collect();
        entries.sort();
        for entry in entries {
            hash_tree(&entry, root, hasher)?;
        }
    } else if path.is_file() {
        path.strip_prefix(root).unwrap_or(path).hash(hasher);
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?.hash(hasher);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        dir
    }

    #[test]
    fn the_fingerprint_follows_source_content_and_public_url() {
        let root = scratch_dir("fingerprint");
        std::fs::write(root.join("src/lib.rs"), "fn a() {}").unwrap();
        let first = fingerprint(&root, "/").unwrap();
        assert_eq!(first, fingerprint(&root, "/").unwrap(), "stable for the same inputs");
        assert_ne!(first, fingerprint(&root, "/console/").unwrap(), "the public URL is an input");
        std::fs::write(root.join("src/lib.rs"), "fn b() {}").unwrap();
        assert_ne!(first, fingerprint(&root, "/").unwrap(), "a source edit is an input");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn lists_only_files_with_the_extension() {
        let root = scratch_dir("extension");
        std::fs::write(root.join("app-1.wasm"), b"").unwrap();
        std::fs::write(root.join("app-1.js"), b"").unwrap();
        let wasm = files_with_extension(&root, "wasm");
        assert_eq!(wasm, vec![root.join("app-1.wasm")]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
