//! The release bundle in `dist/`: the split wasm of `split.rs`, and what index.html names with
//! `data-trunk` links (the same index.html `trunk serve` reads for development): stylesheets and
//! the icon copied under content-hashed names, config.json copied as it is, the `rel="rust"` link
//! replaced by the module script that starts the app, `<base>` set to the public URL, and a
//! subresource-integrity value on everything index.html loads. Then every text and wasm file gets
//! precompressed `.br` and `.gz` siblings (`compress.rs`).
//!
//! A bundle whose inputs have not changed since the last build is reused, which is what makes a
//! second `cargo xtask run` start in seconds.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha384};

use crate::process::Outcome;
use crate::split::{self, SplitApp};

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
        let app = split::build(root)?;
        self.assemble(root, &app)?;
        if let Some(parent) = stamp.parent() {
            std::fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        std::fs::write(&stamp, fingerprint).map_err(|error| format!("cannot write {}: {error}", stamp.display()))
    }

    /// A fresh `dist/` from the split app and index.html's assets.
    fn assemble(&self, root: &Path, app: &SplitApp) -> Outcome {
        if self.dist.exists() {
            std::fs::remove_dir_all(&self.dist).map_err(|error| format!("cannot empty {}: {error}", self.dist.display()))?;
        }
        std::fs::create_dir_all(&self.dist).map_err(|error| format!("cannot create {}: {error}", self.dist.display()))?;
        for file in &app.files {
            let target = self.dist.join(file);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
            }
            std::fs::copy(app.dir.join(file), &target).map_err(|error| format!("cannot copy {file}: {error}"))?;
        }
        let template = read(&root.join("index.html"))?;
        let index = render_index(&String::from_utf8_lossy(&template), self.public_url, root, &self.dist, app)?;
        std::fs::write(self.dist.join("index.html"), index).map_err(|error| format!("cannot write index.html: {error}"))?;
        crate::compress::precompress(&self.dist)?;
        self.check_output(app)
    }

    /// Make sure what was written is a loadable bundle: index.html loads the main module, and the
    /// loader names every chunk that is there.
    fn check_output(&self, app: &SplitApp) -> Outcome {
        let index = std::fs::read_to_string(self.dist.join("index.html"))
            .map_err(|error| format!("{}: no index.html: {error}", self.dist.display()))?;
        for file in [&app.main_js, &app.main_wasm] {
            if !index.contains(&format!("{}{file}", self.public_url)) {
                return Err(format!("{}: index.html does not load {}{file}", self.dist.display(), self.public_url));
            }
        }
        // Every wasm, script and stylesheet has its precompressed siblings (they all shrink).
        for extension in ["wasm", "js", "css"] {
            for file in files_with_extension(&self.dist, extension) {
                for sibling in ["br", "gz"] {
                    let name = format!("{}.{sibling}", file.display());
                    if !Path::new(&name).is_file() {
                        return Err(format!("{name} is missing: the bundle was not precompressed"));
                    }
                }
            }
        }
        let loaders = files_with_extension(&self.dist, "js");
        let loader_text: String = loaders.iter().filter_map(|path| std::fs::read_to_string(path).ok()).collect();
        for chunk in &app.chunks {
            if !self.dist.join(chunk).is_file() || !loader_text.contains(&format!("\"./{chunk}\"")) {
                return Err(format!("{}: chunk {chunk} is missing or not loaded", self.dist.display()));
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> Outcome<Vec<u8>> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// `sha384-<base64>`, as `integrity` attributes want it.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes)))
}

/// The attributes of one HTML tag (`<link data-trunk rel="css" href="a.css" />`), in order.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag.trim_start_matches('<').trim_end_matches('>').trim_end_matches('/');
    let mut chars = inner.chars().peekable();
    // Skip the tag name.
    while chars.peek().is_some_and(|c| !c.is_whitespace()) {
        chars.next();
    }
    let mut attributes = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=')).collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(quote) => value = std::iter::from_fn(|| chars.next_if(|c| *c != quote)).collect::<String>(),
                None => value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect(),
            }
            chars.next_if(|c| *c == '"' || *c == '\'');
        }
        attributes.push((name, value));
    }
    attributes
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// Copy `source` into `dist` as `<stem>-<content hash>.<ext>` and return that name.
fn copy_hashed(source: &Path, dist: &Path) -> Outcome<(String, Vec<u8>)> {
    let bytes = read(source)?;
    let stem = source.file_stem().unwrap_or_default().to_string_lossy();
    let extension = source.extension().unwrap_or_default().to_string_lossy();
    let name = format!("{stem}-{}.{extension}", split::content_hash(&bytes));
    std::fs::write(dist.join(&name), &bytes).map_err(|error| format!("cannot write {name}: {error}"))?;
    Ok((name, bytes))
}

/// index.html for `public_url`: every `data-trunk` link replaced by what it stands for.
fn render_index(template: &str, public_url: &str, root: &Path, dist: &Path, app: &SplitApp) -> Outcome<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('>').map(|end| start + end + 1).ok_or("index.html: a tag is not closed")?;
        let tag = &rest[start..end];
        rest = &rest[end..];
        let attrs = attributes(tag);
        let is = |name: &str| tag.starts_with(&format!("<{name}")) && attrs.iter().any(|(key, _)| key.starts_with("data-trunk"));
        if is("base") {
            out.push_str(&format!("<base href=\"{public_url}\" />"));
        } else if is("link") {
            out.push_str(&trunk_link(&attrs, public_url, root, dist, app)?);
        } else {
            out.push_str(tag);
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn trunk_link(attrs: &[(String, String)], public_url: &str, root: &Path, dist: &Path, app: &SplitApp) -> Outcome<String> {
    let rel = attribute(attrs, "rel").unwrap_or_default();
    let href = attribute(attrs, "href").unwrap_or_default();
    match rel {
        "css" | "icon" => {
            let (name, bytes) = copy_hashed(&root.join(href), dist)?;
            let sri = integrity(&bytes);
            Ok(if rel == "css" {
                format!("<link rel=\"stylesheet\" href=\"{public_url}{name}\" integrity=\"{sri}\" />")
            } else {
                let kind = attribute(attrs, "type").map(|kind| format!(" type=\"{kind}\"")).unwrap_or_default();
                format!("<link rel=\"icon\" href=\"{public_url}{name}\"{kind} integrity=\"{sri}\" />")
            })
        }
        "copy-file" => {
            let source = root.join(href);
            let name = source.file_name().unwrap_or_default().to_string_lossy().into_owned();
            std::fs::copy(&source, dist.join(&name)).map_err(|error| format!("cannot copy {href}: {error}"))?;
            Ok(String::new())
        }
        "rust" => {
            let js_sri = integrity(&read(&app.dir.join(&app.main_js))?);
            let wasm_sri = integrity(&read(&app.dir.join(&app.main_wasm))?);
            let (js, wasm) = (format!("{public_url}{}", app.main_js), format!("{public_url}{}", app.main_wasm));
            // The main module imports the split loader (and any snippet): fetch those at once too,
            // rather than after the main module has been parsed.
            let mut imported = String::new();
            for file in app.files.iter().filter(|file| file.ends_with(".js") && **file != app.main_js) {
                let sri = integrity(&read(&app.dir.join(file))?);
                imported += &format!("<link rel=\"modulepreload\" href=\"{public_url}{file}\" crossorigin=\"anonymous\" integrity=\"{sri}\" />\n    ");
            }
            Ok(format!(
                "{imported}<link rel=\"modulepreload\" href=\"{js}\" crossorigin=\"anonymous\" integrity=\"{js_sri}\" />\n    \
                 <link rel=\"preload\" href=\"{wasm}\" as=\"fetch\" type=\"application/wasm\" crossorigin=\"anonymous\" integrity=\"{wasm_sri}\" />\n    \
                 <script type=\"module\">\nimport init from '{js}';\nawait init({{ module_or_path: '{wasm}' }});\n</script>"
            ))
        }
        other => Err(format!("index.html: a data-trunk link with rel={other:?} is not supported by xtask/src/bundle.rs")),
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
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    std::env::var("RUSTFLAGS").unwrap_or_default().hash(&mut hasher);
    // xtask's own bundle steps are inputs too: a change to them rebuilds the bundle.
    for input in [
        "Cargo.toml", "Cargo.lock", "index.html", ".cargo", "src", "api-types", "style", "public", "xtask/src/bundle.rs",
        "xtask/src/split.rs", "xtask/src/compress.rs",
    ] {
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
    fn attributes_are_read_with_either_quote_or_none() {
        let attrs = attributes(r#"<link data-trunk rel="css" href='style/app.css' data-x=plain />"#);
        let pairs: Vec<(&str, &str)> = attrs.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        assert_eq!(pairs, vec![("data-trunk", ""), ("rel", "css"), ("href", "style/app.css"), ("data-x", "plain")]);
    }

    #[test]
    fn index_html_gets_hashed_assets_integrity_and_the_module_script_under_the_public_url() {
        let root = scratch_dir("index");
        std::fs::create_dir_all(root.join("style")).unwrap();
        std::fs::create_dir_all(root.join("public")).unwrap();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("style/app.css"), "body{}").unwrap();
        std::fs::write(root.join("public/config.json"), "{}").unwrap();
        std::fs::write(root.join("app/wadesk-1.js"), "js").unwrap();
        std::fs::write(root.join("app/__wasm_split-1.js"), "loader").unwrap();
        std::fs::write(root.join("app/wadesk-1_bg.wasm"), "wasm").unwrap();
        let app = SplitApp {
            dir: root.join("app"),
            main_js: "wadesk-1.js".into(),
            main_wasm: "wadesk-1_bg.wasm".into(),
            chunks: vec![],
            files: vec!["__wasm_split-1.js".into(), "wadesk-1.js".into(), "wadesk-1_bg.wasm".into()],
        };
        let template = r#"<head><base data-trunk-public-url /><link data-trunk rel="css" href="style/app.css" />
<link data-trunk rel="copy-file" href="public/config.json" /><link data-trunk rel="rust" data-bin="wadesk" /></head>"#;
        let html = render_index(template, "/console/", &root, &root.join("dist"), &app).unwrap();
        let css = format!("app-{}.css", split::content_hash(b"body{}"));
        assert!(html.contains(r#"<base href="/console/" />"#), "{html}");
        assert!(html.contains(&format!(r#"href="/console/{css}" integrity="{}""#, integrity(b"body{}"))), "{html}");
        assert!(root.join("dist").join(&css).is_file() && root.join("dist/config.json").is_file());
        assert!(html.contains(&format!(r#"<link rel="modulepreload" href="/console/wadesk-1.js" crossorigin="anonymous" integrity="{}""#, integrity(b"js"))), "{html}");
        assert!(html.contains(&format!(r#"<link rel="modulepreload" href="/console/__wasm_split-1.js" crossorigin="anonymous" integrity="{}""#, integrity(b"loader"))), "{html}");
        assert!(html.contains("import init from '/console/wadesk-1.js';") && html.contains("module_or_path: '/console/wadesk-1_bg.wasm'"), "{html}");
        assert!(!html.contains("data-trunk"), "{html}");
        let unknown = render_index(r#"<link data-trunk rel="sass" href="a.scss" />"#, "/", &root, &root.join("dist"), &app);
        assert!(unknown.unwrap_err().contains("sass"));
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
