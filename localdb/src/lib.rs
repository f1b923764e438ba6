//! The node's small SQLite files (federation state, playbook outbox, received reports, users
//! and tokens, the audit log) open through here, whichever crate owns their tables:
//!
//! - **one opener**: the file's directory is created 0700 when absent and the file is made
//!   0600 (the files hold password hashes, token hashes and personal data);
//! - **pragmas** per database ([`Pragmas`]: journal mode WAL, `synchronous`, busy timeout,
//!   foreign keys), applied on every open;
//! - **ordered migrations** ([`Migration`]) recorded in `PRAGMA user_version`: migration `n`
//!   runs once, in its own transaction, on a database whose version is below `n`. Migration 1
//!   of each database is its schema as it was before versions were kept, with
//!   `IF NOT EXISTS`, so a file written then opens and is brought to version 1. A database
//!   whose version is past this build's migrations was written by a newer build and is
//!   refused.
//!
//! The embedded event store (`onewall_store::SqliteStore`) keeps its own connections: it opens
//! several per file with their own roles (writer, readers, checkpointer).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use rusqlite;
use rusqlite::{Connection, Transaction};

/// Mode of a directory the opener creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a database file.
pub const FILE_MODE: u32 = 0o600;

/// `PRAGMA synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Normal,
    Full,
}

/// The pragmas a database runs with; `Default` leaves SQLite's (and rusqlite's) defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pragmas {
    /// `PRAGMA journal_mode = WAL` (a memory database keeps its own journal).
    pub wal: bool,
    pub synchronous: Option<Synchronous>,
    /// How long a statement waits on another connection's lock; `None`: rusqlite's default.
    pub busy_timeout: Option<Duration>,
    pub foreign_keys: bool,
}

impl Pragmas {
    /// Write-ahead logging, with SQLite's other defaults.
    pub const WAL: Pragmas = Pragmas {
        wal: true,
        synchronous: None,
        busy_timeout: None,
        foreign_keys: false,
    };

    fn apply(&self, c: &Connection) -> rusqlite::Result<()> {
        if self.wal {
            c.execute_batch("PRAGMA journal_mode = WAL;")?;
        }
        match self.synchronous {
            Some(Synchronous::Normal) => c.execute_batch("PRAGMA synchronous = NORMAL;")?,
            Some(Synchronous::Full) => c.execute_batch("PRAGMA synchronous = FULL;")?,
            None => {}
        }
        if let Some(t) = self.busy_timeout {
            c.busy_timeout(t)?;
        }
        if self.foreign_keys {
            c.execute_batch("PRAGMA foreign_keys = ON;")?;
        }
        Ok(())
    }
}

/// What a migration does.
#[derive(Clone, Copy)]
enum Step {
    Sql(&'static str),
    Run(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// One step of a database's schema history.
#[derive(Clone, Copy)]
pub struct Migration {
    /// Shown in errors.
    pub name: &'static str,
    step: Step,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Migration {
    /// A migration that runs `sql` (one or more statements).
    pub const fn sql(name: &'static str, sql: &'static str) -> Migration {
        Migration {
            name,
            step: Step::Sql(sql),
        }
    }

    /// A migration that runs `f` (for a change that depends on what is there).
    pub const fn run(name: &'static str, f: fn(&Transaction<'_>) -> rusqlite::Result<()>) -> Self {
        Migration {
            name,
            step: Step::Run(f),
        }
    }
}

/// Why a database did not open.
#[derive(Debug)]
pub enum Error {
    /// Creating its directory or setting its file's mode failed.
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    /// SQLite failed (`what`: opening, the pragmas, reading the version, or a migration).
    Sqlite {
        path: PathBuf,
        what: String,
        source: rusqlite::Error,
    },
    /// The file was written by a newer build.
    Newer {
        path: PathBuf,
        version: i64,
        known: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, what, source } => write!(f, "{}: {what}: {source}", path.display()),
            Error::Sqlite { path, what, source } => {
                write!(f, "{}: {what}: {source}", path.display())
            }
            Error::Newer {
                path,
                version,
                known,
            } => write!(
                f,
                "{}: schema version {version} is newer than this build's {known}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Sqlite { source, .. } => Some(source),
            Error::Newer { .. } => None,
        }
    }
}

/// Open (creating when absent) the database at `path`: its directory 0700 when created, the
/// file 0600, `pragmas` applied, `migrations` brought up to date.
pub fn open(path: &Path, pragmas: Pragmas, migrations: &[Migration]) -> Result<Connection, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            what: "creating the directory",
            source,
        })?;
    }
    let sqlite = |what: &str| {
        let what = what.to_owned();
        move |source| Error::Sqlite {
            path: path.to_owned(),
            what,
            source,
        }
    };
    let mut conn = Connection::open(path).map_err(sqlite("opening"))?;
    make_private(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        what: "making the file private",
        source,
    })?;
    pragmas
        .apply(&conn)
        .map_err(sqlite("setting its pragmas"))?;
    migrate(&mut conn, path, migrations)?;
    Ok(conn)
}

/// An in-memory database with `pragmas` and `migrations` (tests).
pub fn open_in_memory(pragmas: Pragmas, migrations: &[Migration]) -> Result<Connection, Error> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(|source| Error::Sqlite {
        path: path.to_owned(),
        what: "opening".into(),
        source,
    })?;
    pragmas.apply(&conn).map_err(|source| Error::Sqlite {
        path: path.to_owned(),
        what: "setting its pragmas".into(),
        source,
    })?;
    migrate(&mut conn, path, migrations)?;
    Ok(conn)
}

/// The schema version recorded in the database (`PRAGMA user_version`).
pub fn version(c: &Connection) -> rusqlite::Result<i64> {
    c.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Run the migrations past the recorded version, each in its own transaction with the new
/// version.
fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), Error> {
    let fail = |what: String| {
        move |source| Error::Sqlite {
            path: path.to_owned(),
            what,
            source,
        }
    };
    let current = version(conn).map_err(fail("reading the schema version".into()))?;
    if current > migrations.len() as i64 {
        return Err(Error::Newer {
            path: path.to_owned(),
            version: current,
            known: migrations.len(),
        });
    }
    for (i, m) in migrations.iter().enumerate().skip(current.max(0) as usize) {
        let n = i as i64 + 1;
        let what = format!("migration {n} ({})", m.name);
        let tx = conn.transaction().map_err(fail(what.clone()))?;
        let done = match m.step {
            Step::Sql(sql) => tx.execute_batch(sql),
            Step::Run(f) => f(&tx),
        };
        done.and_then(|()| tx.pragma_update(None, "user_version", n))
            .and_then(|()| tx.commit())
            .map_err(fail(what))?;
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode != FILE_MODE {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;

/// One connection shared by a node's tasks: each call runs on the caller's thread (the
/// blocking pool, or start-up), one at a time. Cloning shares the connection.
#[derive(Debug, Clone)]
pub struct Shared {
    conn: std::sync::Arc<std::sync::Mutex<Connection>>,
}

impl Shared {
    /// [`open`] the database at `path` for sharing.
    pub fn open(path: &Path, pragmas: Pragmas, migrations: &[Migration]) -> Result<Shared, Error> {
        Ok(Shared {
            conn: std::sync::Arc::new(std::sync::Mutex::new(open(path, pragmas, migrations)?)),
        })
    }

    /// Run `f` on the connection. A call that panicked left no transaction open (a
    /// `Transaction` rolls back when dropped), so the connection is taken over after it.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut c = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut c)
    }
}
