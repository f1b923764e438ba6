//! The node's threat intelligence.

// Called from the node's feed wiring (imports and pulls hand it their new indicators).
#[allow(dead_code)]
pub mod retro;
