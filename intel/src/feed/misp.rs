//! MISP feeds.
