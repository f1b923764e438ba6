//! The node's supervision (`[supervise]`, the `onewall-supervise` crate): opened in the data
//! directory beside the other books, connected to the federation ([`exchange`]: the courier
//! the crate sends through, the exchange that applies what other levels send), its checks on a
//! clock ([`jobs`]: bulletin deadlines, 重保 slot reports owed and missing, duty coverage, the
//! roster sent up), periodic reports on schedule ([`reports`], with what only the node knows in
//! [`sources`]), drills (the detect-thread step that marks their alerts, [`stage`]; the
//! scenario replay, [`replay`]).

pub mod exchange;
pub mod jobs;
pub mod replay;
pub mod reports;
pub mod sources;
pub mod stage;
