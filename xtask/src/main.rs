//! `cargo xtask run | test | bench`: the only commands a developer or CI needs.
//!
//! - `run`: install what is missing, build the release bundle, start the sandbox server.
//! - `test`: the same tools plus Chromium and PostgreSQL, then every test suite in order,
//!   stopping at the first failure with a summary of what passed.
//! - `bench`: bundle sizes and the cold-load time of the login page.

mod bench;
mod bundle;
mod compress;
mod process;
mod split;
mod system;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bundle::Bundle;
use process::{Cmd, Outcome, TestTally};

const USAGE: &str = "usage: cargo xtask <command>

  run [-- server flags]   build the SPA and start the sandbox server (http://127.0.0.1:8080)
  test                    install test dependencies and run every test suite (what CI runs)
  bundle [--public-url P] build the release bundle into dist/ (for hosting it elsewhere: P is the
                          URL path it is served under, /console/ for example; default /)
  bench                   bundle sizes and cold-load time of the login page";

fn main() -> ExitCode {
    let root = repository_root();
    tools::extend_path(&root);
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.skip_while(|arg| arg == "--").collect();
    match command.as_str() {
        "run" => run(&root, &rest),
        "test" => test(&root),
        "bench" => bench(&root),
        "bundle" => bundle(&root, &rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository root").to_path_buf()
}

/// A named unit of work; a sequence of them stops at the first failure.
struct Step<'a> {
    name: &'static str,
    action: Box<dyn FnOnce() -> Outcome + 'a>,
}

fn step<'a>(name: &'static str, action: impl FnOnce() -> Outcome + 'a) -> Step<'a> {
    Step { name, action: Box::new(action) }
}

enum StepResult {
    Passed(Duration),
    Failed(Duration, String),
    NotRun,
}

/// Run the steps in order, stop at the first failure, then print what happened to each.
fn run_steps(title: &str, steps: Vec<Step<'_>>) -> bool {
    let total = steps.len();
    let started_all = Instant::now();
    let mut results: Vec<(&'static str, StepResult)> = Vec::new();
    let mut failed = false;
    for (index, step) in steps.into_iter().enumerate() {
        if failed {
            results.push((step.name, StepResult::NotRun));
            continue;
        }
        println!("\n==> [{}/{total}] {}", index + 1, step.name);
        let started = Instant::now();
        match (step.action)() {
            Ok(()) => results.push((step.name, StepResult::Passed(started.elapsed()))),
            Err(message) => {
                eprintln!("\n!!! {} failed: {message}", step.name);
                results.push((step.name, StepResult::Failed(started.elapsed(), message)));
                failed = true;
            }
        }
    }
    println!("\n==> {title}: summary ({})", format_duration(started_all.elapsed()));
    for (name, result) in &results {
        match result {
            StepResult::Passed(took) => println!("  passed   {name} ({})", format_duration(*took)),
            StepResult::Failed(took, message) => println!("  FAILED   {name} ({}): {message}", format_duration(*took)),
            StepResult::NotRun => println!("  not run  {name}"),
        }
    }
    !failed
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// In CI the lockfile must already be complete: a dependency change that was not committed with
/// its Cargo.lock fails there instead of resolving silently.
fn locked_flags() -> Vec<&'static str> {
    let in_ci = std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0");
    if in_ci {
        vec!["--locked"]
    } else {
        Vec::new()
    }
}

fn run(root: &Path, server_flags: &[String]) -> ExitCode {
    let prepared = run_steps(
        "cargo xtask run",
        vec![
            step("build tools (wasm target, wasm-bindgen, wasm-opt)", || tools::ensure_build_tools(root)),
            step("release bundle -> dist/", || Bundle::root(root).build(root)),
            step("server build", || {
                Cmd::new("cargo").args(["build", "-p", "wadesk-server"]).current_dir(root).run()
            }),
        ],
    );
    if !prepared {
        return ExitCode::FAILURE;
    }
    println!("\n==> starting the sandbox server (Ctrl-C stops it)");
    if let Err(error) = std::fs::create_dir_all(root.join("data")) {
        eprintln!("cannot create data/: {error}");
        return ExitCode::FAILURE;
    }
    let mut server = Cmd::new("cargo")
        .args(["run", "-p", "wadesk-server", "--"])
        .args(["--mode", "sandbox", "--database-url", "sqlite://data/wadesk.db", "--dist", "dist"])
        .args(server_flags)
        .current_dir(root);
    // The first run seeds this admin; the server prints the generated password once
    // (or uses WADESK_ADMIN_PASSWORD when it is set).
    if std::env::var_os("WADESK_ADMIN_EMAIL").is_none() {
        server = server.env("WADESK_ADMIN_EMAIL", "admin@wadesk.local");
    }
    match server.run_to_end() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Where Chromium's temporary profile folders go during the browser steps (its TMPDIR): about
/// 100 MB a session, and a browser killed at the end of a test leaves its folder behind, so they
/// live under target/ and are removed after the run instead of filling /tmp.
const BROWSER_SCRATCH: &str = "target/browser-tmp";

fn browser_scratch(root: &Path) -> PathBuf {
    let dir = root.join(BROWSER_SCRATCH);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn test(root: &Path) -> ExitCode {
    let locked = locked_flags();
    let tally = TestTally::default();
    let dist = Bundle::root(root);
    let dist_console = Bundle::console(root);
    let steps = vec![
        step("build tools (wasm target, wasm-bindgen, wasm-opt)", || tools::ensure_build_tools(root)),
        step("system packages (chromium, chromium-driver, postgresql)", system::ensure_packages),
        step("PostgreSQL for the server tests", || {
            let url = system::ensure_postgres()?;
            println!("    WADESK_TEST_POSTGRES_URL={url}");
            std::env::set_var("WADESK_TEST_POSTGRES_URL", url);
            Ok(())
        }),
        step("native tests (api-types, wadesk-server, xtask)", || {
            Cmd::new("cargo")
                .args(["test", "-p", "api-types", "-p", "wadesk-server", "-p", "xtask"])
                .args(&locked)
                .current_dir(root)
                .run_tests(&tally)
        }),
        step("wasm tests (wadesk in headless Chromium)", || {
            Cmd::new("cargo")
                .args(["test", "-p", "wadesk", "--target", tools::WASM_TARGET])
                .args(&locked)
                .env("CHROMEDRIVER", system::CHROMEDRIVER)
                .env("TMPDIR", browser_scratch(root))
                .current_dir(root)
                .run_tests(&tally)
        }),
        step("release bundles (dist/ and target/dist-console/)", || {
            dist.build(root)?;
            dist_console.build(root)
        }),
        step("bundle size budgets (first load 150 KB, any chunk 80 KB)", || bench::check_sizes(&dist.dist)),
        step("end-to-end tests (bundle + server in headless Chromium)", || {
            Cmd::new("cargo")
                .args(["test", "-p", "wadesk-e2e"])
                .args(&locked)
                .env("WADESK_E2E_DIST", &dist.dist)
                .env("WADESK_E2E_DIST_CONSOLE", &dist_console.dist)
                .env("TMPDIR", browser_scratch(root))
                .current_dir(root)
                .run_tests(&tally)
        }),
    ];
    let passed = run_steps("cargo xtask test", steps);
    let _ = std::fs::remove_dir_all(root.join(BROWSER_SCRATCH));
    println!("{}", tally.closing_line());
    exit_code(passed)
}

fn bundle(root: &Path, args: &[String]) -> ExitCode {
    let public_url = match args {
        [] => "/".to_owned(),
        [flag, url] if flag == "--public-url" => format!("/{}/", url.trim_matches('/')).replace("//", "/"),
        _ => {
            eprintln!("usage: cargo xtask bundle [--public-url /console/]");
            return ExitCode::from(2);
        }
    };
    let bundle = Bundle { dist: root.join("dist"), public_url: Box::leak(public_url.into_boxed_str()) };
    exit_code(run_steps(
        "cargo xtask bundle",
        vec![
            step("build tools (wasm target, wasm-bindgen, wasm-opt)", || tools::ensure_build_tools(root)),
            step("release bundle -> dist/", || bundle.build(root)),
            step("size budgets", || bench::check_sizes(&bundle.dist)),
        ],
    ))
}

fn bench(root: &Path) -> ExitCode {
    exit_code(run_steps(
        "cargo xtask bench",
        vec![
            step("build tools (wasm target, wasm-bindgen, wasm-opt)", || tools::ensure_build_tools(root)),
            step("release bundle -> dist/", || Bundle::root(root).build(root)),
            step("measure", || bench::run(root)),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn steps_stop_at_the_first_failure() {
        let mut ran = Vec::new();
        let ran_ref = std::cell::RefCell::new(&mut ran);
        let passed = run_steps(
            "unit",
            vec![
                step("one", || {
                    ran_ref.borrow_mut().push("one");
                    Ok(())
                }),
                step("two", || Err("broken".into())),
                step("three", || {
                    ran_ref.borrow_mut().push("three");
                    Ok(())
                }),
            ],
        );
        assert!(!passed);
        assert_eq!(ran, vec!["one"]);
    }
}
