//! The commands run from a shell beside the node: `onewall check-config`, `rules …`, `users …`,
//! `tokens …`, `audit verify`. What a running node uses lives beside `serve`, named for what it is
//! (`live_rules`, `access`, `audit_mirror`).

pub mod anomaly_streams;
pub mod assets;
pub mod audit;
pub mod check_config;
pub mod intel;
pub mod rule_streams;
pub mod rules;
pub mod users;
