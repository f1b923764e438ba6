//! onewall's collectors: syslog over UDP, TCP and TLS, JSON over HTTP (with Elasticsearch
//! `_bulk` and Splunk HEC compatible endpoints), and the pure parsers and framing they use.
//!
//! - [`parse`]: bytes to [`onewall_model::Event`], no I/O ([`parse_syslog`],
//!   [`parse_json_object`], [`split_http_body`]).
//! - [`flow`]: NetFlow v5/v9, IPFIX and sFlow collectors (pure decoders and their listener).
//! - [`framing`]: RFC 6587 TCP framing as an incremental decoder, no I/O.
//! - [`listen`]: tokio listeners that read sockets, parse in batches and send
//!   [`onewall_model::EventBatch`]es down a bounded channel; and the HTTP ingest router.
//! - [`spool`]: the durable spool every accepted event is written to before it is
//!   acknowledged or detected.

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod config;
pub mod error;
pub mod evtx;
pub mod flow;
pub mod framing;
pub mod listen;
pub mod parse;
pub mod spool;

pub use error::{BodyError, FrameError};
pub use framing::{DEFAULT_MAX_FRAME_LEN, FrameDecoder};
pub use parse::{ParseContext, parse_json_object, parse_syslog, split_http_body};

pub use listen::{HttpIngest, ListenerConfig, http_router, run_tcp, run_tls, run_udp};
