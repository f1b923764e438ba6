//! What other levels send: a bulletin from the parent, a step from a child or the parent.

use base64::Engine as _;
use metrics::counter;
use onewall_model::RegionCode;
use onewall_model::bus::SupervisionEvent;
use onewall_model::id::BulletinId;
use onewall_model::supervise::{Attachment, AttachmentFile, Bulletin, Step, StepKind};

use super::check::{clip, invalid, kind_name, step_detail};
use crate::bulletin::Copy;
use crate::files::{is_sha256_hex, sha256_hex};
use crate::{Actor, Result, SuperviseError, Supervision, db};

impl Supervision {
    /// Child: a bulletin from the parent (idempotent). A bulletin that is not the parent's,
    /// or names no recipient this node holds, is logged and dropped (see
    /// [`Supervision::receive_step`] for why refusals are not errors).
    pub async fn receive_bulletin(&self, parent: RegionCode, bulletin: Bulletin) -> Result<()> {
        let id = bulletin.id;
        let got = self.try_receive_bulletin(parent, bulletin).await;
        refused_is_dropped(got, "bulletin", id, parent)
    }

    async fn try_receive_bulletin(&self, parent: RegionCode, mut bulletin: Bulletin) -> Result<()> {
        if bulletin.issuer != parent {
            return Err(invalid(format!(
                "bulletin {} was issued by {}, not by the parent {parent}",
                bulletin.id, bulletin.issuer
            )));
        }
        bulletin
            .recipients
            .retain(|r| self.covers(self.node.region, r.region));
        if bulletin.recipients.is_empty() {
            return Err(invalid(format!(
                "bulletin {} names no recipient in {}",
                bulletin.id, self.node.region
            )));
        }
        let copies: Vec<Copy> = bulletin.recipients.iter().cloned().map(Copy::new).collect();
        let to: Vec<String> = bulletin
            .recipients
            .iter()
            .map(ToString::to_string)
            .collect();
        let record = Actor::remote(parent, &bulletin.by).audit_record(
            "bulletin.issue",
            format!("bulletin {}", bulletin.id),
            format!(
                "title={} level={} kind={} recipients=[{}]",
                clip(&bulletin.title),
                bulletin.level.as_str(),
                kind_name(bulletin.kind),
                to.join(", ")
            ),
        );
        let new = self.db.with(|c| {
            let tx = c.transaction()?;
            if !db::bulletins::insert(&tx, &bulletin, false, &copies)? {
                return Ok(Ok(false));
            }
            if let Err(e) = self.audit(record) {
                return Ok(Err(e));
            }
            tx.commit()?;
            Ok(Ok(true))
        })??;
        if new {
            counter!("onewall_supervise_bulletins_received_total").increment(1);
            tracing::info!(bulletin = %bulletin.id, %parent, "bulletin received");
            self.publish(SupervisionEvent::BulletinReceived {
                bulletin: Box::new(bulletin),
            })
            .await;
        }
        Ok(())
    }

    /// Apply a step taken on another level (a child's step, the parent's review), with the
    /// bytes of the files it names (idempotent: a step held already changes nothing and is
    /// not audited again). `via` is the region of the node it came from.
    ///
    /// A step this node must refuse (a bulletin it does not hold, a step the copy's state
    /// does not allow, a review from anyone but the issuer, a recipient's step on a bulletin
    /// this node did not issue, files that do not match their hashes) is logged and counted
    /// (`onewall_supervise_steps_refused_total`) and answers `Ok`: the federation resends a
    /// message whose applying fails, and a refusal would be the same on every resend, so an
    /// error would hold every message behind it on the sequenced channel forever. Only a
    /// failure of this node (database, files, audit log) is an error, to be retried.
    pub async fn receive_step(
        &self,
        via: RegionCode,
        step: onewall_model::supervise::Step,
        files: Vec<onewall_model::supervise::AttachmentFile>,
    ) -> Result<()> {
        let id = step.bulletin;
        let got = self.try_receive_step(via, step, files).await;
        refused_is_dropped(got, "step", id, via)
    }

    async fn try_receive_step(
        &self,
        via: RegionCode,
        step: Step,
        files: Vec<AttachmentFile>,
    ) -> Result<()> {
        if self.db.with(|c| db::bulletins::has_step(c, step.id))? {
            return Ok(());
        }
        let view = self
            .db
            .with(|c| db::bulletins::view(c, step.bulletin))?
            .ok_or_else(|| {
                SuperviseError::NotFound(format!("bulletin {} not held", step.bulletin))
            })?;
        if step.node_region != via {
            return Err(invalid(format!(
                "step {} was taken on {}, but came from {via}",
                step.id, step.node_region
            )));
        }
        let review = matches!(step.kind, StepKind::Review { .. });
        if view.issued_here == review {
            return Err(invalid(format!(
                "a {} of bulletin {} does not come from {via} to this node (issued here: {})",
                step.kind.name(),
                step.bulletin,
                view.issued_here
            )));
        }
        // Try the step on a copy first, so that files of a step refused are never kept.
        let mut copy = view
            .copies
            .iter()
            .find(|c| c.recipient == step.recipient)
            .cloned()
            .ok_or_else(|| {
                SuperviseError::NotFound(format!(
                    "bulletin {} has no copy for {} here",
                    step.bulletin, step.recipient
                ))
            })?;
        crate::bulletin::apply(&view.bulletin, &mut copy, &step)?;
        if let StepKind::Rectify { attachments, .. } = &step.kind {
            self.keep_files(attachments, &files)?;
        }
        let record = Actor::remote(via, &step.by).audit_record(
            &format!("bulletin.{}", step.kind.name()),
            format!("bulletin {}", step.bulletin),
            step_detail(&step),
        );
        if let Some(view) = self.commit_step(&step, None, record)? {
            self.publish(SupervisionEvent::BulletinStep {
                bulletin: Box::new(view.bulletin),
                step: Box::new(step),
            })
            .await;
        }
        Ok(())
    }

    /// Keep the bytes of a remote rectification's attachments: each must come with the step
    /// (or be kept already), decode, and hash to its name and size.
    fn keep_files(&self, attachments: &[Attachment], files: &[AttachmentFile]) -> Result<()> {
        let each = u64::from(self.cfg.config.attachment_max_mib) * 1024 * 1024;
        for a in attachments {
            if !is_sha256_hex(&a.sha256) {
                return Err(invalid(format!("attachment {}: bad sha256", a.name)));
            }
            let Some(f) = files.iter().find(|f| f.sha256 == a.sha256) else {
                if self.files.has(&a.sha256) {
                    continue;
                }
                return Err(invalid(format!(
                    "attachment {} came without its bytes",
                    a.name
                )));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&f.content)
                .map_err(|e| invalid(format!("attachment {}: base64: {e}", a.name)))?;
            if bytes.len() as u64 > each {
                return Err(SuperviseError::TooLarge(format!(
                    "attachment {}: {} bytes, more than this node keeps",
                    a.name,
                    bytes.len()
                )));
            }
            if sha256_hex(&bytes) != a.sha256 || bytes.len() as u64 != a.size {
                return Err(invalid(format!(
                    "attachment {}: the bytes do not match its sha256 and size",
                    a.name
                )));
            }
            self.files.put(&bytes)?;
        }
        Ok(())
    }
}

/// A remote bulletin or step refused: logged, counted, and answered `Ok` (see
/// [`Supervision::receive_step`]); a failure of this node stays an error.
fn refused_is_dropped(
    got: Result<()>,
    what: &'static str,
    id: BulletinId,
    via: RegionCode,
) -> Result<()> {
    match got {
        Err(SuperviseError::Internal(e)) => Err(SuperviseError::Internal(e)),
        Err(e) => {
            counter!("onewall_supervise_steps_refused_total", "what" => what).increment(1);
            tracing::warn!(bulletin = %id, %via, error = %e, "supervision from another level refused; dropped");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}
