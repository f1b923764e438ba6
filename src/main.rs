//! The `onewall` command: run a node, check a configuration, check rules.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod access;
mod anomaly;
mod assets;
mod audit_mirror;
mod commands;
mod config;
mod demo;
mod federation;
mod files;
mod intel;
mod jobs;
mod live_rules;
mod metrics;
mod pipeline;
mod replay;
mod serve;
mod supervise;
mod supervision;

/// The node allocates and frees many small buffers per event on several threads (parsed
/// fields, alerts, store rows); mimalloc's per-thread free lists serve those faster than the
/// system allocator's bins. It is built without asking for transparent huge pages
/// (`no_thp`): with them, the kernel zeroed a fresh 2 MiB page each time memory mimalloc had
/// given back was touched again, 19% of the node's CPU on a Winlogbeat feed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Manage users (people who log in to the console).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage API tokens (machines, collectors).
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Check the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Threat intelligence: import a STIX 2.1 bundle into the running node.
    Intel {
        #[command(subcommand)]
        command: IntelCommand,
    },
    /// Assets: import a registry or scan file into the running node, export the registry.
    Assets {
        #[command(subcommand)]
        command: AssetsCommand,
    },
    /// Start a province node and two city nodes on 127.0.0.1 and feed them sample logs: a
    /// populated setup, with alerts, incidents and federation, to look around in.
    Demo {
        /// Where the three nodes keep their configurations, data, tokens and logs.
        #[arg(long, default_value = "./onewall-demo")]
        dir: PathBuf,
        /// The province's HTTP port; the cities take the next two (0: any free ports).
        #[arg(long, default_value_t = 18080)]
        port: u16,
        /// Stop the nodes once the sample has been processed, instead of waiting for Ctrl-C.
        #[arg(long)]
        exit: bool,
    },
    /// Hunt over log files offline with a node's rules (packs, pipelines, overlays,
    /// correlations): EVTX, JSON (objects, arrays, NDJSON, pretty-printed), gzip, syslog lines.
    Replay {
        /// Log files to read (the kind is found from their content).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory of Sigma rules (repeatable); one with a pack.yml is read as a pack.
        /// Without `--rules` or `--pack`, the built-in pack runs.
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
        /// Rule pack: a directory with a pack.yml, its pipelines applied (repeatable).
        #[arg(long = "pack")]
        packs: Vec<PathBuf>,
        /// Overlay file (repeatable); those for `--region` and the regions above it apply.
        #[arg(long = "overlay")]
        overlays: Vec<PathBuf>,
        /// Worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
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

/// Where the node keeps its data: `--data DIR`, or the `store.path` of `--config FILE`.
#[derive(Debug, Args)]
struct DataArgs {
    /// Configuration file whose `store.path` is the data directory.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// The data directory itself.
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Who a new user or token is.
#[derive(Debug, Args)]
struct GrantArgs {
    /// viewer, analyst, responder, admin or collector.
    #[arg(long)]
    role: String,
    /// GB/T 2260 code of the region subtree it is limited to.
    #[arg(long, default_value = "410000")]
    region: String,
    /// Department it is limited to (events whose organization.name is this).
    #[arg(long)]
    department: Option<String>,
    /// May see personal data unmasked.
    #[arg(long)]
    pii: bool,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user; the password is read from the first line of standard input.
    Add {
        name: String,
        #[command(flatten)]
        grant: GrantArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the users.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create an API token and print it (shown this once).
    Create {
        /// What or who uses it.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        grant: GrantArgs,
        /// Seconds it stays valid; never expires without.
        #[arg(long)]
        ttl_secs: Option<i64>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the tokens (never their secrets).
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke a token by id.
    Revoke {
        id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
enum IntelCommand {
    /// Post a STIX 2.1 bundle to the running node (as `POST /api/v1/intel/bundles`) and
    /// print the import receipt.
    Import {
        file: PathBuf,
        /// The node's configuration: its `[http] listen` and data directory.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// The node's URL (`http://host:port`), instead of the configuration's listener.
        #[arg(long)]
        url: Option<String>,
        /// An admin token; else ONEWALL_TOKEN, else the node's bootstrap admin.token.
        #[arg(long)]
        token: Option<String>,
    },
}

/// Where a running node is, for the commands that talk to its API.
#[derive(Debug, clap::Args)]
struct NodeArgs {
    /// The node's configuration: its `[http] listen` and data directory.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// The node's URL (`http://host:port`), instead of the configuration's listener.
    #[arg(long)]
    url: Option<String>,
    /// A token; else ONEWALL_TOKEN, else the node's bootstrap admin.token.
    #[arg(long)]
    token: Option<String>,
}

impl NodeArgs {
    fn as_args(&self) -> commands::assets::NodeArgs<'_> {
        commands::assets::NodeArgs {
            config: self.config.as_deref(),
            url: self.url.clone(),
            token: self.token.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum AssetsCommand {
    /// Post a file to the running node (as `POST /api/v1/assets/import`): a registry (CSV in
    /// UTF-8 or GBK, .xlsx), Nmap XML, Greenbone XML, a findings CSV, XCCDF/ARF results or a
    /// lynis report, its format read from the content. Prints what was imported and every
    /// refused row.
    Import {
        file: PathBuf,
        /// `merge` (systems in the file are added or updated) or `replace` (the file is the
        /// whole registry of the caller's scope).
        #[arg(long, default_value = "merge")]
        mode: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Write the registry (as `GET /api/v1/assets/export`) in the columns the import reads.
    Export {
        /// `csv` (UTF-8 with a BOM) or `xlsx`.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The file to write (else standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        node: NodeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the audit log's SM3 chain; name the first edited, removed or inserted entry.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Also check the copy in ClickHouse (`[store] backend = "clickhouse"` in --config).
        #[arg(long)]
        clickhouse: bool,
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
    // Node files are the node's alone (0600 files in 0700 directories), whichever command
    // creates them.
    files::private_by_default();
    let result = match cli.command {
        Command::Serve { config } => serve::run(config.as_deref()),
        Command::CheckConfig { file } => commands::check_config::run(&file),
        Command::Intel {
            command:
                IntelCommand::Import {
                    file,
                    config,
                    url,
                    token,
                },
        } => commands::intel::import(commands::intel::Import {
            file: &file,
            config: config.as_deref(),
            url,
            token,
        }),
        Command::Assets {
            command: AssetsCommand::Import { file, mode, node },
        } => commands::assets::import(&file, &mode, node.as_args()),
        Command::Assets {
            command:
                AssetsCommand::Export {
                    format,
                    output,
                    node,
                },
        } => commands::assets::export(&format, output.as_ref(), node.as_args()),
        Command::Demo { dir, port, exit } => demo::run(&dir, port, exit),
        Command::Users { command } => users_command(command),
        Command::Tokens { command } => tokens_command(command),
        Command::Audit {
            command: AuditCommand::Verify { data, clickhouse },
        } => commands::audit::verify_command(data.config.as_deref(), data.data, clickhouse),
        Command::Rules {
            command: RulesCommand::Check { dir, config },
        } => commands::rules::check(&dir, config.as_deref()),
        Command::Rules {
            command: RulesCommand::Test { dir, samples },
        } => commands::rules::test(&dir, samples.as_deref()),
        Command::Replay {
            files,
            rules,
            packs,
            overlays,
            threads,
            builtin,
            output,
            timezone,
            region,
        } => replay_place(&timezone, &region).and_then(|(timezone, region)| {
            replay::run(replay::Replay {
                files,
                rule_dirs: rules,
                packs,
                overlays,
                builtin,
                output,
                timezone,
                region,
                threads,
            })
        }),
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

fn data_dir(d: DataArgs) -> anyhow::Result<PathBuf> {
    commands::users::data_dir(d.config.as_deref(), d.data)
}

fn users_command(command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add { name, grant, data } => commands::users::add_user(
            &data_dir(data)?,
            commands::users::AddUser {
                name,
                role: grant.role,
                region: grant.region,
                department: grant.department,
                pii: grant.pii,
            },
        ),
        UsersCommand::List { data } => commands::users::list_users(&data_dir(data)?),
    }
}

fn tokens_command(command: TokensCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokensCommand::Create {
            name,
            grant,
            ttl_secs,
            data,
        } => commands::users::create_token(
            &data_dir(data)?,
            commands::users::CreateToken {
                name,
                role: grant.role,
                region: grant.region,
                department: grant.department,
                pii: grant.pii,
                ttl_secs,
            },
        ),
        TokensCommand::List { data } => commands::users::list_tokens(&data_dir(data)?),
        TokensCommand::Revoke { id, data } => commands::users::revoke_token(&data_dir(data)?, &id),
    }
}

/// `--timezone` and `--region` of `replay`, checked.
fn replay_place(
    timezone: &str,
    region: &str,
) -> anyhow::Result<(time::UtcOffset, onewall_model::RegionCode)> {
    let timezone = config::parse_offset(timezone).ok_or_else(|| {
        anyhow::anyhow!("--timezone: {timezone:?} is not a UTC offset like +08:00")
    })?;
    let region = region
        .parse()
        .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    Ok((timezone, region))
}
