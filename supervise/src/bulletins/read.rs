//! Lists, one bulletin, attachments, statistics, what a region still owes.

use onewall_model::id::BulletinId;
use onewall_model::supervise::{Attachment, StepKind};
use onewall_model::{RegionCode, Timestamp};

use super::BulletinQuery;
use crate::bulletin::{BulletinView, RecipientStats, stats};
use crate::files::is_sha256_hex;
use crate::{Result, Supervision, db};

/// A list's default length.
const LIST_DEFAULT: usize = 100;

impl Supervision {
    /// The bulletins `q` selects, newest first, each with only the copies `q` selects.
    pub async fn bulletins(&self, q: &BulletinQuery) -> Result<Vec<BulletinView>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, None))?;
        let limit = if q.limit == 0 { LIST_DEFAULT } else { q.limit };
        Ok(self.select(all, q).take(limit).collect())
    }

    /// The views `q` selects: issued here or received, copies in its regions and department,
    /// open ones.
    fn select<'a>(
        &'a self,
        all: Vec<BulletinView>,
        q: &'a BulletinQuery,
    ) -> impl Iterator<Item = BulletinView> + 'a {
        all.into_iter().filter_map(move |mut v| {
            if q.issued_here.is_some_and(|h| h != v.issued_here) {
                return None;
            }
            if !q.regions.is_empty() || q.department.is_some() {
                v.copies.retain(|c| {
                    (q.regions.is_empty()
                        || q.regions
                            .iter()
                            .any(|r| self.covers(*r, c.recipient.region)))
                        && (q.department.is_none() || c.recipient.department == q.department)
                });
                if v.copies.is_empty() {
                    return None;
                }
            }
            if q.open_only && !v.is_open() {
                return None;
            }
            Some(v)
        })
    }

    /// One bulletin with every copy this node holds (the caller applies its scope).
    pub async fn bulletin(&self, id: BulletinId) -> Result<Option<BulletinView>> {
        self.db.with(|c| db::bulletins::view(c, id))
    }

    /// An attachment of bulletin `id` by its SHA-256 (only one a step of that bulletin names).
    pub async fn attachment(
        &self,
        id: BulletinId,
        sha256: &str,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let Some(view) = self.db.with(|c| db::bulletins::view(c, id))? else {
            return Ok(None);
        };
        let named = view
            .copies
            .iter()
            .flat_map(|c| &c.steps)
            .filter_map(|s| match &s.kind {
                StepKind::Rectify { attachments, .. } => Some(attachments),
                _ => None,
            })
            .flatten()
            .find(|a| a.sha256 == sha256)
            .cloned();
        match named {
            Some(a) => Ok(self.files.get(sha256)?.map(|bytes| (a, bytes))),
            None => Ok(None),
        }
    }

    /// Statistics per recipient over the bulletins `q` selects issued in `[from, to)` (the
    /// list's limit does not apply).
    pub async fn bulletin_stats(
        &self,
        q: &BulletinQuery,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<RecipientStats>> {
        let all = self.db.with(|c| db::bulletins::views(c, from, to))?;
        let views: Vec<BulletinView> = self.select(all, q).collect();
        Ok(stats(&views, &|r| self.name_of(r)))
    }

    /// The bulletins `region`'s recipients (any department) still have to sign, answer or
    /// rectify on this node, oldest first (a handover lists them).
    pub async fn pending_bulletins(&self, region: RegionCode) -> Result<Vec<BulletinId>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, None))?;
        let mut out: Vec<BulletinId> = all
            .iter()
            .filter(|v| {
                v.copies
                    .iter()
                    .any(|c| c.recipient.region == region && c.due(&v.bulletin).is_some())
            })
            .map(|v| v.bulletin.id)
            .collect();
        out.reverse();
        Ok(out)
    }
}
