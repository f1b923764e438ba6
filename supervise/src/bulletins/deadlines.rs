//! Missed deadlines: one alert each, on the issuer's and the recipient's node alike.

use metrics::counter;
use onewall_model::supervise::Bulletin;
use onewall_model::{Alert, AlertId, Timestamp};

use super::OVERDUE_RULE_ID;
use super::check::severity_of;
use crate::bulletin::{Missed, deadline_name, deadline_zh, missed};
use crate::{Result, Supervision, db};

impl Supervision {
    /// Deadlines missed at `now` on every copy this node holds, not alerted yet: one alert
    /// each (rule [`OVERDUE_RULE_ID`], in the recipient's region, id derived from bulletin,
    /// recipient and deadline kind so both levels raise the same alert id), recorded so it is
    /// raised once. The caller stores and publishes them.
    pub async fn check_bulletin_deadlines(&self, now: Timestamp) -> Result<Vec<Alert>> {
        let all = self.db.with(|c| db::bulletins::views(c, None, Some(now)))?;
        let mut raised = Vec::new();
        for v in &all {
            for m in missed(v, now) {
                let alert = self.overdue_alert(&v.bulletin, &m, now)?;
                let marked = self.db.with(|c| {
                    let tx = c.transaction()?;
                    let Some(mut fresh) = db::bulletins::view(&tx, v.bulletin.id)? else {
                        return Ok(false);
                    };
                    let Some(copy) = fresh.copies.iter_mut().find(|c| c.recipient == m.recipient)
                    else {
                        return Ok(false);
                    };
                    if copy.overdue.contains(&m.kind) {
                        return Ok(false);
                    }
                    copy.overdue.push(m.kind);
                    let marked =
                        db::bulletins::mark_alerted(&tx, v.bulletin.id, copy, m.kind, now)?;
                    tx.commit()?;
                    Ok(marked)
                })?;
                if marked {
                    counter!("onewall_supervise_bulletin_overdue_total", "kind" => deadline_name(m.kind))
                        .increment(1);
                    raised.push(alert);
                }
            }
        }
        Ok(raised)
    }

    /// The alert of a missed deadline, the same on the issuer's and the recipient's node.
    fn overdue_alert(&self, b: &Bulletin, m: &Missed, now: Timestamp) -> Result<Alert> {
        let who = match self.name_of(m.recipient.region) {
            n if n.is_empty() => m.recipient.to_string(),
            n => match &m.recipient.department {
                Some(d) => format!("{n} {d}"),
                None => n,
            },
        };
        let (id, recipient) = (b.id.to_string(), m.recipient.to_string());
        let kind = deadline_name(m.kind);
        crate::alert::Raised {
            id: AlertId::derive(
                m.deadline,
                b"alert/bulletin/v1",
                &[id.as_bytes(), recipient.as_bytes(), kind.as_bytes()],
            ),
            rule_id: OVERDUE_RULE_ID,
            title: format!(
                "通报逾期未{} — bulletin {id} overdue ({kind}): {who} 「{}」",
                deadline_zh(m.kind),
                b.title
            ),
            severity: severity_of(b.level),
            tags: &["onewall.supervise", "onewall.bulletin"],
            region: m.recipient.region,
            matched: vec![
                ("bulletin.id", id.clone()),
                ("bulletin.recipient", recipient.clone()),
                ("bulletin.deadline_kind", kind.to_owned()),
                ("bulletin.deadline", m.deadline.to_rfc3339()),
                ("bulletin.level", b.level.as_str().to_owned()),
            ],
        }
        .at(now)
    }
}
