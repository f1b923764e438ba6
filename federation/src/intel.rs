//! Threat intelligence across levels: a parent shares its indicators with its children in
//! its answers to their pushes, page by page and by TLP; children report their sightings up
//! through the outbox.
//!
//! ```text
//! child push: intel = {version, next}   ──►  parent: exchange.page_for(sync, same organisation)
//! child  ◄── reply: intel = page (version, from, total, indicators)   (none when up to date)
//! child: exchange.received(page): staged; swapped in as the `parent` feed once all is read
//! child outbox: Up::Sightings ──► parent: exchange.sightings(region, reports)
//! ```
//!
//! The crate knows no indicator store: the binary implements [`IntelExchange`] over its own.

use std::sync::Arc;

use metrics::counter;
use onewall_model::RegionCode;
use onewall_model::Timestamp;
use onewall_model::federation::Up;
use onewall_model::intel::{IntelPage, IntelSync, SightingReport};
use tracing::warn;

use super::Federation;
use super::db::outbox;

/// Indicators per page in a push reply at most (about 300 bytes each in JSON).
pub const PAGE_LIMIT: usize = 5_000;

/// The node's indicators as the federation exchanges them.
pub trait IntelExchange: Send + Sync + std::fmt::Debug {
    /// Parent: the page of its shared indicators that follows `sync` for a child (only what
    /// TLP lets go to it: `same_organisation` says whether AMBER+STRICT may), at most `limit`
    /// indicators; `None` when the child holds the current version whole.
    fn page_for(&self, sync: IntelSync, same_organisation: bool, limit: usize)
    -> Option<IntelPage>;
    /// Child: what it holds of its parent's shared set.
    fn sync(&self) -> IntelSync;
    /// Child: a page read from the parent.
    fn received(&self, page: IntelPage);
    /// Parent: sightings a child reported (`via`: the child region that pushed them).
    fn sightings(&self, via: RegionCode, reports: Vec<SightingReport>);
}

impl Federation {
    /// Exchange indicators and sightings through `intel` from now on (set once, at start).
    pub fn set_intel(&self, intel: Arc<dyn IntelExchange>) {
        if self.intel.set(intel).is_err() {
            warn!("federation: the intelligence exchange was set twice; the first stays");
        }
    }

    /// This node's organisation: as configured, or its region code.
    pub fn organisation(&self) -> String {
        if self.cfg.organisation.is_empty() {
            self.region.to_string()
        } else {
            self.cfg.organisation.clone()
        }
    }

    /// Child: queue sightings for the parent (nothing when this node has no parent).
    pub async fn report_sightings(&self, sightings: Vec<SightingReport>) {
        if !self.has_parent() || sightings.is_empty() {
            return;
        }
        let n = sightings.len() as u64;
        let items = vec![Up::Sightings { sightings }];
        let now = Timestamp::now();
        match self.db.call(move |c| outbox::enqueue(c, &items, now)).await {
            Ok(_) => {
                counter!("onewall_federation_queued_total", "kind" => "sighting").increment(n);
                self.queued.notify_one();
            }
            Err(e) => {
                counter!("onewall_federation_queue_errors_total").increment(1);
                warn!(sightings = n, error = %e, "federation: sightings not queued for the parent");
            }
        }
    }

    /// Child: what to tell the parent of the shared indicators held (none without an
    /// exchange: the parent then sends none).
    pub(super) fn intel_sync(&self) -> Option<IntelSync> {
        self.intel.get().map(|x| x.sync())
    }

    /// Child: a page from the parent's reply. Returns whether more pages follow.
    pub(super) fn intel_received(&self, page: Option<IntelPage>) -> bool {
        let (Some(page), Some(x)) = (page, self.intel.get()) else {
            return false;
        };
        let more = page.from + (page.indicators.len() as u64) < page.total;
        counter!("onewall_federation_intel_received_total").increment(page.indicators.len() as u64);
        x.received(page);
        more
    }

    /// Parent: the page for a child that pushed `sync` from `organisation`.
    pub(super) fn intel_page(
        &self,
        sync: Option<IntelSync>,
        organisation: Option<&str>,
        child: RegionCode,
    ) -> Option<IntelPage> {
        let (sync, x) = (sync?, self.intel.get()?);
        let theirs = match organisation {
            Some(o) if !o.trim().is_empty() => o.trim().to_string(),
            _ => child.to_string(),
        };
        let page = x.page_for(sync, theirs == self.organisation(), PAGE_LIMIT)?;
        counter!("onewall_federation_intel_sent_total").increment(page.indicators.len() as u64);
        Some(page)
    }

    /// Parent: sightings pushed by the child region `via` (the API checked that each names
    /// a region in the child's scope).
    pub(super) fn intel_sightings(&self, via: RegionCode, reports: Vec<SightingReport>) {
        if let Some(x) = self.intel.get() {
            counter!("onewall_federation_intel_sightings_total").increment(reports.len() as u64);
            x.sightings(via, reports);
        }
    }
}
