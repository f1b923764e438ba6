#![allow(clippy::unwrap_used)]

use super::*;

fn zz() -> RegionCode {
    "410100".parse().unwrap()
}

#[test]
fn users_log_in_with_their_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthStore::open(dir.path()).unwrap();
    assert!(auth.is_empty().unwrap());
    auth.add_user(NewUser {
        name: "li".into(),
        password: "correct horse".into(),
        role: Role::Analyst,
        region: zz(),
        department: Some("网信办".into()),
        pii: false,
    })
    .unwrap();
    assert!(!auth.is_empty().unwrap());
    assert!(auth.login("li", "wrong horse").unwrap().is_none());
    assert!(auth.login("nobody", "correct horse").unwrap().is_none());
    let (session, grant) = auth.login("li", "correct horse").unwrap().unwrap();
    assert_eq!(grant.role, Role::Analyst);
    assert_eq!(grant.region, zz());
    assert_eq!(auth.check_session(&session).unwrap(), Some(grant));
    auth.end_session(&session).unwrap();
    assert!(auth.check_session(&session).unwrap().is_none());
    // Duplicate names and short passwords are refused with a reason.
    let again = auth.add_user(NewUser {
        name: "li".into(),
        password: "another password".into(),
        role: Role::Viewer,
        region: zz(),
        department: None,
        pii: false,
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let short = auth.add_user(NewUser {
        name: "wang".into(),
        password: "short".into(),
        role: Role::Viewer,
        region: zz(),
        department: None,
        pii: false,
    });
    assert!(matches!(short, Err(StoreError::InvalidQuery(m)) if m.contains("password")));
    // The stored password is an argon2 hash, not the password.
    let stored: String = auth
        .conn()
        .query_row("SELECT password FROM users WHERE name = 'li'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("correct horse"));
}

#[test]
fn tokens_are_stored_hashed_and_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthStore::open(dir.path()).unwrap();
    let (secret, info) = auth
        .create_token(NewToken {
            name: "filebeat".into(),
            role: Role::Collector,
            region: zz(),
            department: None,
            pii: false,
            ttl_secs: None,
        })
        .unwrap();
    assert!(secret.starts_with(TOKEN_PREFIX));
    assert_eq!(secret.len(), TOKEN_PREFIX.len() + 64);
    let grant = auth.check_token(&secret).unwrap().unwrap();
    assert_eq!(
        (grant.role, grant.subject.as_str()),
        (Role::Collector, info.id.as_str())
    );
    assert!(auth.check_token("owt_00").unwrap().is_none());
    let hash: String = auth
        .conn()
        .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hash, sha256_hex(secret.as_bytes()));
    assert_eq!(auth.tokens().unwrap(), vec![info.clone()]);
    auth.revoke_token(&info.id).unwrap();
    assert!(auth.check_token(&secret).unwrap().is_none());
    assert!(matches!(
        auth.revoke_token(&info.id),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn expired_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthStore::open(dir.path()).unwrap();
    let (secret, _) = auth
        .create_token(NewToken {
            name: "short-lived".into(),
            role: Role::Viewer,
            region: zz(),
            department: None,
            pii: false,
            ttl_secs: Some(3600),
        })
        .unwrap();
    assert!(auth.check_token(&secret).unwrap().is_some());
    auth.conn()
        .execute("UPDATE tokens SET expires = 1", [])
        .unwrap();
    assert!(auth.check_token(&secret).unwrap().is_none());
}

#[test]
fn a_file_from_before_schema_versions_opens_with_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let auth = AuthStore::open(dir.path()).unwrap();
    auth.add_user(NewUser {
        name: "li".into(),
        password: "correct horse".into(),
        role: Role::Analyst,
        region: zz(),
        department: None,
        pii: false,
    })
    .unwrap();
    drop(auth);
    // As the previous build left it: the same tables, no schema version.
    let c = Connection::open(dir.path().join(AUTH_FILE)).unwrap();
    c.pragma_update(None, "user_version", 0).unwrap();
    drop(c);
    let auth = AuthStore::open(dir.path()).unwrap();
    assert!(!auth.is_empty().unwrap());
    assert_eq!(onewall_localdb::version(&auth.conn()).unwrap(), 1);
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&dir.path().join(AUTH_FILE)), 0o600);
}
