//! The 复盘 report at the end of a 重保 period: incidents by grade and category in its regions
//! during it, response times, slot reports late or missing, bulletins issued during it and how
//! their recipients answered, the lessons recorded. A [`crate::doc::Doc`] like every report.
//! (Helper h2.)

use onewall_model::id::PeriodId;
use serde::Serialize;

use crate::doc::Doc;
use crate::{Result, Supervision};

/// A period's 复盘.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodReview {
    pub period: onewall_model::supervise::ProtectionPeriod,
    /// Incidents (not drills) opened in its regions during it, by grade (`I`..`IV`, `none`).
    pub incidents_by_grade: Vec<(String, u64)>,
    /// ... and by GB/T 20986 category.
    pub incidents_by_category: Vec<(String, u64)>,
    /// Mean seconds from opened to acknowledged, and to resolved, of those that were.
    pub mtta_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
    /// Slot reports late or missing.
    pub slots: Vec<crate::period::SlotStatus>,
    /// Bulletins issued during it, with their recipients' states.
    pub bulletins: Vec<crate::bulletin::BulletinView>,
    pub lessons: Vec<onewall_model::supervise::Lesson>,
}

impl PeriodReview {
    /// As a document (HTML and .docx through [`crate::doc`]).
    pub fn to_doc(&self) -> Doc {
        todo!("h2")
    }
}

impl Supervision {
    /// The 复盘 of `period` from the store and this node's book (ended or not: figures up to
    /// now).
    pub async fn period_review(&self, period: PeriodId) -> Result<PeriodReview> {
        let _ = period;
        todo!("h2")
    }
}
