//! Running other programs: every command is echoed before it runs, and a failure comes back as one
//! line that names the command, so the step summary can say exactly what broke.

use std::ffi::OsStr;
use std::path::Path;
use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// The outcome of a step or helper: `Err` carries the line shown to the developer.
pub type Outcome<T = ()> = Result<T, String>;

/// A command with its arguments, built up and then run with inherited stdout/stderr.
pub struct Cmd {
    command: Command,
    shown: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        let shown = program.as_ref().to_string_lossy().into_owned();
        Cmd { command: Command::new(program), shown }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.shown.push(' ');
        self.shown.push_str(&arg.as_ref().to_string_lossy());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.command.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Cmd {
        self.command.current_dir(dir);
        self
    }

    /// Run with output shown; `Err` when it cannot start or exits non-zero.
    pub fn run(mut self) -> Outcome {
        println!("    $ {}", self.shown);
        let status = self
            .command
            .status()
            .map_err(|error| format!("could not start `{}`: {error}", self.shown))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.shown))
        }
    }

    /// Run a test command with its output shown line by line as it comes, adding every
    /// `test result: ... N passed; M failed` line (cargo's libtest and wasm-bindgen-test-runner
    /// both print it) to `tally`.
    pub fn run_tests(mut self, tally: &TestTally) -> Outcome {
        println!("    $ {}", self.shown);
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("could not start `{}`: {error}", self.shown))?;
        if let Some(stdout) = child.stdout.take() {
            let mut shown = std::io::stdout();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                tally.add_line(&line);
                let _ = writeln!(shown, "{line}");
            }
        }
        let status = child.wait().map_err(|error| format!("`{}` did not finish: {error}", self.shown))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", self.shown))
        }
    }

    /// Run quietly and return stdout; `None` when it cannot start or fails. For probes such as
    /// `trunk --version`, where "absent" and "broken" both mean "install it".
    pub fn probe(mut self) -> Option<String> {
        let output = self.command.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Run quietly and return stdout, or an error with the command's stderr.
    pub fn capture(mut self) -> Outcome<String> {
        let output = self
            .command
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("could not start `{}`: {error}", self.shown))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`{}` failed ({}): {}",
                self.shown,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// Hand the terminal to the command until it exits (the dev server); returns its exit code.
    pub fn run_to_end(mut self) -> Outcome<i32> {
        println!("    $ {}", self.shown);
        let status = self
            .command
            .status()
            .map_err(|error| format!("could not start `{}`: {error}", self.shown))?;
        Ok(status.code().unwrap_or(1))
    }
}

/// Passed and failed test counts over every suite a run executed, for the closing line.
#[derive(Debug, Default)]
pub struct TestTally {
    passed: Cell<u64>,
    failed: Cell<u64>,
}

impl TestTally {
    /// Count one line of test output if it is a suite's `test result:` line.
    pub fn add_line(&self, line: &str) {
        let Some(result) = line.trim().strip_prefix("test result:") else { return };
        for part in result.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(number), Some(label)) = (words.next(), words.next()) {
                let Ok(count) = number.parse::<u64>() else { continue };
                match label {
                    "passed" => self.passed.set(self.passed.get() + count),
                    "failed" => self.failed.set(self.failed.get() + count),
                    _ => {}
                }
            }
        }
    }

    /// `tests: N passed, M failed`: the plain closing line CI reads.
    pub fn closing_line(&self) -> String {
        format!("tests: {} passed, {} failed", self.passed.get(), self.failed.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_adds_up_libtest_and_wasm_runner_lines() {
        let tally = TestTally::default();
        tally.add_line("test result: ok. 58 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 9.69s");
        tally.add_line("test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 filtered out; finished in 0.01s");
        tally.add_line("running 3 tests");
        tally.add_line("test passed_and_failed_names ... ok");
        assert_eq!(tally.closing_line(), "tests: 63 passed, 2 failed");
    }
}
