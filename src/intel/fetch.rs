//! Pulling one feed once: a file (read again only when it changed), a URL (ureq, rustls), a
//! TAXII 2.1 collection (what was added since the last poll, page by page) or a MISP feed
//! (the manifest, then the event files it names). Blocking: run on the blocking pool.

use std::time::Duration;

use anyhow::{Context, bail};
use onewall_intel::config::{Credential, FeedConfig, FeedFormat};
use onewall_intel::feed::{FeedRead, misp, stix};

use super::db::FeedState;

/// The largest document read from a feed.
const MAX_DOCUMENT: u64 = 512 << 20;
/// Objects asked for per TAXII page.
const TAXII_PAGE: usize = 1_000;
/// Pages read per TAXII poll at most (the rest comes with the next poll).
const TAXII_MAX_PAGES: usize = 1_000;
/// The TAXII 2.1 media type.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";

/// What one pull gave.
#[derive(Debug)]
pub enum Pulled {
    /// The feed's whole content: it replaces what the feed held.
    Replace(FeedRead),
    /// What was added since the last poll (TAXII): it adds to what the feed held.
    Add(FeedRead),
    /// Nothing changed since the last pull (a file not modified).
    Unchanged,
}

/// Pull `feed` once, given what was remembered of it; `state` is updated with the new poll
/// position or file version (only kept by the caller when the pull succeeds).
pub fn pull(
    feed: &FeedConfig,
    cred: Option<&Credential>,
    state: &mut FeedState,
) -> anyhow::Result<Pulled> {
    match feed.format {
        FeedFormat::Taxii => taxii(feed, cred, state).map(Pulled::Add),
        FeedFormat::Misp => misp_feed(feed, cred, state),
        FeedFormat::Stix | FeedFormat::List | FeedFormat::Csv => {
            let Some(bytes) = document(feed, cred, state)? else {
                return Ok(Pulled::Unchanged);
            };
            let read = match feed.format {
                FeedFormat::Stix => stix::read_bundle(&bytes, &feed.name)?,
                _ => {
                    let format = feed.mapping.clone().unwrap_or_default();
                    onewall_intel::feed::list::read_list(&bytes, &feed.name, &format)?
                }
            };
            Ok(Pulled::Replace(read))
        }
    }
}

/// The feed's document: `None` when it is a file that has not changed since `state.version`.
fn document(
    feed: &FeedConfig,
    cred: Option<&Credential>,
    state: &mut FeedState,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(path) = &feed.path {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let version = format!("{modified}:{}", meta.len());
        if state.version.as_deref() == Some(version.as_str()) {
            return Ok(None);
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        state.version = Some(version);
        return Ok(Some(bytes));
    }
    let url = feed
        .url
        .as_deref()
        .context("the feed has neither path nor url")?;
    let (bytes, _) = get(url, cred, "*/*")?;
    Ok(changed(&bytes, state).then_some(bytes))
}

/// Whether `bytes` differ from what was read last (by their length and FNV-1a hash, kept in
/// `state.version`); a document served again unchanged is not read again.
fn changed(bytes: &[u8], state: &mut FeedState) -> bool {
    let version = format!("{}:{:016x}", bytes.len(), onewall_model::hash::fnv1a(bytes));
    if state.version.as_deref() == Some(version.as_str()) {
        return false;
    }
    state.version = Some(version);
    true
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .max_redirects(3)
        .build()
        .into()
}

/// GET `url` with the feed's credential; the body and the `X-TAXII-Date-Added-Last` header.
/// A status other than 2xx is an error with the start of the answer.
fn get(
    url: &str,
    cred: Option<&Credential>,
    accept: &str,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let mut req = agent().get(url).header("Accept", accept);
    match cred {
        Some(Credential::Basic { username, password }) => {
            use base64::Engine;
            let b =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            req = req.header("Authorization", &format!("Basic {b}"));
        }
        Some(Credential::Bearer(t)) => req = req.header("Authorization", &format!("Bearer {t}")),
        None => {}
    }
    let mut resp = req.call().with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    let last = resp
        .headers()
        .get("X-TAXII-Date-Added-Last")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT)
        .read_to_vec()
        .with_context(|| format!("reading the answer of {url}"))?;
    if !(200..300).contains(&status) {
        bail!(
            "GET {url} answered {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        );
    }
    Ok((body, last))
}

/// One TAXII 2.1 poll: `GET {collection}objects/?added_after=T&limit=N`, following `next`
/// while `more` is true; `state.added_after` becomes the newest `X-TAXII-Date-Added-Last`.
fn taxii(
    feed: &FeedConfig,
    cred: Option<&Credential>,
    state: &mut FeedState,
) -> anyhow::Result<FeedRead> {
    let mut base = feed
        .collection
        .clone()
        .context("a taxii feed needs its collection")?;
    if !base.ends_with('/') {
        base.push('/');
    }
    let mut read = FeedRead::default();
    let mut next: Option<String> = None;
    let mut newest = state.added_after.clone();
    // The poll's start; a server that pages without `next` is asked again from the newest
    // `X-TAXII-Date-Added-Last` it answered (as TAXII 2.1 allows).
    let mut after = state.added_after.clone();
    for _ in 0..TAXII_MAX_PAGES {
        let mut url = format!("{base}objects/?limit={TAXII_PAGE}");
        if let Some(after) = &after {
            url.push_str(&format!("&added_after={}", encode(after)));
        }
        if let Some(n) = &next {
            url.push_str(&format!("&next={}", encode(n)));
        }
        let (body, last) = get(&url, cred, TAXII_MEDIA)?;
        let page: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("{url}: the answer is not JSON: {e}"))?;
        let objects = match page.get("objects") {
            Some(serde_json::Value::Array(o)) => o.as_slice(),
            None => &[],
            Some(_) => bail!("{url}: \"objects\" is not an array"),
        };
        let mut got = stix::read_objects(objects, &feed.name);
        read.indicators.append(&mut got.indicators);
        read.rejected.append(&mut got.rejected);
        if let Some(l) = last
            && newest.as_deref().is_none_or(|n| n < l.as_str())
        {
            newest = Some(l);
        }
        let more = page.get("more").and_then(serde_json::Value::as_bool) == Some(true);
        next = page
            .get("next")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if !more || objects.is_empty() {
            break;
        }
        if next.is_none() {
            if newest == after {
                break;
            }
            after.clone_from(&newest);
        }
    }
    state.added_after = newest;
    Ok(read)
}

/// Percent-encode a query value (timestamps hold `:` and `+`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A MISP feed: `manifest.json`, then each event file it names (`{uuid}.json`) beside it;
/// nothing more when the manifest did not change since the last pull.
fn misp_feed(
    feed: &FeedConfig,
    cred: Option<&Credential>,
    state: &mut FeedState,
) -> anyhow::Result<Pulled> {
    let fetch = |name: &str| -> anyhow::Result<Vec<u8>> {
        match (&feed.path, &feed.url) {
            (Some(dir), _) => {
                let p = dir.join(name);
                std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
            }
            (None, Some(url)) => Ok(get(
                &format!("{}/{name}", url.trim_end_matches('/')),
                cred,
                "application/json",
            )?
            .0),
            (None, None) => bail!("the feed has neither path nor url"),
        }
    };
    let manifest = fetch("manifest.json")?;
    let mut next = state.clone();
    if !changed(&manifest, &mut next) {
        return Ok(Pulled::Unchanged);
    }
    let manifest = misp::read_misp_manifest(&manifest)?;
    let mut read = FeedRead::default();
    for entry in manifest {
        if entry.uuid.contains(['/', '\\', '.']) {
            read.rejected.push(onewall_intel::feed::Rejected {
                item: entry.uuid.clone(),
                reason: "not an event uuid".into(),
            });
            continue;
        }
        let doc = fetch(&format!("{}.json", entry.uuid))?;
        let mut got = misp::read_misp_event(&doc, &feed.name)?;
        read.indicators.append(&mut got.indicators);
        read.rejected.append(&mut got.rejected);
    }
    // Remembered only once every event file was read.
    state.version = next.version;
    Ok(Pulled::Replace(read))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use std::path::{Path, PathBuf};

    use super::*;

    fn testdata(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("intel/testdata")
            .join(p)
    }

    fn feed(format: &str, path: &Path) -> FeedConfig {
        let v = serde_json::json!({"name": "t", "format": format, "path": path});
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_file_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("list.txt");
        std::fs::copy(testdata("lists/feodo_ipblocklist.txt"), &file).unwrap();
        let f = feed("list", &file);
        let mut st = FeedState::default();
        let Pulled::Replace(first) = pull(&f, None, &mut st).unwrap() else {
            panic!("read")
        };
        assert!(!first.indicators.is_empty());
        assert!(matches!(
            pull(&f, None, &mut st).unwrap(),
            Pulled::Unchanged
        ));
        std::fs::write(&file, "203.0.113.1\n203.0.113.2\n").unwrap();
        let Pulled::Replace(again) = pull(&f, None, &mut st).unwrap() else {
            panic!("changed")
        };
        assert_eq!(again.indicators.len(), 2);
        assert!(again.indicators.iter().all(|i| i.feed == "t"));
    }

    #[test]
    fn a_misp_feed_is_its_manifest_and_the_events_it_names() {
        let f = feed("misp", &testdata("misp"));
        let mut st = FeedState::default();
        let Pulled::Replace(read) = pull(&f, None, &mut st).unwrap() else {
            panic!("read")
        };
        assert!(!read.indicators.is_empty());
        assert!(matches!(
            pull(&f, None, &mut st).unwrap(),
            Pulled::Unchanged
        ));
        let missing = feed("misp", &testdata("lists"));
        let e = pull(&missing, None, &mut FeedState::default()).unwrap_err();
        assert!(format!("{e:#}").contains("manifest.json"), "{e:#}");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode("2026-01-01T00:00:00.000+08:00"),
            "2026-01-01T00%3A00%3A00.000%2B08%3A00"
        );
    }
}
