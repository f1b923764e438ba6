//! The caller's view: one masking policy over every answer, and searches matched under it.
//!
//! - Whoever authenticates a caller without the `pii` permission (the access guard, the
//!   federation's own checks) sets [`MaskAnswer`] on the response; [`mask_answers`], the
//!   router's outermost layer, masks every JSON answer that carries it, whole (lists,
//!   details, workflow answers, deliveries, reports, federation, errors). A layer outside it
//!   that adds to an answer masks what it adds with the same marker. Exports stream rows,
//!   each masked the same way ([`crate::masked`]).
//! - Searches of such a caller are matched against what the caller sees, not the stored
//!   text: a `q` or `filter=` term that is itself personal data is refused with 400
//!   (`search terms that look like personal data need the pii permission`); any other `q`
//!   term must occur in the masked raw event ([`ViewSearch`]), so probing hidden digits (a
//!   birth date inside a masked identity number) finds nothing more than the masked answer
//!   shows. A filter compares the whole field, so a value that is no personal datum only
//!   matches fields shown as they are.
//! - The audit log stores query strings with personal data masked, for every caller
//!   ([`audit_target`]).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onewall_model::Event;
use onewall_store::{DEFAULT_LIMIT, EventQuery, MAX_LIMIT, Page, Store};

use crate::ApiError;
use crate::ErrorCode;
use crate::access::Caller;
use crate::mask::MaskPolicy;

/// Set on a response for a caller who may not see personal data: the policy its answer is
/// masked with.
#[derive(Debug, Clone)]
pub struct MaskAnswer(pub MaskPolicy);

/// The largest JSON answer [`mask_answers`] reads to mask (a page of 1000 events is far less).
const MAX_ANSWER_BYTES: usize = 512 << 20;

/// The refusal of a search term that is personal data.
const REFUSED: &str = "search terms that look like personal data need the pii permission";

/// Events a view search reads from the store at most per request; past it the page ends
/// early with a cursor to go on from.
pub const MAX_SCAN: usize = 10 * MAX_LIMIT;

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

/// Middleware: mask the JSON answers marked with [`MaskAnswer`]. Other answers (exports
/// stream already masked rows; metrics and the OpenAPI document hold no personal data) pass.
pub async fn mask_answers(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let Some(MaskAnswer(policy)) = resp.extensions().get::<MaskAnswer>().cloned() else {
        return resp;
    };
    if !is_json(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let value = match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| format!("an answer to mask is not JSON: {e}")),
        Err(e) => Err(format!("reading an answer to mask: {e}")),
    };
    // An answer that cannot be masked is not sent.
    let mut value = match value {
        Ok(v) => v,
        Err(e) => return ApiError::new(ErrorCode::Internal, e).into_response(),
    };
    policy.mask_json(&mut value);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// The path and query of `uri` as the audit log keeps it: each query value with personal
/// data masked under `policy`, whoever the caller.
pub fn audit_target(uri: &Uri, policy: &MaskPolicy) -> String {
    match uri.query() {
        Some(query) => format!("{}?{}", uri.path(), audit_query(query, policy)),
        None => uri.path().to_owned(),
    }
}

/// A query string as the audit log keeps it: each value with personal data masked.
pub fn audit_query(query: &str, policy: &MaskPolicy) -> String {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query) else {
        return format!("(query not kept: {} bytes, malformed)", query.len());
    };
    let masked: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = policy.mask_text(&v).into_owned();
            (k, v)
        })
        .collect();
    serde_urlencoded::to_string(&masked)
        .unwrap_or_else(|_| format!("(query not kept: {} bytes)", query.len()))
}

/// A text search run under a caller's masked view.
#[derive(Debug, Clone)]
pub struct ViewSearch {
    term: String,
    policy: MaskPolicy,
}

/// Fit `q` (built from the caller's parameters) to the caller's view. For a caller with the
/// `pii` permission (or a policy that masks nothing) nothing changes and `None` is returned.
/// Otherwise a text or filter term that is personal data is refused, and the text search is
/// returned as a [`ViewSearch`] the store's answers must pass; the store is asked for a
/// piece of the term that the masked and stored texts share.
pub fn under_view(
    c: &Caller,
    policy: &MaskPolicy,
    q: &mut EventQuery,
) -> Result<Option<ViewSearch>, ApiError> {
    let Some(policy) = c.masking(policy).filter(|p| !p.kinds.is_empty()) else {
        return Ok(None);
    };
    for (field, value) in &q.filters {
        if policy.mask_text(value) != value.as_str() {
            return Err(ApiError::invalid(format!("filter {field}: {REFUSED}")));
        }
    }
    let Some(term) = q.text.take() else {
        return Ok(None);
    };
    if policy.mask_text(&term) != term.as_str() {
        return Err(ApiError::invalid(format!("q: {REFUSED}")));
    }
    // Masking only turns characters into `*` (or an email's local part into `x***`), so a
    // piece of the term without `*` that occurs in the masked text occurs in the stored one.
    let piece = term
        .split('*')
        .max_by_key(|p| p.len())
        .unwrap_or_default()
        .to_owned();
    q.text = (!piece.is_empty()).then_some(piece);
    Ok(Some(ViewSearch {
        term,
        policy: policy.clone(),
    }))
}

impl ViewSearch {
    /// Does the caller's view of `e` (its masked raw text) hold the term?
    pub fn keeps(&self, e: &Event) -> bool {
        self.policy.mask_text(&e.raw_text()).contains(&self.term)
    }

    /// A page of the events of `q` that the view keeps. The store is read page by page
    /// until the page is full, the events end, or [`MAX_SCAN`] events were read (then the
    /// page may be short, even empty, with a cursor to go on from).
    pub async fn search(&self, store: &dyn Store, q: EventQuery) -> Result<Page<Event>, ApiError> {
        let want = match q.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let mut items = Vec::new();
        let mut cursor = q.cursor.clone();
        let mut scanned = 0;
        loop {
            let page = store
                .search_events(EventQuery {
                    limit: want.max(DEFAULT_LIMIT),
                    cursor: cursor.take(),
                    ..q.clone()
                })
                .await?;
            scanned += page.items.len();
            let last = page.items.len();
            for (n, e) in page.items.into_iter().enumerate() {
                if !self.keeps(&e) {
                    continue;
                }
                items.push(e);
                if items.len() == want {
                    let more = n + 1 < last || page.next_cursor.is_some();
                    let next = more.then(|| items.last().map(onewall_store::event_cursor));
                    return Ok(Page {
                        items,
                        next_cursor: next.flatten(),
                    });
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() || scanned >= MAX_SCAN {
                return Ok(Page {
                    items,
                    next_cursor: cursor,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_targets_hold_no_personal_data() {
        let p = MaskPolicy::default();
        let uri: Uri =
            "/api/v1/events?q=11010519491231002X&filter=user.phone%3A138-1234-5678&limit=5"
                .parse()
                .unwrap();
        let t = audit_target(&uri, &p);
        assert!(!t.contains("19491231"), "{t}");
        assert!(!t.contains("1234"), "{t}");
        assert!(t.starts_with("/api/v1/events?q=110105********002X&"), "{t}");
        assert!(t.ends_with("&limit=5"), "{t}");
        // Percent-encoded fullwidth digits are decoded before masking.
        let uri: Uri = format!(
            "/api/v1/events?q={}",
            serde_urlencoded::to_string([("x", "１３８１２３４５６７８")])
                .unwrap()
                .trim_start_matches("x=")
        )
        .parse()
        .unwrap();
        let t = audit_target(&uri, &p);
        let (_, q) = t.split_once('?').unwrap();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap();
        assert_eq!(pairs[0].1, "１３８****５６７８");
        assert_eq!(
            audit_target(&"/api/v1/events".parse().unwrap(), &p),
            "/api/v1/events"
        );
    }
}
