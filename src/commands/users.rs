//! Users and API tokens from the command line (`onewall users …`, `onewall tokens …`); each
//! change is recorded in the node's audit log.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onewall_model::RegionCode;
use onewall_store::audit::AuditLog;
use onewall_store::auth::{AuthStore, NewToken, NewUser, Role};

use crate::access::{cli_record, grant_detail};
use crate::config;

/// Run `f` (a command's change) and record it in the data directory's audit log, failed or
/// not; a record that cannot be written fails the command.
fn audited<T>(
    dir: &Path,
    action: &str,
    target: &str,
    f: impl FnOnce() -> Result<(T, String), onewall_store::StoreError>,
) -> anyhow::Result<T> {
    let audit = AuditLog::open(dir)
        .with_context(|| format!("opening the audit log in {}", dir.display()))?;
    let (outcome, result, detail) = match f() {
        Ok((v, detail)) => (Ok(v), 200, detail),
        Err(e) => {
            let status = e.code().http_status();
            (Err(e), status, String::new())
        }
    };
    audit
        .append(cli_record(action, target, result, detail))
        .context("writing the audit log")?;
    Ok(outcome?)
}

/// The data directory named by `--data`, else by the config file's `store.path`, else the
/// default.
pub fn data_dir(config_file: Option<&Path>, data: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = data {
        return Ok(d);
    }
    let resolved = config::load(config_file)?;
    Ok(resolved.config.store.path)
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    role.parse()
        .map_err(|e: String| anyhow::anyhow!("--role: {e}"))
}

fn parse_region(region: &str) -> anyhow::Result<RegionCode> {
    region.parse().map_err(|e| anyhow::anyhow!("--region: {e}"))
}

/// What `onewall users add` is given.
#[derive(Debug)]
pub struct AddUser {
    pub name: String,
    pub role: String,
    pub region: String,
    pub department: Option<String>,
    pub pii: bool,
}

/// `onewall users add`: the password is read from the first line of standard input.
pub fn add_user(dir: &Path, u: AddUser) -> anyhow::Result<ExitCode> {
    let role = parse_role(&u.role)?;
    let region = parse_region(&u.region)?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let auth = AuthStore::open(dir)?;
    let target = format!("user {}", u.name);
    let info = audited(dir, "onewall users add", &target, || {
        let info = auth.add_user(NewUser {
            name: u.name,
            password,
            role,
            region,
            department: u.department,
            pii: u.pii,
        })?;
        let detail = grant_detail(info.role, info.region, info.department.as_deref(), info.pii);
        Ok((info, detail))
    })?;
    println!(
        "user {} added: role {} region {}",
        info.name, info.role, info.region
    );
    Ok(ExitCode::SUCCESS)
}

/// `onewall users list`.
pub fn list_users(dir: &Path) -> anyhow::Result<ExitCode> {
    let auth = AuthStore::open(dir)?;
    let users = audited(dir, "onewall users list", "users", || {
        Ok((auth.users()?, String::new()))
    })?;
    for u in users {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            u.name,
            u.role,
            u.region,
            u.department.as_deref().unwrap_or("-"),
            if u.pii { "pii" } else { "-" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `onewall tokens create` is given.
#[derive(Debug)]
pub struct CreateToken {
    pub name: String,
    pub role: String,
    pub region: String,
    pub department: Option<String>,
    pub pii: bool,
    pub ttl_secs: Option<i64>,
}

/// `onewall tokens create`: prints the token (shown this once) on standard output.
pub fn create_token(dir: &Path, t: CreateToken) -> anyhow::Result<ExitCode> {
    let role = parse_role(&t.role)?;
    let region = parse_region(&t.region)?;
    let auth = AuthStore::open(dir)?;
    let target = format!("token named {}", t.name);
    let (secret, info) = audited(dir, "onewall tokens create", &target, || {
        let (secret, info) = auth.create_token(NewToken {
            name: t.name,
            role,
            region,
            department: t.department,
            pii: t.pii,
            ttl_secs: t.ttl_secs,
        })?;
        let detail = format!(
            "token {} {} expires={}",
            info.id,
            grant_detail(info.role, info.region, info.department.as_deref(), info.pii),
            info.expires
                .map_or("never".to_owned(), |e| e.secs().to_string())
        );
        Ok(((secret, info), detail))
    })?;
    eprintln!(
        "token {} created: role {} region {}; it is shown once:",
        info.id, info.role, info.region
    );
    println!("{secret}");
    Ok(ExitCode::SUCCESS)
}

/// `onewall tokens list`.
pub fn list_tokens(dir: &Path) -> anyhow::Result<ExitCode> {
    let auth = AuthStore::open(dir)?;
    let tokens = audited(dir, "onewall tokens list", "tokens", || {
        Ok((auth.tokens()?, String::new()))
    })?;
    for t in tokens {
        println!("{}\t{}\t{}\t{}", t.id, t.name, t.role, t.region);
    }
    Ok(ExitCode::SUCCESS)
}

/// `onewall tokens revoke ID`.
pub fn revoke_token(dir: &Path, id: &str) -> anyhow::Result<ExitCode> {
    let auth = AuthStore::open(dir)?;
    audited(dir, "onewall tokens revoke", &format!("token {id}"), || {
        auth.revoke_token(id).map(|()| ((), String::new()))
    })?;
    println!("token {id} revoked");
    Ok(ExitCode::SUCCESS)
}
