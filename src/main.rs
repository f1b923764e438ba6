//! The `onewall` command: run a node, check a configuration, check rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod metrics;
mod pipeline;
mod serve;

/// onewall (一道墙): a security operations engine for province, city and county SOCs.
#[derive(Debug, Parser)]
#[command(name = "onewall", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node: listeners, detection, correlation, storage and the API.
    Serve {
        /// Configuration file (TOML, `version = 1`). Without one the node runs on defaults:
        /// syslog on 5514 UDP and TCP, HTTP on 8080, data under ./onewall-data.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and report every mistake in it.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Work with Sigma rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Compile every rule under a directory and report the ones that do not compile.
    Check {
        /// Directory of Sigma rules (searched recursively for .yml and .yaml).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve::run(config.as_deref()),
        Command::CheckConfig { file } => check_config(&file),
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => rules_check(&dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("onewall: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    match config::parse(&text) {
        Ok(r) => {
            println!(
                "{}: ok (node {} in region {}, {} regions known)",
                file.display(),
                r.config.node.name,
                r.region,
                r.regions.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprint!("{}: {errors}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn rules_check(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let (_engine, report) = onewall_rules::Engine::load_dir(dir)?;
    for e in &report.errors {
        println!("{e}");
    }
    println!("compiled {} of {} rules", report.compiled, report.total);
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
