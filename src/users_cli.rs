//! Users and API tokens from the command line (`onewall users …`, `onewall tokens …`), and
//! the first start's admin token.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use onewall_api::Access;
use onewall_model::RegionCode;
use onewall_store::audit::AuditLog;
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
        let path = bootstrap_admin(&auth, dir, top_region(r))?;
        println!("onewall created an admin token in {}", path.display());
        tracing::warn!(file = %path.display(), "first start: admin token written");
    }
    Ok(Access {
        auth: Arc::new(auth),
        audit: Arc::new(audit),
        metrics_open: r.config.auth.metrics_open,
        mask: config::access::mask_policy(&r.config.auth),
    })
}

/// The top of the region tree above the node's region: the first admin sees all this node
/// stores.
fn top_region(r: &Resolved) -> RegionCode {
    r.regions.ancestors(r.region).last().unwrap_or(r.region)
}

fn bootstrap_admin(auth: &AuthStore, dir: &Path, region: RegionCode) -> anyhow::Result<PathBuf> {
    let (secret, _) = auth.create_token(NewToken {
        name: "bootstrap-admin".into(),
        role: Role::Admin,
        region,
        department: None,
        pii: true,
        ttl_secs: None,
    })?;
    let path = dir.join(ADMIN_TOKEN_FILE);
    write_private(&path, &format!("{secret}\n"))?;
    Ok(path)
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
    let info = auth.add_user(NewUser {
        name: u.name,
        password,
        role,
        region,
        department: u.department,
        pii: u.pii,
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
    for u in auth.users()? {
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
    let (secret, info) = auth.create_token(NewToken {
        name: t.name,
        role,
        region,
        department: t.department,
        pii: t.pii,
        ttl_secs: t.ttl_secs,
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
    for t in auth.tokens()? {
        println!("{}\t{}\t{}\t{}", t.id, t.name, t.role, t.region);
    }
    Ok(ExitCode::SUCCESS)
}

/// `onewall tokens revoke ID`.
pub fn revoke_token(dir: &Path, id: &str) -> anyhow::Result<ExitCode> {
    AuthStore::open(dir)?.revoke_token(id)?;
    println!("token {id} revoked");
    Ok(ExitCode::SUCCESS)
}
