//! The API's view of the node's threat intelligence ([`onewall_api::intel::IntelHub`]), the
//! import receipts, and what follows a change bringing new indicators (its retro-hunt).

use std::sync::Arc;

use onewall_api::intel::{
    IndicatorQuery, IntelFuture, IntelHub, IntelService, NewIndicator, Sighting,
};
use onewall_api::{ApiError, ErrorCode};
use onewall_intel::config::LOCAL_FEED;
use onewall_intel::feed::Rejected;
use onewall_intel::set::IndicatorFilter;
use onewall_intel::{Indicator, IntelError, IntelSet, Observable};
use onewall_model::Timestamp;
use serde::Serialize;

use super::codec::{Codec, IndicatorJson};
use super::db::{self, LocalRow};
use super::{IMPORT_FEED, Intel};

/// Rejected items a receipt lists at most (it counts them all).
const MAX_REJECTED: usize = 1_000;

/// What an import (or a pull, or a local indicator) brought: the answer of
/// `POST /api/v1/intel/bundles`; `retro` is filled once the retro-hunt ran.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: String,
    /// The feed the indicators went to.
    pub feed: String,
    pub at: Timestamp,
    /// Indicators read from the document.
    pub read: usize,
    /// Of those, the ones the feed did not hold before.
    pub new: usize,
    pub rejected: Vec<RejectedJson>,
    pub rejected_count: usize,
    /// The retro-hunt's receipt: `{"href": ..., "status": "pending" | "done", ...}`.
    pub retro: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedJson {
    pub item: String,
    pub reason: String,
}

impl Receipt {
    pub fn new(feed: &str, read: usize, new: &[Indicator], rejected: &[Rejected]) -> Receipt {
        let id = onewall_model::AlertId::now().to_string();
        Receipt {
            retro: serde_json::json!({
                "href": format!("/api/v1/intel/receipts/{id}"),
                "status": if new.is_empty() { "none" } else { "pending" },
            }),
            id,
            feed: feed.to_owned(),
            at: Timestamp::now(),
            read,
            new: new.len(),
            rejected: rejected
                .iter()
                .take(MAX_REJECTED)
                .map(|r| RejectedJson {
                    item: r.item.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
            rejected_count: rejected.len(),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Intel {
    /// Keep `receipt` and start the retro-hunt of `new` (the receipt is completed when it
    /// ends); answers the receipt as kept.
    pub async fn after_change(
        self: &Arc<Self>,
        receipt: Receipt,
        new: Vec<Indicator>,
    ) -> serde_json::Value {
        let body = receipt.json();
        let (id, kept) = (receipt.id.clone(), body.clone());
        if let Err(e) = self.db.call(move |c| db::put_receipt(c, &id, &kept)).await {
            tracing::warn!(error = %format!("{e:#}"), "intel: the receipt could not be written");
        }
        if !new.is_empty() {
            super::retro_run::spawn(self.clone(), receipt.id.clone(), new);
        }
        body
    }

    /// Complete receipt `id` with its retro-hunt's part.
    pub async fn complete_receipt(&self, id: &str, retro: serde_json::Value) {
        let id = id.to_owned();
        let r = self
            .db
            .call(move |c| {
                let Some(mut body) = db::receipt(c, &id)? else {
                    return Ok(());
                };
                body["retro"] = retro;
                db::put_receipt(c, &id, &body)
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %format!("{e:#}"), "intel: the receipt could not be completed");
        }
    }
}

/// The API service of `intel`.
pub fn service(intel: Arc<Intel>) -> IntelService {
    IntelService {
        max_bundle_bytes: usize::try_from(intel.cfg.bundle_max_mib.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX),
        hub: Arc::new(Hub(intel)),
    }
}

/// The node's threat intelligence as the API sees it.
#[derive(Debug, Clone)]
pub struct Hub(pub Arc<Intel>);

fn internal(e: anyhow::Error) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, format!("intel: {e:#}"))
}

fn invalid(e: IntelError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// Whether indicator `i` of the set is past its end at `now`.
fn expired(set: &IntelSet, i: &Indicator, now: Timestamp) -> bool {
    let end = match (i.valid_until, set.feed_policy(&i.feed)) {
        (Some(u), _) => Some(u.0),
        (None, Some((policy, loaded))) => policy.lifetime.map(|l| {
            let start = i.valid_from.unwrap_or(loaded).0;
            start.saturating_add(i64::try_from(l.as_nanos()).unwrap_or(i64::MAX))
        }),
        (None, None) => None,
    };
    end.is_some_and(|e| now.0 >= e)
}

/// A page of the indicators `q` selects.
fn page(set: &IntelSet, q: &IndicatorQuery) -> serde_json::Value {
    let filter = IndicatorFilter {
        kind: q.kind,
        feed: q.feed.clone(),
        prefix: q.prefix.clone().or_else(|| q.value.clone()),
    };
    let now = Timestamp::now();
    let mut items = Vec::new();
    let mut seen = 0usize;
    let mut more = false;
    for h in set.iter_filtered(&filter) {
        let i = set.get(h);
        if q.tlp.is_some_and(|t| t != i.tlp)
            || q.value
                .as_ref()
                .is_some_and(|v| !i.value.text().eq_ignore_ascii_case(v.trim()))
        {
            continue;
        }
        let gone = expired(set, &i, now);
        if gone && !q.expired {
            continue;
        }
        seen += 1;
        if seen <= q.offset {
            continue;
        }
        if items.len() == q.limit {
            more = true;
            break;
        }
        let mut j = serde_json::to_value(IndicatorJson::of(&i)).unwrap_or_default();
        j["expired"] = gone.into();
        items.push(j);
    }
    let next = more.then(|| (q.offset + items.len()).to_string());
    serde_json::json!({ "items": items, "next_cursor": next })
}

impl IntelHub for Hub {
    fn import_bundle(
        &self,
        body: axum::body::Bytes,
        by: String,
    ) -> IntelFuture<'_, serde_json::Value> {
        Box::pin(async move {
            let read =
                onewall_intel::feed::stix::read_bundle(&body, IMPORT_FEED).map_err(invalid)?;
            let got = read.indicators.len();
            let new = self
                .0
                .add(IMPORT_FEED, read.indicators)
                .await
                .map_err(internal)?;
            let receipt = Receipt::new(IMPORT_FEED, got, &new, &read.rejected);
            tracing::info!(by, receipt = %receipt.id, read = got, new = new.len(), "intel: bundle imported");
            Ok(self.0.after_change(receipt, new).await)
        })
    }

    fn receipt(&self, id: String) -> IntelFuture<'_, Option<serde_json::Value>> {
        Box::pin(async move {
            self.0
                .db
                .call(move |c| db::receipt(c, &id))
                .await
                .map_err(internal)
        })
    }

    fn indicators(&self, q: IndicatorQuery) -> IntelFuture<'_, serde_json::Value> {
        Box::pin(async move {
            let set = self.0.current();
            tokio::task::spawn_blocking(move || page(&set, &q))
                .await
                .map_err(|e| internal(anyhow::anyhow!("listing: {e}")))
        })
    }

    fn add_local(&self, new: NewIndicator, author: String) -> IntelFuture<'_, serde_json::Value> {
        Box::pin(async move {
            let value = Observable::parse(new.kind, &new.value).map_err(invalid)?;
            let id = format!("local-{}", onewall_model::AlertId::now());
            let mut ind = Indicator::new(value, LOCAL_FEED);
            ind.id = Some(id.clone());
            ind.valid_until = new.expires;
            ind.description = new.description.clone();
            if let Some(c) = new.confidence {
                ind.confidence = c;
            }
            if let Some(t) = new.tlp {
                ind.tlp = t;
            }
            if let Some(s) = new.severity {
                ind.severity = s;
            }
            let row = LocalRow {
                id,
                author,
                reason: new.reason.trim().to_owned(),
                added: Timestamp::now(),
                indicator: IndicatorJson::of(&ind),
            };
            let kept = row.clone();
            self.0
                .db
                .call(move |c| db::local_add(c, &kept))
                .await
                .map_err(internal)?;
            self.0.reload_local().await.map_err(internal)?;
            let receipt = Receipt::new(LOCAL_FEED, 1, std::slice::from_ref(&ind), &[]);
            let receipt = self.0.after_change(receipt, vec![ind]).await;
            let mut answer = serde_json::to_value(&row).unwrap_or_default();
            answer["receipt"] = receipt["id"].clone();
            Ok(answer)
        })
    }

    fn delete_local(&self, id: String, _by: String) -> IntelFuture<'_, bool> {
        Box::pin(async move {
            let gone = self
                .0
                .db
                .call(move |c| db::local_delete(c, &id))
                .await
                .map_err(internal)?;
            if gone {
                self.0.reload_local().await.map_err(internal)?;
            }
            Ok(gone)
        })
    }

    fn feeds(&self) -> IntelFuture<'_, Vec<serde_json::Value>> {
        Box::pin(async move { Ok(self.0.feed_status()) })
    }

    fn sightings(&self) -> IntelFuture<'_, Vec<Sighting>> {
        Box::pin(async move {
            Ok(self
                .0
                .book
                .lock()
                .map(|b| b.sightings())
                .unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly

    use onewall_model::IndicatorKind;

    use super::*;

    fn ip(v: &str) -> Indicator {
        Indicator::new(Observable::parse(IndicatorKind::Ip, v).unwrap(), "f")
    }

    #[test]
    fn pages_leave_out_expired_indicators_unless_asked_and_continue_by_cursor() {
        let mut old = ip("10.0.0.1");
        old.valid_until = Some(Timestamp::from_secs(1_000));
        let set = IntelSet::default().with_feed(
            "f",
            vec![old, ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")],
        );
        let q = IndicatorQuery {
            limit: 2,
            ..IndicatorQuery::default()
        };
        let first = page(&set, &q);
        let values: Vec<&str> = first["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["10.0.0.2", "10.0.0.3"]);
        assert_eq!(first["next_cursor"], "2");
        let rest = page(
            &set,
            &IndicatorQuery {
                offset: 2,
                ..q.clone()
            },
        );
        assert_eq!(rest["items"][0]["value"], "10.0.0.4");
        assert!(rest["next_cursor"].is_null());
        let all = page(
            &set,
            &IndicatorQuery {
                expired: true,
                value: Some("10.0.0.1".into()),
                ..q
            },
        );
        assert_eq!(all["items"][0]["expired"], true, "{all}");
    }
}
