//! The node's access: its auth store and audit log opened for the API, the first start's
//! admin token, and the audit records of commands run on the node's machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use onewall_api::Access;
use onewall_api::login_limit::LoginLimiter;
use onewall_model::{RegionCode, Timestamp};
use onewall_store::audit::{AuditLog, AuditRecord};
use onewall_store::auth::{AuthStore, NewToken, Role};

use crate::config::Resolved;

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
        mask: onewall_api::config::mask_policy(&r.config.auth),
        login: Arc::new(LoginLimiter::new(onewall_api::config::login_policy(
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
pub(crate) fn cli_record(action: &str, target: &str, result: u16, detail: String) -> AuditRecord {
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
pub(crate) fn grant_detail(
    role: Role,
    region: RegionCode,
    department: Option<&str>,
    pii: bool,
) -> String {
    format!(
        "role={role} region={region} department={} pii={pii}",
        department.unwrap_or("-")
    )
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
