//! Response playbooks: email, webhooks, escalation, scheduled reports, from a durable outbox.
//!
//! Nothing is implemented here yet: the response issue builds it. The crate exists so that the
//! workspace has its final shape and `ui-api` can depend on it when it needs to.
