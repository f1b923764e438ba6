//! The `rare` kind. (Contract stub: to be written.)

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_norway::Mapping;

use super::{Cx, Finding, Kind, Observation};

/// Parameters of a `rare` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {}

/// One group's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    last_seen: Timestamp,
}

impl Kind for State {
    type Params = Params;

    fn parse(_params: &Mapping) -> Result<Params, String> {
        Err("the rare kind is not written yet".into())
    }

    fn new(_params: &Params, first: &Observation<'_>) -> Self {
        State {
            last_seen: first.time,
        }
    }

    fn observe(&mut self, _p: &Params, obs: &Observation<'_>, _cx: &mut Cx<'_>) -> Option<Finding> {
        self.last_seen = obs.time;
        None
    }

    fn advance(&mut self, _p: &Params, _now: Timestamp, _cx: &mut Cx<'_>) -> Vec<Finding> {
        Vec::new()
    }

    fn tick_secs(_p: &Params) -> Option<i64> {
        None
    }

    fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn heap_bytes(&self) -> usize {
        0
    }
}
