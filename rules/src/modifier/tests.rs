use super::compare::{Cidr, iso_week};
use super::encode::{base64, base64offset, windash};

#[test]
fn base64_matches_known_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

#[test]
fn base64offset_follows_the_spec_example() {
    // The specification's example: `/bin/bash` → L2Jpbi9iYXNo, 9iaW4vYmFza, vYmluL2Jhc2
    assert_eq!(
        base64offset(b"/bin/bash"),
        ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
    );
}

#[test]
fn windash_expands_option_dashes_only() {
    let v = windash("foo.exe -a x-y").expect("expands");
    assert_eq!(v.len(), 5);
    assert!(v.contains(&"foo.exe /a x-y".to_owned()));
    assert!(v.contains(&"foo.exe \u{2015}a x-y".to_owned()));
}

#[test]
fn cidr_v4_and_v6() {
    let n = Cidr::parse("10.0.0.0/8").expect("v4");
    assert!(n.contains("10.2.3.4".parse().expect("ip")));
    assert!(!n.contains("11.0.0.1".parse().expect("ip")));
    let n = Cidr::parse("fe80::/10").expect("v6");
    assert!(n.contains("fe80::1".parse().expect("ip")));
    assert!(!n.contains("::1".parse().expect("ip")));
    assert!(
        Cidr::parse("0.0.0.0/0")
            .expect("all")
            .contains("1.2.3.4".parse().expect("ip"))
    );
    assert!(Cidr::parse("10.0.0.0/33").is_err());
}

#[test]
fn iso_weeks() {
    assert_eq!(iso_week(2024, 1, 1), Some(1));
    assert_eq!(iso_week(2021, 1, 3), Some(53));
    assert_eq!(iso_week(2026, 11, 28), Some(48));
}
