//! The node's threat intelligence: the indicator set in use (swapped whole on every change;
//! the detect stage reads it once per batch), one supervised task per `[[intel.feeds]]`
//! pulling on its interval, indicators imported through the API and added locally, all kept
//! in `intel.sqlite` so a restart rebuilds the set without pulling again, the sightings, and
//! the retro-hunt that follows every change bringing new indicators.
//!
//! A pull that fails, or a document that does not read, keeps the feed's last good
//! indicators; the error and its time are shown by `GET /api/v1/intel/feeds` and counted
//! (`onewall_intel_feed_errors_total{feed}`, `onewall_intel_pulls_total{feed,result}`); the
//! indicators per feed are the gauge `onewall_intel_indicators{feed}`. Changes to `[intel]`
//! itself need a restart (SIGHUP reloads rules and certificates only).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use metrics::{counter, gauge};
use onewall_intel::config::{FeedConfig, FeedFormat, LOCAL_FEED};
use onewall_intel::fields::MatchFields;
use onewall_intel::lifetime::FeedPolicy;
use onewall_intel::{Indicator, IntelConfig, IntelSet};
use onewall_model::bus::NodeEvents;
use onewall_model::{Severity, Timestamp, Tlp};
use onewall_store::Store;
use tokio::sync::watch;
use tracing::{info, warn};

pub mod codec;
pub mod db;
mod feeds;
pub mod fetch;
mod hub;
pub mod matcher;
pub mod retro;
mod retro_run;
pub mod share;

pub use hub::service;
pub use matcher::IntelStage;

use codec::Codec as _;
use db::{Db, FeedState};

/// The feed indicators imported through the API (`POST /api/v1/intel/bundles`,
/// `onewall intel import`) accumulate in.
pub const IMPORT_FEED: &str = onewall_intel::config::IMPORT_FEED;

/// The node's threat intelligence (see the module's doc).
#[derive(Debug)]
pub struct Intel {
    pub cfg: IntelConfig,
    pub fields: MatchFields,
    db: Db,
    set: RwLock<Arc<IntelSet>>,
    /// Held while the set is rebuilt, so two changes do not lose one another.
    change: Mutex<()>,
    /// Each feed's status, as last pulled.
    status: Mutex<BTreeMap<String, FeedState>>,
    pub book: Mutex<matcher::Book>,
    /// Counts the set's changes (the shared set's version follows it).
    generation: std::sync::atomic::AtomicU64,
    store: Arc<dyn Store>,
    bus: NodeEvents,
    /// One retro-hunt at a time.
    retro_permit: tokio::sync::Semaphore,
    /// The pipeline's channel of stored alerts for the correlator (retro-hunt alerts join
    /// incidents through it); set once the pipeline is wired.
    correlator: Mutex<Option<tokio::sync::mpsc::Sender<Vec<onewall_model::Alert>>>>,
}

impl Intel {
    /// Open `intel.sqlite` in `data_dir` and build the set from what it holds.
    pub fn open(
        cfg: &IntelConfig,
        data_dir: &std::path::Path,
        store: Arc<dyn Store>,
        bus: NodeEvents,
    ) -> anyhow::Result<Arc<Intel>> {
        let fields = if cfg.fields.is_empty() {
            MatchFields::default()
        } else {
            MatchFields::from_names(&cfg.fields).context("intel.fields")?
        };
        std::fs::create_dir_all(data_dir)?;
        let db = Db::open(data_dir)?;
        let feeds = db.now(|c| db::load_feeds(c))?;
        let local = db.now(|c| db::local_all(c))?;
        let sightings = db.now(|c| db::sightings(c))?;
        let mut status = BTreeMap::new();
        for f in &cfg.feeds {
            status.insert(f.name.clone(), db.now(|c| db::feed_state(c, &f.name))?);
        }
        let intel = Intel {
            cfg: cfg.clone(),
            fields,
            db,
            set: RwLock::new(Arc::new(IntelSet::default())),
            change: Mutex::new(()),
            status: Mutex::new(status),
            book: Mutex::new(matcher::Book::with_sightings(sightings)),
            generation: std::sync::atomic::AtomicU64::new(0),
            store,
            bus,
            retro_permit: tokio::sync::Semaphore::new(1),
            correlator: Mutex::new(None),
        };
        let loaded = Timestamp::now();
        let mut set = IntelSet::default();
        for (feed, indicators) in feeds {
            // A feed no longer configured keeps nothing in use.
            if feed != IMPORT_FEED && feed != share::PARENT_FEED && intel.feed_cfg(&feed).is_none()
            {
                continue;
            }
            set = set.with_feed_policy(&feed, indicators, intel.policy(&feed), loaded);
        }
        let local: Vec<Indicator> = local
            .into_iter()
            .filter_map(|r| r.indicator.indicator().ok())
            .collect();
        set = set.with_feed_policy(LOCAL_FEED, local, FeedPolicy::default(), loaded);
        info!(
            indicators = set.len(),
            "threat intelligence loaded from intel.sqlite"
        );
        intel.publish_counts(&set);
        let c = set.lifetime_counts(loaded);
        gauge!("onewall_intel_indicators_expired").set(c.expired as f64);
        gauge!("onewall_intel_indicators_decayed").set(c.decayed as f64);
        *intel
            .set
            .write()
            .map_err(|_| anyhow::anyhow!("intel set lock poisoned"))? = Arc::new(set);
        Ok(Arc::new(intel))
    }

    /// Where retro-hunt alerts go to be correlated.
    pub fn set_correlator(&self, tx: tokio::sync::mpsc::Sender<Vec<onewall_model::Alert>>) {
        if let Ok(mut c) = self.correlator.lock() {
            *c = Some(tx);
        }
    }

    /// The set in use.
    pub fn current(&self) -> Arc<IntelSet> {
        match self.set.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn feed_cfg(&self, name: &str) -> Option<&FeedConfig> {
        self.cfg.feeds.iter().find(|f| f.name == name)
    }

    /// The lifetime and decay of `feed`'s indicators.
    fn policy(&self, feed: &str) -> FeedPolicy {
        match self.feed_cfg(feed) {
            Some(f) => FeedPolicy {
                lifetime: (f.lifetime_days > 0)
                    .then(|| Duration::from_secs(u64::from(f.lifetime_days) * 86_400)),
                decay: f.decay,
            },
            None => FeedPolicy::default(),
        }
    }

    /// How many times the set in use has changed since the start.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Swap in the set `f` makes of the one in use.
    fn rebuild(&self, f: impl FnOnce(&IntelSet) -> IntelSet) {
        let _held = self.change.lock();
        let next = Arc::new(f(&self.current()));
        self.publish_counts(&next);
        match self.set.write() {
            Ok(mut s) => *s = next,
            Err(p) => *p.into_inner() = next,
        }
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn publish_counts(&self, set: &IntelSet) {
        for (feed, n) in set.feed_counts() {
            gauge!("onewall_intel_indicators", "feed" => feed).set(n as f64);
        }
    }

    /// Replace `feed`'s indicators (kept in `intel.sqlite`); answers those it did not hold.
    pub async fn replace(
        &self,
        feed: &str,
        indicators: Vec<Indicator>,
    ) -> anyhow::Result<Vec<Indicator>> {
        let before: std::collections::HashSet<_> =
            self.current().values_of(feed).into_iter().collect();
        let new_at: Vec<u32> = (0u32..)
            .zip(&indicators)
            .filter(|(_, i)| !before.contains(&i.value))
            .map(|(n, _)| n)
            .collect();
        drop(before);
        // Written and handed back, not cloned: a feed of a million indicators is held once,
        // and the new ones are read back from the set built of them.
        let name = feed.to_owned();
        let indicators = self
            .db
            .call(move |c| {
                db::replace_feed(c, &name, &indicators)?;
                Ok(indicators)
            })
            .await?;
        let policy = self.policy(feed);
        let mut built = None;
        self.rebuild(|s| {
            let next = s.with_feed_policy(feed, indicators, policy, Timestamp::now());
            built = Some(next.clone());
            next
        });
        Ok(built.map_or_else(Vec::new, |s| s.feed_indicators(feed, &new_at)))
    }

    /// Add `indicators` to `feed` (kept in `intel.sqlite`); answers those it did not hold.
    /// Those without `valid_from` start their lifetime now.
    pub async fn add(
        &self,
        feed: &str,
        mut indicators: Vec<Indicator>,
    ) -> anyhow::Result<Vec<Indicator>> {
        let now = Timestamp::now();
        for i in &mut indicators {
            i.valid_from.get_or_insert(now);
        }
        let name = feed.to_owned();
        let (new, all) = self
            .db
            .call(move |c| {
                let new = db::add_to_feed(c, &name, &indicators)?;
                Ok((new, db::load_feed(c, &name)?))
            })
            .await?;
        let policy = self.policy(feed);
        self.rebuild(|s| s.with_feed_policy(feed, all, policy, now));
        Ok(new)
    }

    /// Rebuild the `local` feed from `intel.sqlite`.
    async fn reload_local(&self) -> anyhow::Result<()> {
        let rows = self.db.call(|c| db::local_all(c)).await?;
        let local: Vec<Indicator> = rows
            .into_iter()
            .filter_map(|r| r.indicator.indicator().ok())
            .collect();
        self.rebuild(|s| {
            s.with_feed_policy(LOCAL_FEED, local, FeedPolicy::default(), Timestamp::now())
        });
        Ok(())
    }

    /// Fill what the source did not say with the feed's defaults: a list says nothing, so
    /// its indicators take them all; a STIX, TAXII or MISP indicator takes them where it has
    /// the readers' defaults (confidence 50, severity medium, TLP AMBER).
    fn with_defaults(&self, feed: &FeedConfig, indicators: &mut [Indicator]) {
        let lists = matches!(feed.format, FeedFormat::List | FeedFormat::Csv);
        for i in indicators {
            if let Some(c) = feed.confidence
                && (lists || i.confidence == 50)
            {
                i.confidence = c;
            }
            if let Some(t) = feed.tlp
                && (lists || i.tlp == Tlp::Amber)
            {
                i.tlp = t;
            }
            if let Some(s) = feed.severity
                && (lists || i.severity == Severity::Medium)
            {
                i.severity = s;
            }
            i.feed.clone_from(&feed.name);
        }
    }

    /// Each feed's status, for the API.
    pub fn feed_status(&self) -> Vec<serde_json::Value> {
        let counts: BTreeMap<String, usize> = self.current().feed_counts().into_iter().collect();
        let status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out: Vec<serde_json::Value> = self
            .cfg
            .feeds
            .iter()
            .map(|f| {
                let st = status.get(&f.name).cloned().unwrap_or_default();
                serde_json::json!({
                    "name": f.name,
                    "format": f.format.as_str(),
                    "source": f.source(),
                    "interval_secs": f.interval_secs,
                    "indicators": counts.get(&f.name).copied().unwrap_or(0),
                    "last_pull": st.last_pull,
                    "last_success": st.last_success,
                    "last_error": st.last_error,
                    "error_at": st.error_at,
                    "pulls": st.pulls,
                    "errors": st.errors,
                    "added_after": st.added_after,
                    "last_read": st.last_read,
                    "last_new": st.last_new,
                    "last_rejected": st.last_rejected,
                    "last_receipt": st.last_receipt,
                })
            })
            .collect();
        for name in [IMPORT_FEED, LOCAL_FEED, share::PARENT_FEED] {
            let format = match name {
                LOCAL_FEED => "local",
                share::PARENT_FEED => "federation",
                _ => "stix",
            };
            // What the parent shares, on a node that holds some.
            if name == share::PARENT_FEED && !counts.contains_key(name) {
                continue;
            }
            out.push(serde_json::json!({
                "name": name,
                "format": format,
                "indicators": counts.get(name).copied().unwrap_or(0),
            }));
        }
        out
    }

    /// `onewall_intel_indicators_expired` and `onewall_intel_indicators_decayed`: indicators
    /// past their end, and matching below their source's confidence, now.
    pub fn publish_lifetime(&self) {
        let c = self.current().lifetime_counts(Timestamp::now());
        gauge!("onewall_intel_indicators_expired").set(c.expired as f64);
        gauge!("onewall_intel_indicators_decayed").set(c.decayed as f64);
    }

    /// Write the sightings when they changed.
    pub async fn save_sightings(&self) {
        let all = match self.book.lock() {
            Ok(mut b) if b.dirty => {
                b.dirty = false;
                b.sightings()
            }
            _ => return,
        };
        if let Err(e) = self.db.call(move |c| db::put_sightings(c, &all)).await {
            warn!(error = %format!("{e:#}"), "intel: the sightings could not be written");
        }
    }
}

/// Start the feeds' tasks and the sightings' writer; they end at shutdown.
pub fn start(
    intel: &Arc<Intel>,
    health: &onewall_api::health::TaskHealth,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = feeds::start(intel, health, shutdown);
    let (intel, mut shutdown) = (intel.clone(), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            intel.save_sightings().await;
            intel.publish_lifetime();
        }
        intel.save_sightings().await;
    }));
    tasks
}

/// Count a pull's outcome.
fn count_pull(feed: &str, result: &'static str) {
    counter!("onewall_intel_pulls_total", "feed" => feed.to_owned(), "result" => result)
        .increment(1);
}
