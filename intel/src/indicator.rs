//! An indicator: a value to look for (an address, a range, a domain, a URL, a file hash, an
//! email address) and what its source says of it.

use std::net::IpAddr;

use onewall_model::{IndicatorKind, IndicatorRef, Severity, Timestamp, Tlp};

use crate::IntelError;

/// An indicator's value, normalised so that equal values compare equal: addresses in their
/// canonical form (an IPv4-mapped IPv6 address is the IPv4 one), ranges with their host bits
/// cleared, domains and email addresses in lower case without a trailing dot, hashes as
/// lower-case hex. URLs are kept as written, less surrounding white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Observable {
    Ip(IpAddr),
    Cidr(IpAddr, u8),
    Domain(String),
    /// The domain and every name under it.
    DomainTree(String),
    Url(String),
    Md5(String),
    Sha1(String),
    Sha256(String),
    Sm3(String),
    Email(String),
}

impl Observable {
    /// Read `text` as a value of `kind`, normalised; an invalid value is an error naming it.
    pub fn parse(kind: IndicatorKind, text: &str) -> Result<Observable, IntelError> {
        let t = text.trim();
        let bad = |reason: &str| IntelError::InvalidValue {
            kind: kind.as_str(),
            value: text.to_string(),
            reason: reason.to_string(),
        };
        Ok(match kind {
            IndicatorKind::Ip => Observable::Ip(canonical_ip(
                t.parse::<IpAddr>().map_err(|e| bad(&e.to_string()))?,
            )),
            IndicatorKind::Cidr => {
                let (addr, prefix) = match t.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (t, None),
                };
                let addr = addr.parse::<IpAddr>().map_err(|e| bad(&e.to_string()))?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let prefix = match prefix {
                    Some(p) => p
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= max)
                        .ok_or_else(|| bad(&format!("prefix length must be 0 to {max}")))?,
                    None => max,
                };
                let (addr, prefix) = canonical_net(addr, prefix);
                Observable::Cidr(network(addr, prefix), prefix)
            }
            IndicatorKind::Domain | IndicatorKind::DomainTree => {
                let d = t.trim_end_matches('.').to_lowercase();
                let d = d.strip_prefix("*.").unwrap_or(&d).to_string();
                if d.is_empty()
                    || d.len() > 253
                    || d.starts_with('.')
                    || d.contains("..")
                    || d.chars().any(|c| c.is_whitespace() || c == '/' || c == '@')
                {
                    return Err(bad("not a domain name"));
                }
                if kind == IndicatorKind::Domain {
                    Observable::Domain(d)
                } else {
                    Observable::DomainTree(d)
                }
            }
            IndicatorKind::Url => {
                if t.is_empty() || t.chars().any(char::is_whitespace) {
                    return Err(bad("a URL is one word"));
                }
                Observable::Url(t.to_string())
            }
            IndicatorKind::Md5 => {
                Observable::Md5(hex(t, 32).ok_or_else(|| bad("not 32 hex digits"))?)
            }
            IndicatorKind::Sha1 => {
                Observable::Sha1(hex(t, 40).ok_or_else(|| bad("not 40 hex digits"))?)
            }
            IndicatorKind::Sha256 => {
                Observable::Sha256(hex(t, 64).ok_or_else(|| bad("not 64 hex digits"))?)
            }
            IndicatorKind::Sm3 => {
                Observable::Sm3(hex(t, 64).ok_or_else(|| bad("not 64 hex digits"))?)
            }
            IndicatorKind::Email => {
                let e = t.to_lowercase();
                match e.split_once('@') {
                    Some((local, domain))
                        if !local.is_empty()
                            && domain.contains('.')
                            && !e.chars().any(char::is_whitespace) =>
                    {
                        Observable::Email(e)
                    }
                    _ => return Err(bad("not an email address")),
                }
            }
        })
    }

    pub fn kind(&self) -> IndicatorKind {
        match self {
            Observable::Ip(_) => IndicatorKind::Ip,
            Observable::Cidr(..) => IndicatorKind::Cidr,
            Observable::Domain(_) => IndicatorKind::Domain,
            Observable::DomainTree(_) => IndicatorKind::DomainTree,
            Observable::Url(_) => IndicatorKind::Url,
            Observable::Md5(_) => IndicatorKind::Md5,
            Observable::Sha1(_) => IndicatorKind::Sha1,
            Observable::Sha256(_) => IndicatorKind::Sha256,
            Observable::Sm3(_) => IndicatorKind::Sm3,
            Observable::Email(_) => IndicatorKind::Email,
        }
    }

    /// The value as text, as the API and alerts show it (`10.0.0.0/8`, `example.com` ...).
    pub fn text(&self) -> String {
        match self {
            Observable::Ip(a) => a.to_string(),
            Observable::Cidr(a, p) => format!("{a}/{p}"),
            Observable::Domain(s)
            | Observable::DomainTree(s)
            | Observable::Url(s)
            | Observable::Md5(s)
            | Observable::Sha1(s)
            | Observable::Sha256(s)
            | Observable::Sm3(s)
            | Observable::Email(s) => s.clone(),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
pub fn canonical_ip(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

fn canonical_net(a: IpAddr, prefix: u8) -> (IpAddr, u8) {
    match a {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), prefix - 96),
            None => (a, prefix),
        },
        _ => (a, prefix),
    }
}

/// The range's first address (host bits cleared).
fn network(a: IpAddr, prefix: u8) -> IpAddr {
    match a {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

fn hex(t: &str, len: usize) -> Option<String> {
    (t.len() == len && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

/// One indicator and what its source says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub value: Observable,
    /// The feed it came from (its name in `[intel]`, or `local`).
    pub feed: String,
    /// Its id in the source (a STIX `indicator--…` id, a MISP attribute uuid), if any.
    pub id: Option<String>,
    /// 0–100 as the source gives it (before decay).
    pub confidence: u8,
    pub severity: Severity,
    pub tlp: Tlp,
    pub valid_from: Option<Timestamp>,
    /// After this it no longer matches (the feed's default lifetime applies when `None`).
    pub valid_until: Option<Timestamp>,
    pub labels: Vec<String>,
    /// ATT&CK references (`T1071.001`, `G0032` ...).
    pub attack: Vec<String>,
    pub description: Option<String>,
}

impl Indicator {
    /// A plain indicator of `feed` with the given value and the defaults: confidence 50,
    /// severity medium, TLP AMBER, no validity window, no labels.
    pub fn new(value: Observable, feed: &str) -> Indicator {
        Indicator {
            value,
            feed: feed.to_string(),
            id: None,
            confidence: 50,
            severity: Severity::Medium,
            tlp: Tlp::Amber,
            valid_from: None,
            valid_until: None,
            labels: Vec::new(),
            attack: Vec::new(),
            description: None,
        }
    }

    /// What an alert raised by this indicator names, at `confidence` (after decay).
    pub fn to_ref(&self, confidence: u8) -> IndicatorRef {
        IndicatorRef {
            value: self.value.text(),
            kind: self.value.kind(),
            feed: self.feed.clone(),
            confidence,
            tlp: self.tlp,
            id: self.id.clone(),
            description: self.description.clone(),
            labels: self.labels.clone(),
        }
    }
}

impl Indicator {
    /// The indicator as a parent shares it with its children.
    pub fn to_shared(&self) -> onewall_model::intel::SharedIndicator {
        onewall_model::intel::SharedIndicator {
            value: self.value.text(),
            kind: self.value.kind(),
            feed: self.feed.clone(),
            id: self.id.clone(),
            confidence: self.confidence,
            severity: self.severity,
            tlp: self.tlp,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            labels: self.labels.clone(),
            attack: self.attack.clone(),
            description: self.description.clone(),
        }
    }

    /// An indicator received from the parent, held in this node's feed `feed`; its value is
    /// read again as its kind (a parent's value that does not read is refused).
    pub fn from_shared(
        s: onewall_model::intel::SharedIndicator,
        feed: &str,
    ) -> Result<Indicator, IntelError> {
        Ok(Indicator {
            value: Observable::parse(s.kind, &s.value)?,
            feed: feed.to_string(),
            id: s.id,
            confidence: s.confidence.min(100),
            severity: s.severity,
            tlp: s.tlp,
            valid_from: s.valid_from,
            valid_until: s.valid_until,
            labels: s.labels,
            attack: s.attack,
            description: s.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: IndicatorKind, t: &str) -> Result<Observable, IntelError> {
        Observable::parse(kind, t)
    }

    #[test]
    fn values_are_normalised_so_equal_values_compare_equal() {
        assert_eq!(
            p(IndicatorKind::Ip, "::ffff:10.0.0.1").expect("ip"),
            p(IndicatorKind::Ip, " 10.0.0.1 ").expect("ip")
        );
        assert_eq!(
            p(IndicatorKind::Cidr, "10.1.2.3/8").expect("cidr").text(),
            "10.0.0.0/8"
        );
        assert_eq!(
            p(IndicatorKind::Cidr, "2001:db8::1").expect("one").text(),
            "2001:db8::1/128"
        );
        assert_eq!(
            p(IndicatorKind::Domain, "Evil.Example.COM.")
                .expect("d")
                .text(),
            "evil.example.com"
        );
        assert_eq!(
            p(
                IndicatorKind::Sha1,
                "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
            )
            .expect("h")
            .text(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }

    #[test]
    fn shared_indicators_read_back_as_they_were_sent() {
        let mut ind = Indicator::new(
            p(IndicatorKind::DomainTree, "evil.example").expect("d"),
            "prov",
        );
        ind.tlp = Tlp::Green;
        ind.labels = vec!["c2".into()];
        let back = Indicator::from_shared(ind.to_shared(), "parent").expect("reads");
        assert_eq!(back.value, ind.value);
        assert_eq!(
            (back.tlp, back.labels.clone()),
            (Tlp::Green, ind.labels.clone())
        );
        assert_eq!(back.feed, "parent");
        let mut bad = ind.to_shared();
        bad.kind = IndicatorKind::Ip;
        assert!(Indicator::from_shared(bad, "parent").is_err());
    }

    #[test]
    fn invalid_values_name_the_kind_and_the_reason() {
        let e = p(IndicatorKind::Ip, "10.0.0.300").expect_err("bad");
        assert!(e.to_string().contains("ip value \"10.0.0.300\""), "{e}");
        assert!(p(IndicatorKind::Cidr, "10.0.0.0/33").is_err());
        assert!(p(IndicatorKind::Md5, "abc").is_err());
        assert!(p(IndicatorKind::Email, "no-at-sign").is_err());
        assert!(p(IndicatorKind::Domain, "a..b").is_err());
    }
}
