//! The build tools the SPA needs, installed when missing. Each check is a `--version` probe that
//! takes milliseconds, so a warm machine pays nothing; a fresh one installs exactly the versions
//! this repository is known to work with (see /README.md: Toolchain).

use std::path::{Path, PathBuf};

use crate::process::{Cmd, Outcome};

/// binaryen's wasm-opt from npm: Debian's binaryen (108) cannot read current Rust wasm.
pub const BINARYEN_NPM_PACKAGE: &str = "binaryen@132";
pub const WASM_OPT_VERSION: &str = "132";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where npm installs wasm-opt, inside the repository so nothing global changes.
pub fn node_tools_bin(root: &Path) -> PathBuf {
    root.join(".tools").join("node_modules").join(".bin")
}

/// Put `~/.cargo/bin` (fresh installs land there) and the npm tools first on PATH for this
/// process and everything it starts, so the bundle steps find our wasm-opt and wasm-bindgen.
pub fn extend_path(root: &Path) {
    let mut entries = vec![node_tools_bin(root), cargo_home().join("bin")];
    if let Some(existing) = std::env::var_os("PATH") {
        entries.extend(std::env::split_paths(&existing));
    }
    let joined = std::env::join_paths(entries).expect("PATH entries contain no separator");
    std::env::set_var("PATH", joined);
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
    })
}

/// Everything the release bundle (`bundle.rs`, `split.rs`) and the wasm tests need: the wasm
/// target, wasm-bindgen (and its test runner), wasm-opt. Trunk is not needed: it cannot split the
/// wasm, so xtask builds the bundle itself; `trunk serve` remains an option for development.
pub fn ensure_build_tools(root: &Path) -> Outcome {
    ensure_wasm_target()?;
    ensure_wasm_bindgen(root)?;
    ensure_wasm_opt(root)
}

fn ensure_wasm_target() -> Outcome {
    let installed = Cmd::new("rustup").args(["target", "list", "--installed"]).probe();
    if installed.is_some_and(|list| list.lines().any(|line| line.trim() == WASM_TARGET)) {
        println!("    ok: rust target {WASM_TARGET}");
        return Ok(());
    }
    Cmd::new("rustup").args(["target", "add", WASM_TARGET]).run()
}

/// wasm-bindgen's CLI must match the `wasm-bindgen` crate in Cargo.lock exactly, or the generated
/// JS does not fit the wasm. It also provides `wasm-bindgen-test-runner` for the wasm tests.
fn ensure_wasm_bindgen(root: &Path) -> Outcome {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|error| format!("cannot read Cargo.lock: {error}"))?;
    let version = locked_version(&lock, "wasm-bindgen")?;
    let wanted = format!("wasm-bindgen {version}");
    let cli = Cmd::new("wasm-bindgen").arg("--version").probe();
    let runner = Cmd::new("wasm-bindgen-test-runner").arg("--version").probe();
    let matches = |out: &Option<String>, name: &str| {
        out.as_deref().is_some_and(|out| out.trim() == format!("{name} {version}"))
    };
    if matches(&cli, "wasm-bindgen") && matches(&runner, "wasm-bindgen-test-runner") {
        println!("    ok: {wanted}");
        return Ok(());
    }
    println!("    installing wasm-bindgen-cli {version} (6-8 minutes on 2 cores, once)");
    // No --locked: the CLI's own lockfile pins a webpki-roots version the registry mirror lacks.
    cargo_install().args(["install", "wasm-bindgen-cli", "--version", &version]).run()
}

/// `cargo` for installing a build tool: its own release profile may ask for fat LTO and one
/// codegen unit, which makes the one-time install several minutes longer on two cores
/// for a tool whose speed hardly matters here. Parallel codegen without LTO builds it faster.
fn cargo_install() -> Cmd {
    Cmd::new("cargo")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
}

fn ensure_wasm_opt(root: &Path) -> Outcome {
    let wasm_opt = node_tools_bin(root).join("wasm-opt");
    let wanted = format!("version {WASM_OPT_VERSION}");
    if Cmd::new(&wasm_opt).arg("--version").probe().is_some_and(|out| out.contains(&wanted)) {
        println!("    ok: wasm-opt {wanted} ({})", wasm_opt.display());
        return Ok(());
    }
    if Cmd::new("npm").arg("--version").probe().is_none() {
        return Err("npm is missing: install Node.js (any current LTS) so wasm-opt can be installed".into());
    }
    Cmd::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(root.join(".tools"))
        .arg(BINARYEN_NPM_PACKAGE)
        .run()
}

/// The single version of `package` recorded in Cargo.lock.
pub fn locked_version(lock: &str, package: &str) -> Outcome<String> {
    let wanted_name = format!("name = \"{package}\"");
    let mut versions = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut lines = block.lines().map(str::trim);
        if lines.any(|line| line == wanted_name) {
            let version = block
                .lines()
                .map(str::trim)
                .find_map(|line| line.strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'));
            if let Some(version) = version {
                versions.push(version.to_owned());
            }
        }
    }
    match versions.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(format!("Cargo.lock has no `{package}` package")),
        many => Err(format!("Cargo.lock has several `{package}` versions: {}", many.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.131"
"#;

    #[test]
    fn finds_the_exact_locked_version_and_not_a_prefix_match() {
        assert_eq!(locked_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
        assert_eq!(locked_version(LOCK, "wasm-bindgen-macro").unwrap(), "0.2.131");
    }

    #[test]
    fn a_missing_or_ambiguous_package_is_an_error() {
        assert!(locked_version(LOCK, "trunk").unwrap_err().contains("no `trunk`"));
        let twice = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n");
        assert!(locked_version(&twice, "wasm-bindgen").unwrap_err().contains("several"));
    }

    #[test]
    fn the_repository_lockfile_pins_wasm_bindgen() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let version = locked_version(&lock, "wasm-bindgen").unwrap();
        assert!(version.starts_with("0.2."), "{version}");
    }
}
