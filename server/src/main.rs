//! `wadesk-server`: parse the settings, start the server, print where it is, stop on Ctrl-C or
//! SIGTERM. Anything that stops it from starting is one line on stderr and exit code 2.

use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;
use wadesk_server::{FirstAdmin, RunningServer, Settings};

fn main() -> ExitCode {
    let mut settings = match Settings::try_parse() {
        Ok(settings) => settings,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let text = error.to_string();
            let first_line = text.lines().next().unwrap_or("invalid arguments");
            return fail(first_line.trim_start_matches("error: "));
        }
    };
    if let Err(reason) = settings.validate() {
        return fail(&reason);
    }
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(cause) => return fail(&format!("cannot start the async runtime: {cause}")),
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&reason),
    }
}

async fn run(settings: Settings) -> Result<(), String> {
    let admin_email = settings.admin_email.clone();
    let server = wadesk_server::start(settings).await?;
    announce(&server, &admin_email);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

fn announce(server: &RunningServer, admin_email: &str) {
    println!("wadesk is running at {}/", server.url());
    match &server.first_admin {
        Some(FirstAdmin { account_name, email, generated_password: Some(password) }) => {
            print_box(&[
                "First run: created the first account and its admin.".to_owned(),
                format!("account:  {account_name}"),
                format!("email:    {email}"),
                format!("password: {password}"),
                "This password is shown only once. Keep it somewhere safe.".to_owned(),
            ]);
        }
        Some(FirstAdmin { account_name, email, generated_password: None }) => {
            println!("First run: created account {account_name} with admin {email} (password from --admin-password or WADESK_ADMIN_PASSWORD)");
        }
        None => println!("Admin login: {admin_email} (created on first run)"),
    }
}

fn print_box(lines: &[String]) {
    let width = lines.iter().map(|line| line.chars().count()).max().unwrap_or(0);
    let border = "-".repeat(width + 2);
    println!("+{border}+");
    for line in lines {
        println!("| {line:<width$} |");
    }
    println!("+{border}+");
}

/// Logs go to stdout (stderr is kept for the one-line fatal error); JSON when `WADESK_LOG_FORMAT=json`.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("WADESK_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

fn fail(reason: &str) -> ExitCode {
    let one_line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("wadesk-server: {one_line}");
    ExitCode::from(2)
}
