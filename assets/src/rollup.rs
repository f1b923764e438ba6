//! The figures a node reports to its parent, per region and department: systems by 等保
//! level, CII and internet-facing systems, hosts, open findings by severity and overdue,
//! unknown and silent hosts.

use onewall_model::asset::{AssetRollup, ExposureReport};
use onewall_model::{RegionCode, Timestamp};

use crate::book::AssetBook;

/// The roll-up of `book` and `exposure` at `now`, reported from `region`.
pub fn rollup(
    book: &AssetBook,
    exposure: &ExposureReport,
    region: RegionCode,
    now: Timestamp,
) -> AssetRollup {
    let _ = (book, exposure, region, now);
    todo!("issue 21")
}
