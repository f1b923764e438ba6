//! The `onewall` command: run a node, check a configuration, check rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod correlation;
mod metrics;
mod pipeline;
mod replay;
mod rules_cli;
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
    /// Hunt over log files offline: parse each line (syslog, JSON/NDJSON) and print the rule hits.
    Replay {
        /// Log files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory of Sigma rules (repeatable). Without one, the built-in pack runs.
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
        /// Also run the built-in pack beside `--rules`.
        #[arg(long)]
        builtin: bool,
        /// How to print hits.
        #[arg(long, value_enum, default_value = "table")]
        output: replay::Output,
        /// UTC offset for timestamps that carry none, e.g. +08:00.
        #[arg(long, default_value = "+08:00")]
        timezone: String,
        /// Region code the events are taken to come from.
        #[arg(long, default_value = "410000")]
        region: String,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Compile every rule under a directory and report the ones that do not compile.
    Check {
        /// Directory of Sigma rules (searched recursively for .yml and .yaml), or a rule pack
        /// (a directory with a pack.yml).
        dir: PathBuf,
        /// Configuration file whose `[rules.placeholders]` the `expand` modifier uses.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run each rule's own sample events and report the rules that fire wrongly.
    ///
    /// For `DIR/x.yml` the samples are `x.match.json` / `x.nomatch.json` beside it, or
    /// `x/match.json` / `x/nomatch.json`, or `SAMPLES/x/match.json` / `SAMPLES/x/nomatch.json`.
    Test {
        /// Directory of Sigma rules.
        dir: PathBuf,
        /// Directory holding `<rule file stem>/match.json` and `nomatch.json`.
        #[arg(long)]
        samples: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve::run(config.as_deref()),
        Command::CheckConfig { file } => check_config(&file),
        Command::Rules {
            command: RulesCommand::Check { dir, config },
        } => rules_cli::check(&dir, config.as_deref()),
        Command::Rules {
            command: RulesCommand::Test { dir, samples },
        } => rules_cli::test(&dir, samples.as_deref()),
        Command::Replay {
            files,
            rules,
            builtin,
            output,
            timezone,
            region,
        } => replay_command(files, rules, builtin, output, &timezone, &region),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped early (`onewall replay ... | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
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

fn replay_command(
    files: Vec<PathBuf>,
    rule_dirs: Vec<PathBuf>,
    builtin: bool,
    output: replay::Output,
    timezone: &str,
    region: &str,
) -> anyhow::Result<ExitCode> {
    let timezone = config::parse_offset(timezone).ok_or_else(|| {
        anyhow::anyhow!("--timezone: {timezone:?} is not a UTC offset like +08:00")
    })?;
    let region = region
        .parse()
        .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    replay::run(replay::Replay {
        files,
        rule_dirs,
        builtin,
        output,
        timezone,
        region,
    })
}
