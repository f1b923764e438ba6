//! The alert and incident endpoints' one list handler and one get handler: a search in the
//! caller's regions (`region` narrows it within them), paged, with what the caller's
//! department may not see left out; one record when it is in the caller's regions and
//! department, else 404 exactly as one that does not exist.

use std::future::Future;

use onewall_model::id::{AlertMarker, IncidentMarker};
use onewall_model::{Alert, Id, Incident, RegionCode};
use onewall_store::Page;
use serde::Serialize;

use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState, id_param, json_of, page_of, query};

/// What a handler answers with.
pub(crate) type Answer = Result<axum::Json<serde_json::Value>, ApiError>;

/// A kind of record the API lists and gets: how it is searched, fetched and scoped.
pub(crate) trait Record: Serialize + Sized + Send + Sync + 'static {
    /// `alert` or `incident`, as ids and errors name it.
    const WHAT: &'static str;
    /// The search's filters (the query parameters besides `limit` and `cursor`).
    const FILTERS: [&'static str; 5];
    /// The marker of its id type.
    type Marker: Send + Sync + 'static;

    /// One page of the search `p` asks for, in the caller's regions.
    fn search(
        s: &ApiState,
        c: &Caller,
        p: &Params,
        limit: usize,
        cursor: Option<String>,
    ) -> impl Future<Output = Result<Page<Self>, ApiError>> + Send;

    /// The record of `id`, wherever it is.
    fn get(
        s: &ApiState,
        id: Id<Self::Marker>,
    ) -> impl Future<Output = Result<Option<Self>, ApiError>> + Send;

    /// The region that owns it.
    fn region(&self) -> RegionCode;

    /// May the caller see it, department-wise?
    fn in_department(
        &self,
        s: &ApiState,
        c: &Caller,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

/// `impl Record` for a record type: its name, filters and id marker, the store query and
/// the `query` function that reads its filters, the store's search and get, and the
/// [`Caller`] method that checks its department.
macro_rules! record {
    ($t:ty, $what:literal, $filters:expr, $marker:ty, $query:ident, $parse:path,
     $search:ident, $get:ident, $department:ident) => {
        impl Record for $t {
            const WHAT: &'static str = $what;
            const FILTERS: [&'static str; 5] = $filters;
            type Marker = $marker;

            async fn search(
                s: &ApiState,
                c: &Caller,
                p: &Params,
                limit: usize,
                cursor: Option<String>,
            ) -> Result<Page<Self>, ApiError> {
                let q = onewall_store::$query {
                    limit,
                    cursor,
                    ..$parse(s, c, p)?
                };
                Ok(s.store.$search(q).await?)
            }

            async fn get(s: &ApiState, id: Id<$marker>) -> Result<Option<Self>, ApiError> {
                Ok(s.store.$get(id).await?)
            }

            fn region(&self) -> RegionCode {
                self.region
            }

            async fn in_department(&self, s: &ApiState, c: &Caller) -> Result<bool, ApiError> {
                c.$department(&*s.store, self).await
            }
        }
    };
}

record! { Alert, "alert", query::ALERT_FILTERS, AlertMarker, AlertQuery, query::alerts,
search_alerts, get_alert, alert_in_department }

record! { Incident, "incident", query::INCIDENT_FILTERS, IncidentMarker, IncidentQuery,
query::incidents, search_incidents, get_incident, incident_in_department }

/// Search records of kind `R` in the caller's regions, leaving out those outside the caller's
/// department (a page may so hold fewer than `limit`; its cursor still follows the search).
pub(crate) async fn list<R: Record>(s: &ApiState, c: &Caller, raw: Option<&str>) -> Answer {
    let p = Params::parse(raw, &query::with(&R::FILTERS, &["limit", "cursor"]))?;
    let limit = p.limit()?;
    let cursor = p.one("cursor")?.map(str::to_owned);
    let mut page = R::search(s, c, &p, limit, cursor).await?;
    let mut kept = Vec::with_capacity(page.items.len());
    for r in page.items {
        if r.in_department(s, c).await? {
            kept.push(r);
        }
    }
    page.items = kept;
    Ok(axum::Json(page_of(page)))
}

/// The record of kind `R` with the id `raw`, if it is in the caller's regions and department.
pub(crate) async fn get<R: Record>(s: &ApiState, c: &Caller, raw: &str) -> Answer {
    let id: Id<R::Marker> = id_param(R::WHAT, raw)?;
    match R::get(s, id).await? {
        Some(r) if c.sees(&s.regions, r.region()) && r.in_department(s, c).await? => {
            Ok(axum::Json(json_of(&r)))
        }
        _ => Err(ApiError::not_found(format!("{} {id} not found", R::WHAT))),
    }
}
