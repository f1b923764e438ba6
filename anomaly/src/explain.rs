//! Why a finding is anomalous, and the one sentence an alert carries to say so, in English and
//! Chinese: "user zhangsan logged in from 203.0.113.0/24 for the first time in 30 days of
//! history" / "用户 zhangsan 首次从 203.0.113.0/24 登录（基线 30 天）". (Contract: the variants are
//! fixed; the sentences are to be written.)

use onewall_model::anomaly::GroupField;

use crate::calendar::DayKind;

/// What a kind found, with the numbers its sentence is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// More in a bucket than the baseline's band allows.
    Spike {
        count: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
    },
    /// Less in a bucket than the baseline's band allows (not nothing).
    Drop {
        count: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
    },
    /// Nothing for `silent_secs` from a group whose baseline expects at least `expected_low`
    /// per bucket.
    Silent {
        silent_secs: i64,
        expected_low: f64,
        bucket_secs: i64,
    },
    /// A value (or tuple) the group never had in `history_secs` of history.
    FirstSeen { value: String, history_secs: i64 },
    /// A value seen `count` times in the group's `total` observations, under `threshold`
    /// (a share, 0 to 1).
    Rare {
        value: String,
        count: u64,
        total: u64,
        threshold: f64,
    },
    /// A bucket's sum of `field` outside the group's own band.
    Outlier {
        field: String,
        value: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
    },
    /// Activity at `hour` (local) on a `day`, outside the group's usual hours (`usual`, as
    /// shown: "08:00–19:00").
    OffHours {
        hour: u8,
        day: DayKind,
        usual: String,
    },
}

/// Who a sentence is about: the detector and the group.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The detector's title (used when the group says little, e.g. a detector with one group).
    pub title: &'a str,
    pub group: &'a [GroupField],
}

/// The language of a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Reason {
    /// The one sentence that explains this reason for `who`, in `lang`.
    pub fn sentence(&self, who: &Who<'_>, lang: Lang) -> String {
        let _ = (who, lang);
        format!("{self:?}")
    }
}
