//! The attachment folder: content kept once under its SHA-256, owner-only, written whole;
//! any name from outside is looked up only when it is a hash. And no bytes a client or
//! another level sends make the bulletin parsers panic.

use onewall_supervise::bulletins::NewBulletin;
use onewall_supervise::files::{Files, is_sha256_hex, sha256_hex};
use proptest::prelude::*;

#[test]
fn content_is_kept_once_under_its_hash_and_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = Files::open(&dir.path().join("supervise/files")).expect("open");
    let sha = files.put(b"evidence").expect("put");
    assert_eq!(sha, sha256_hex(b"evidence"));
    assert_eq!(files.put(b"evidence").expect("again"), sha);
    assert_eq!(files.get(&sha).expect("get"), Some(b"evidence".to_vec()));
    assert!(files.has(&sha));
    let names: Vec<_> = std::fs::read_dir(dir.path().join("supervise/files"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "one file, no temporary left: {names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("supervise/files").join(&sha)), 0o600);
        assert_eq!(mode(&dir.path().join("supervise/files")), 0o700);
    }
    // Names that are not a lower-case hash are never looked up.
    std::fs::write(dir.path().join("secret"), b"x").expect("write");
    for name in [
        "../secret",
        "",
        &sha.to_uppercase(),
        &sha[..63],
        &format!("{sha}0"),
        "/etc/passwd",
    ] {
        assert_eq!(files.get(name).expect("get"), None, "{name:?}");
        assert!(!files.has(name));
    }
    assert_eq!(files.get(&sha256_hex(b"absent")).expect("get"), None);
}

#[test]
fn a_known_digest() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(is_sha256_hex(&sha256_hex(b"")));
}

proptest! {
    #[test]
    fn any_name_is_looked_up_safely(name in any::<String>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Files::open(&dir.path().join("f")).expect("open");
        files.put(b"kept").expect("put");
        let got = files.get(&name).expect("no error");
        prop_assert_eq!(got.is_some(), name == sha256_hex(b"kept"));
    }

    #[test]
    fn any_bytes_as_a_bulletin_or_a_message_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<NewBulletin>(&bytes);
        let _ = serde_json::from_slice::<onewall_model::supervise::SuperviseUp>(&bytes);
        let _ = serde_json::from_slice::<onewall_model::supervise::SuperviseDown>(&bytes);
    }
}

mod service {
    use std::sync::Arc;

    use onewall_model::bus::NodeEvents;
    use onewall_model::supervise::{BulletinKind, StepKind, WarningLevel};
    use onewall_model::{RegionCode, RegionTree, Timestamp};
    use onewall_store::sqlite::SqliteStore;
    use onewall_supervise::bulletins::{NewBulletin, To, Upload};
    use onewall_supervise::{Actor, NoCourier, NodeInfo, Parts, SuperviseError, Supervision};
    use proptest::prelude::*;

    fn open(dir: &std::path::Path) -> Supervision {
        let region = RegionCode::new(410000).expect("code");
        let parts = Parts {
            node: NodeInfo {
                name: "p".into(),
                region,
            },
            tree: Arc::new(RegionTree::builtin()),
            cfg: Default::default(),
            courier: Arc::new(NoCourier),
            store: Arc::new(SqliteStore::open(&dir.join("store")).expect("store")),
            audit: None,
            bus: NodeEvents::new(),
        };
        Supervision::open(dir, parts).expect("open")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Whatever a client writes in the texts, issuing and a rectification answer a value
        /// or a named refusal; nothing panics.
        #[test]
        fn any_texts_are_checked_without_panicking(
            title in any::<String>(),
            body in any::<String>(),
            cve in any::<String>(),
            department in any::<String>(),
            file in any::<String>(),
            media in any::<String>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let dir = tempfile::tempdir().expect("tempdir");
            let s = open(dir.path());
            let actor = Actor::system(RegionCode::new(410000).expect("code"));
            let new = NewBulletin {
                title, body, cves: vec![cve], indicators: vec![], incidents: vec![],
                level: WarningLevel::Blue, kind: BulletinKind::Rectification,
                to: To { departments: vec![department.clone(), "网信办".into()], ..To::default() },
                deadline: Timestamp::now().add_secs(600), sign_deadline: None, rectify_deadline: None,
            };
            let issued = rt.block_on(s.issue(&actor, new));
            match &issued {
                Ok(_) | Err(SuperviseError::Invalid(_)) => {}
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
            let Ok(v) = issued else { return Ok(()) };
            let user = Actor { department: Some("网信办".into()), ..actor };
            let id = v.bulletin.id;
            rt.block_on(s.take_step(&user, id, None, StepKind::Sign, vec![])).expect("sign");
            let answer = StepKind::Answer { affected: true, text: department };
            rt.block_on(s.take_step(&user, id, None, answer, vec![])).expect("answer");
            let up = Upload { name: file, media_type: media, bytes: b"x".to_vec() };
            let rectify = StepKind::Rectify { text: "done".into(), attachments: vec![] };
            match rt.block_on(s.take_step(&user, id, None, rectify, vec![up])) {
                Ok(_) | Err(SuperviseError::Invalid(_)) => {}
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}
