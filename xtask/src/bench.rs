//! `cargo xtask bench`: what the browser downloads (raw and gzipped) and how long a cold load
//! takes until the login form can be used. The timing itself runs in headless Chromium through
//! the end-to-end harness (`tests/e2e/src/bin/load-time.rs`), which prints one `key=value` line.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::bundle::files_with_extension;
use crate::process::{Cmd, Outcome};

pub const TARGET_TOTAL_GZIP_BYTES: u64 = 150 * 1024;
pub const TARGET_LOGIN_READY_MS: f64 = 300.0;
const COLD_LOADS: u32 = 7;

/// One kind of asset in the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetSize {
    pub kind: &'static str,
    pub raw: u64,
    pub gzip: u64,
}

pub fn gzip_len(bytes: &[u8]) -> u64 {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("writing to memory cannot fail");
    encoder.finish().expect("finishing in memory cannot fail").len() as u64
}

/// Sizes of the .wasm, .js and .css files directly in `dist`, one row per kind.
pub fn asset_sizes(dist: &Path) -> Outcome<Vec<AssetSize>> {
    let mut rows = Vec::new();
    for kind in ["wasm", "js", "css"] {
        let mut row = AssetSize { kind, raw: 0, gzip: 0 };
        for file in files_with_extension(dist, kind) {
            let bytes = std::fs::read(&file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
            row.raw += bytes.len() as u64;
            row.gzip += gzip_len(&bytes);
        }
        rows.push(row);
    }
    Ok(rows)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

pub fn size_table(rows: &[AssetSize]) -> String {
    let mut table = format!("{:<8} {:>12} {:>12}\n", "asset", "raw", "gzip");
    for row in rows {
        table += &format!("{:<8} {:>12} {:>12}\n", row.kind, kib(row.raw), kib(row.gzip));
    }
    let total_raw: u64 = rows.iter().map(|row| row.raw).sum();
    let total_gzip: u64 = rows.iter().map(|row| row.gzip).sum();
    table += &format!("{:<8} {:>12} {:>12}   (target <= {})\n", "total", kib(total_raw), kib(total_gzip), kib(TARGET_TOTAL_GZIP_BYTES));
    table
}

/// The value of `key=` in the load-time tool's output.
pub fn output_value<'a>(output: &'a str, key: &str) -> Option<&'a str> {
    output.lines().rev().find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
}

pub fn run(root: &Path) -> Outcome {
    let dist = root.join("dist");
    let rows = asset_sizes(&dist)?;
    println!("\nBundle sizes ({}):\n{}", dist.display(), size_table(&rows));

    println!("Cold loads until the login form is interactive ({COLD_LOADS} runs, headless Chromium, loopback):");
    Cmd::new("cargo").args(["build", "-p", "wadesk-e2e", "--bin", "load-time"]).current_dir(root).run()?;
    let output = Cmd::new("cargo")
        .args(["run", "--quiet", "-p", "wadesk-e2e", "--bin", "load-time", "--"])
        .arg(&dist)
        .arg(COLD_LOADS.to_string())
        .current_dir(root)
        .capture()?;
    let samples = output_value(&output, "samples_ms").unwrap_or("?");
    let median: f64 = output_value(&output, "median_ms")
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| format!("the load-time tool printed no median:\n{output}"))?;
    println!("  samples (ms): {samples}");
    println!("  median: {median:.0} ms   (target <= {TARGET_LOGIN_READY_MS:.0} ms)");

    let total_gzip: u64 = rows.iter().map(|row| row.gzip).sum();
    let verdict = |ok: bool| if ok { "within target" } else { "OVER TARGET" };
    println!("\nsize: {}   load: {}", verdict(total_gzip <= TARGET_TOTAL_GZIP_BYTES), verdict(median <= TARGET_LOGIN_READY_MS));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_shrinks_repetitive_content() {
        let text = "wadesk ".repeat(1000);
        let compressed = gzip_len(text.as_bytes());
        assert!(compressed > 0 && compressed < 200, "{compressed}");
    }

    #[test]
    fn the_table_totals_every_kind() {
        let rows = vec![
            AssetSize { kind: "wasm", raw: 2048, gzip: 1024 },
            AssetSize { kind: "js", raw: 1024, gzip: 512 },
            AssetSize { kind: "css", raw: 0, gzip: 0 },
        ];
        let table = size_table(&rows);
        let total = table.lines().find(|line| line.starts_with("total")).unwrap();
        assert!(total.contains("3.0 KB") && total.contains("1.5 KB"), "{table}");
    }

    #[test]
    fn reads_key_value_lines_from_the_tool_output() {
        let output = "starting\nsamples_ms=120,130,125\nmedian_ms=125.0\n";
        assert_eq!(output_value(output, "median_ms"), Some("125.0"));
        assert_eq!(output_value(output, "samples_ms"), Some("120,130,125"));
        assert_eq!(output_value(output, "missing"), None);
    }
}
