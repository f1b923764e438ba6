//! Users, API tokens and console sessions: who may call the API, with which role, over which
//! region subtree.
//!
//! One SQLite file (`auth.sqlite3`) in the node's data directory. Nothing secret is stored in
//! the clear: passwords are argon2id hashes (PHC strings), API tokens and session ids are
//! 256-bit random values of which only the SHA-256 is kept. A token is shown once, when it is
//! created.
//!
//! The calls are blocking (SQLite, argon2); async callers run them on the blocking pool.

mod role;

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use onewall_localdb::{Migration, Pragmas};
use onewall_model::{RegionCode, Timestamp};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{Result, StoreError};

pub use role::{Grant, Role, SubjectKind};

/// The database file's name inside the data directory.
pub const AUTH_FILE: &str = "auth.sqlite3";
/// How long a console session lasts after login.
pub const SESSION_SECS: i64 = 12 * 3600;
/// Prefix of every API token, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "owt_";

const BACKEND: &str = "auth";

fn backend(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        detail: detail.to_string(),
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    pub role: Role,
    pub region: RegionCode,
    pub department: Option<String>,
    /// May see personal data unmasked.
    pub pii: bool,
}

/// A user as listed (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub region: RegionCode,
    pub department: Option<String>,
    pub pii: bool,
    pub created: Timestamp,
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A name for people: what or who uses it (`filebeat-zz-01`).
    pub name: String,
    pub role: Role,
    pub region: RegionCode,
    pub department: Option<String>,
    pub pii: bool,
    /// Seconds it is valid for; `None` never expires.
    pub ttl_secs: Option<i64>,
}

/// A token as listed (never the secret nor its hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub region: RegionCode,
    pub department: Option<String>,
    pub pii: bool,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

/// The users, tokens and sessions of one node.
#[derive(Debug)]
pub struct AuthStore {
    conn: Mutex<Connection>,
    rng: SystemRandom,
    /// A hash of a random password, checked when a login names no user.
    dummy: String,
}

/// The pragmas the auth database runs with (a session goes with its user).
const PRAGMAS: Pragmas = Pragmas {
    wal: true,
    synchronous: None,
    busy_timeout: None,
    foreign_keys: true,
};

/// Its schema history (`PRAGMA user_version`); migration 1 is the schema from before versions
/// were kept, so a file written then opens.
const MIGRATIONS: &[Migration] = &[Migration::sql("auth schema", SCHEMA_1)];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    role TEXT NOT NULL,
    region INTEGER NOT NULL,
    department TEXT,
    pii INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    region INTEGER NOT NULL,
    department TEXT,
    pii INTEGER NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    expires INTEGER NOT NULL
);
";

impl AuthStore {
    /// Open (creating when absent) the auth database in `dir`.
    pub fn open(dir: &Path) -> Result<AuthStore> {
        let conn =
            onewall_localdb::open(&dir.join(AUTH_FILE), PRAGMAS, MIGRATIONS).map_err(backend)?;
        let mut store = AuthStore {
            conn: Mutex::new(conn),
            rng: SystemRandom::new(),
            dummy: String::new(),
        };
        store.dummy = store.hash_password(&hex(&store.random::<16>()?))?;
        Ok(store)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No user and no token exists yet (a node's first start).
    pub fn is_empty(&self) -> Result<bool> {
        let conn = self.conn();
        let n: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM tokens)",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(n == 0)
    }

    /// Create a user. A name already taken is [`StoreError::Conflict`]; an empty name or a
    /// password shorter than 8 characters is [`StoreError::InvalidQuery`].
    pub fn add_user(&self, user: NewUser) -> Result<UserInfo> {
        check_name("user name", &user.name)?;
        if user.password.chars().count() < 8 {
            return Err(StoreError::InvalidQuery(
                "password: at least 8 characters".into(),
            ));
        }
        let hash = self.hash_password(&user.password)?;
        let created = Timestamp::from_secs(Timestamp::now().secs());
        let conn = self.conn();
        let done = conn.execute(
            "INSERT INTO users (name, password, role, region, department, pii, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                user.name,
                hash,
                user.role.as_str(),
                user.region.get(),
                user.department,
                user.pii,
                created.secs()
            ],
        );
        match done {
            Ok(_) => Ok(UserInfo {
                name: user.name,
                role: user.role,
                region: user.region,
                department: user.department,
                pii: user.pii,
                created,
            }),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::Conflict(format!(
                    "user {:?} already exists",
                    user.name
                )))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT name, role, region, department, pii, created FROM users ORDER BY name")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, region, department, pii, created) = row.map_err(backend)?;
            out.push(UserInfo {
                name,
                role: role.parse().map_err(backend)?,
                region: RegionCode::new(region).map_err(backend)?,
                department,
                pii,
                created: Timestamp::from_secs(created),
            });
        }
        Ok(out)
    }

    /// Create a token; returns the secret (shown this once) and what was stored.
    pub fn create_token(&self, token: NewToken) -> Result<(String, TokenInfo)> {
        check_name("token name", &token.name)?;
        if let Some(ttl) = token.ttl_secs
            && ttl <= 0
        {
            return Err(StoreError::InvalidQuery(
                "ttl_secs: expected a positive number of seconds".into(),
            ));
        }
        let secret = format!("{TOKEN_PREFIX}{}", hex(&self.random::<32>()?));
        let id = format!("tok_{}", hex(&self.random::<6>()?));
        let created = Timestamp::from_secs(Timestamp::now().secs());
        let expires = token.ttl_secs.map(|s| created.add_secs(s));
        self.conn()
            .execute(
                "INSERT INTO tokens (id, hash, name, role, region, department, pii, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    sha256_hex(secret.as_bytes()),
                    token.name,
                    token.role.as_str(),
                    token.region.get(),
                    token.department,
                    token.pii,
                    created.secs(),
                    expires.map(Timestamp::secs),
                ],
            )
            .map_err(backend)?;
        Ok((
            secret,
            TokenInfo {
                id,
                name: token.name,
                role: token.role,
                region: token.region,
                department: token.department,
                pii: token.pii,
                created,
                expires,
            },
        ))
    }

    /// Every token, by id.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, name, role, region, department, pii, created, expires
                 FROM tokens ORDER BY id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, role, region, department, pii, created, expires) =
                row.map_err(backend)?;
            out.push(TokenInfo {
                id,
                name,
                role: role.parse().map_err(backend)?,
                region: RegionCode::new(region).map_err(backend)?,
                department,
                pii,
                created: Timestamp::from_secs(created),
                expires: expires.map(Timestamp::from_secs),
            });
        }
        Ok(out)
    }

    /// Revoke a token by id; an unknown id is [`StoreError::NotFound`].
    pub fn revoke_token(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM tokens WHERE id = ?1", params![id])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "token",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// The grant of the token `secret`, `None` when it is unknown or expired.
    pub fn check_token(&self, secret: &str) -> Result<Option<Grant>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, role, region, department, pii, expires FROM tokens WHERE hash = ?1",
                params![sha256_hex(secret.as_bytes())],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        let Some((id, role, region, department, pii, expires)) = row else {
            return Ok(None);
        };
        if expires.is_some_and(|e| e <= Timestamp::now().secs()) {
            return Ok(None);
        }
        Ok(Some(Grant {
            subject: id,
            kind: SubjectKind::Token,
            role: role.parse().map_err(backend)?,
            region: RegionCode::new(region).map_err(backend)?,
            department,
            pii,
        }))
    }

    /// Check a user's password; on success open a session and return its secret (for the
    /// cookie) and the user's grant. A wrong name or password is `None`, alike in time.
    pub fn login(&self, name: &str, password: &str) -> Result<Option<(String, Grant)>> {
        let row = self
            .conn()
            .query_row(
                "SELECT password, role, region, department, pii FROM users WHERE name = ?1",
                params![name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, bool>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        let Some((hash, role, region, department, pii)) = row else {
            // Spend the same time as a real check, so a name's existence does not show.
            let _ = self.verify_password(&self.dummy, password);
            return Ok(None);
        };
        if !self.verify_password(&hash, password)? {
            return Ok(None);
        }
        let session = hex(&self.random::<32>()?);
        let expires = Timestamp::now().add_secs(SESSION_SECS);
        {
            let conn = self.conn();
            conn.execute(
                "DELETE FROM sessions WHERE expires <= ?1",
                params![Timestamp::now().secs()],
            )
            .map_err(backend)?;
            conn.execute(
                "INSERT INTO sessions (hash, user, expires) VALUES (?1, ?2, ?3)",
                params![sha256_hex(session.as_bytes()), name, expires.secs()],
            )
            .map_err(backend)?;
        }
        Ok(Some((
            session,
            Grant {
                subject: name.to_owned(),
                kind: SubjectKind::User,
                role: role.parse().map_err(backend)?,
                region: RegionCode::new(region).map_err(backend)?,
                department,
                pii,
            },
        )))
    }

    /// The grant of the session `secret`, `None` when unknown or expired.
    pub fn check_session(&self, secret: &str) -> Result<Option<Grant>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT u.name, u.role, u.region, u.department, u.pii, s.expires
                 FROM sessions s JOIN users u ON u.name = s.user WHERE s.hash = ?1",
                params![sha256_hex(secret.as_bytes())],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        let Some((name, role, region, department, pii, expires)) = row else {
            return Ok(None);
        };
        if expires <= Timestamp::now().secs() {
            return Ok(None);
        }
        Ok(Some(Grant {
            subject: name,
            kind: SubjectKind::User,
            role: role.parse().map_err(backend)?,
            region: RegionCode::new(region).map_err(backend)?,
            department,
            pii,
        }))
    }

    /// End a session (logout); an unknown session is not an error.
    pub fn end_session(&self, secret: &str) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM sessions WHERE hash = ?1",
                params![sha256_hex(secret.as_bytes())],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn random<const N: usize>(&self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.rng
            .fill(&mut b)
            .map_err(|_| backend("the system random source failed"))?;
        Ok(b)
    }

    fn hash_password(&self, password: &str) -> Result<String> {
        let salt = SaltString::encode_b64(&self.random::<16>()?).map_err(backend)?;
        Ok(Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(backend)?
            .to_string())
    }

    fn verify_password(&self, hash: &str, password: &str) -> Result<bool> {
        let parsed = PasswordHash::new(hash).map_err(backend)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(StoreError::InvalidQuery(format!(
            "{what}: expected 1 to 128 printable characters"
        )));
    }
    Ok(())
}

/// SHA-256 of `data` as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests;
