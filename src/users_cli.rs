//! Users and API tokens from the command line (`onewall users …`, `onewall tokens …`), and
//! the first start's admin token.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use onewall_api::Access;
use onewall_api::login_limit::LoginLimiter;
use onewall_model::{RegionCode, Timestamp};
use onewall_store::audit::{AuditLog, AuditRecord};
use onewall_store::auth::{AuthStore, NewToken, NewUser, Role};

use crate::config::{self, Resolved};

/// The file, in the data directory, that receives the first start's admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Open the auth store and audit log in the data directory; on a first start (no users, no
/// tokens) create an admin token over the whole region tree, write it to `admin.token` (mode
/// 0600) and print that path, never the token.
pub fn open_access(r: &Resolved) -> anyhow::Result<Access> {
    let dir = &r.config.store.path;
    let auth = AuthStore::open(dir)
        .with_context(|| format!("store.path: opening the auth store in {}", dir.display()))?;
    let audit = AuditLog::open(dir)
        .with_context(|| format!("store.path: opening the audit log in {}", dir.display()))?;
    if auth.is_empty()? {
        let path = bootstrap_admin(&auth, &audit, dir, top_region(r))?;
        println!("onewall created an admin token in {}", path.display());
        tracing::warn!(file = %path.display(), "first start: admin token written");
    }
    Ok(Access {
        auth: Arc::new(auth),
        audit: Arc::new(audit),
        metrics_open: r.config.auth.metrics_open,
        mask: config::access::mask_policy(&r.config.auth),
        login: Arc::new(LoginLimiter::new(config::access::login_policy(
            &r.config.auth,
        ))),
    })
}

/// The top of the region tree above the node's region: the first admin sees all this node
/// stores.
fn top_region(r: &Resolved) -> RegionCode {
    r.regions.ancestors(r.region).last().unwrap_or(r.region)
}

fn bootstrap_admin(
    auth: &AuthStore,
    audit: &AuditLog,
    dir: &Path,
    region: RegionCode,
) -> anyhow::Result<PathBuf> {
    let (secret, info) = auth.create_token(NewToken {
        name: "bootstrap-admin".into(),
        role: Role::Admin,
        region,
        department: None,
        pii: true,
        ttl_secs: None,
    })?;
    let path = dir.join(ADMIN_TOKEN_FILE);
    audit
        .append(cli_record(
            "onewall serve (first start)",
            &format!("token {}", info.id),
            200,
            format!(
                "name={} {} file={ADMIN_TOKEN_FILE}",
                info.name,
                grant_detail(info.role, info.region, None, info.pii)
            ),
        ))
        .context("writing the first start's token to the audit log")?;
    write_private(&path, &format!("{secret}\n"))?;
    Ok(path)
}

/// The audit actor of a command run on the node's machine: the operating-system user.
fn cli_actor() -> String {
    let uid = rustix::process::getuid().as_raw();
    match std::env::var("USER") {
        Ok(name) if !name.is_empty() => format!("cli:{name} (uid {uid})"),
        _ => format!("cli (uid {uid})"),
    }
}

/// The audit record of a command: `action` the command, `target` what it acted on, `result`
/// as an HTTP status would say it, `detail` what it granted.
fn cli_record(action: &str, target: &str, result: u16, detail: String) -> AuditRecord {
    AuditRecord {
        at: Timestamp::now(),
        actor: cli_actor(),
        role: String::new(),
        scope: String::new(),
        action: action.to_owned(),
        target: target.to_owned(),
        result,
        client: String::new(),
        detail,
    }
}

/// What a grant is, for the audit log (as the API records it).
fn grant_detail(role: Role, region: RegionCode, department: Option<&str>, pii: bool) -> String {
    format!(
        "role={role} region={region} department={} pii={pii}",
        department.unwrap_or("-")
    )
}

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

/// Write `text` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The data directory named by `--data`, else by the config file's `store.path`, else the
/// default.
pub fn data_dir(config_file: Option<&Path>, data: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = data {
        return Ok(d);
    }
    let resolved = match config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => config::defaults().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
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
