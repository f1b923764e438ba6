//! The filters of the list endpoints, shared by the exports: each builder reads the query
//! string's parameters and the caller's scope into a store query.

use onewall_model::{IncidentStatus, Severity};
use onewall_store::{AlertQuery, EventQuery, IncidentQuery};

use crate::access::{Caller, DEPARTMENT_FIELD};
use crate::params::Params;
use crate::{ApiError, ApiState};

/// Parameters of `GET /api/v1/events` besides `limit` and `cursor`.
pub const EVENT_FILTERS: [&str; 5] = ["q", "from", "to", "filter", "region"];
/// Parameters of `GET /api/v1/alerts` besides `limit` and `cursor`.
pub const ALERT_FILTERS: [&str; 5] = ["from", "to", "rule_id", "severity", "region"];
/// Parameters of `GET /api/v1/incidents` besides `limit` and `cursor`.
pub const INCIDENT_FILTERS: [&str; 5] = ["status", "open", "severity", "since", "region"];

/// The most `filter=FIELD:VALUE` parameters one event query may carry: each is a condition
/// the store evaluates per event, and a thousand of them made one query fail.
pub const MAX_FILTERS: usize = 32;

/// `known` with `extra` after it, for [`Params::parse`].
pub fn with<'a>(known: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    known.iter().chain(extra).copied().collect()
}

/// The event search of `p` in the caller's regions (and department); `limit` and `cursor`
/// are left to the caller.
pub fn events(s: &ApiState, c: &Caller, p: &Params) -> Result<EventQuery, ApiError> {
    let given = p.all("filter").count();
    if given > MAX_FILTERS {
        return Err(ApiError::invalid(format!(
            "filter: too many filters ({given}); at most {MAX_FILTERS}"
        )));
    }
    let mut filters = Vec::new();
    for f in p.all("filter") {
        match f.split_once(':') {
            Some((k, v)) if !k.is_empty() => filters.push((k.to_owned(), v.to_owned())),
            _ => {
                return Err(ApiError::invalid(format!(
                    "filter: expected FIELD:VALUE, got {f:?}"
                )));
            }
        }
    }
    if let Some(dept) = &c.grant.department {
        filters.push((DEPARTMENT_FIELD.to_owned(), dept.clone()));
    }
    let query = EventQuery {
        text: p.one("q")?.filter(|q| !q.is_empty()).map(str::to_owned),
        from: p.time("from")?,
        to: p.time("to")?,
        filters,
        regions: c.regions(&s.regions, p.region()?)?,
        ..EventQuery::default()
    };
    check_range(&query.from, &query.to)?;
    Ok(query)
}

/// The alert search of `p` in the caller's regions.
pub fn alerts(s: &ApiState, c: &Caller, p: &Params) -> Result<AlertQuery, ApiError> {
    let query = AlertQuery {
        from: p.time("from")?,
        to: p.time("to")?,
        rule_id: p.one("rule_id")?.map(str::to_owned),
        min_severity: p.parsed::<Severity>("severity")?,
        regions: c.regions(&s.regions, p.region()?)?,
        ..AlertQuery::default()
    };
    check_range(&query.from, &query.to)?;
    Ok(query)
}

/// The incident search of `p` in the caller's regions.
pub fn incidents(s: &ApiState, c: &Caller, p: &Params) -> Result<IncidentQuery, ApiError> {
    let open_only = match p.one("open")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::invalid(format!(
                "open: expected true or false, got {v:?}"
            )));
        }
    };
    Ok(IncidentQuery {
        status: p.parsed::<IncidentStatus>("status")?,
        open_only,
        min_severity: p.parsed::<Severity>("severity")?,
        since: p.time("since")?,
        regions: c.regions(&s.regions, p.region()?)?,
        ..IncidentQuery::default()
    })
}

fn check_range(
    from: &Option<onewall_model::Timestamp>,
    to: &Option<onewall_model::Timestamp>,
) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => {
            Err(ApiError::invalid(format!("from ({f}) is after to ({t})")))
        }
        _ => Ok(()),
    }
}
