//! Reading a kept report back: the two parts whose types are only written elsewhere (bulletin
//! statistics, sources seen) are read through mirrors of their fields.

use onewall_model::bus::SourceSeen;
use onewall_model::supervise::Recipient;
use onewall_model::{RegionCode, Timestamp};
use serde::{Deserialize, Deserializer};

use crate::bulletin::RecipientStats;

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    recipient: Option<Recipient>,
    #[serde(default)]
    name: String,
    bulletins: u32,
    signed: u32,
    signed_on_time: u32,
    answered: u32,
    answered_on_time: u32,
    rectifications: u32,
    rectified_on_time: u32,
    accepted: u32,
    returned: u32,
    overdue: u32,
}

#[derive(Deserialize)]
struct Seen {
    key: String,
    region: RegionCode,
    last_seen: Timestamp,
}

pub(super) fn recipient_stats<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<RecipientStats>, D::Error> {
    Ok(Vec::<Stats>::deserialize(d)?
        .into_iter()
        .map(|s| RecipientStats {
            recipient: s.recipient,
            name: s.name,
            bulletins: s.bulletins,
            signed: s.signed,
            signed_on_time: s.signed_on_time,
            answered: s.answered,
            answered_on_time: s.answered_on_time,
            rectifications: s.rectifications,
            rectified_on_time: s.rectified_on_time,
            accepted: s.accepted,
            returned: s.returned,
            overdue: s.overdue,
        })
        .collect())
}

pub(super) fn sources<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SourceSeen>, D::Error> {
    Ok(Vec::<Seen>::deserialize(d)?
        .into_iter()
        .map(|s| SourceSeen {
            key: s.key,
            region: s.region,
            last_seen: s.last_seen,
        })
        .collect())
}
