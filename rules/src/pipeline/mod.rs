//! Processing pipelines: logsource routing and field mapping as data.
//!
//! A pipeline is a YAML document in a useful subset of pySigma's processing-pipeline format:
//!
//! ```yaml
//! name: windows-winlogbeat
//! priority: 30
//! transformations:
//!   - id: winlogbeat_shape
//!     type: add_condition
//!     conditions: { log.format: windows, winlog.event_id|exists: true }
//!     rule_conditions: [{ type: logsource, product: windows }]
//!   - type: field_name_mapping
//!     mapping: { EventID: event.code, Channel: winlog.channel }
//!     rule_conditions: [{ type: logsource, product: windows }]
//! ```
//!
//! Transformations (`type:`): `field_name_mapping` (a name to one name or a list of names, a
//! list being an OR), `field_name_prefix_mapping`, `field_name_prefix` (prefix every field),
//! `add_condition` (`conditions`, optional `negated`), `change_logsource` (`product`,
//! `category`, `service`), `replace_string` (`regex`, `replacement`; in string values),
//! `map_string` (`mapping`: a whole string value to one or several) and
//! `detection_item_failure` (`message`: a rule with a field the item selects is refused).
//! Each may carry `rule_conditions` (`logsource`, `tag`, `processing_item_applied`) with
//! `rule_cond_op: and|or` and `rule_cond_not`, and the field transformations
//! `field_name_conditions` (`include_fields`, `exclude_fields`) with `field_name_cond_not`.
//!
//! A pipeline transforms a rule document before it is compiled ([`PipelineSet::apply`]). The
//! set applies its pipelines in `priority` order, as pySigma chains them, with one departure:
//! pipelines of **equal priority are alternatives** (the three Windows JSON shapes, web,
//! firewall, Sysmon and Security auditing ...). Each alternative transforms its own copy of the
//! rule, which goes on through the later stages by itself; the alternatives none of whose items
//! applied are dropped, as are those that refuse the rule while another takes it; identical
//! versions count once; when several remain, the rule becomes the OR of their versions, each
//! under its own added conditions (see [`merge`]). So one process_creation rule matches Sysmon
//! EventID 1 and Security 4688 events, each with its own field names.
//!
//! `add_condition` is how a rule is routed: the conditions are ANDed to the rule's, so a rule
//! is only evaluated on events whose logsource it can match. A [`PipelineSet`] built with
//! [`PipelineSet::require_routing`] refuses rules that no `add_condition` applied to.

mod definition;
mod merge;
mod set;
mod shipped;
mod sources;
mod transform;

pub use definition::{Pipeline, PipelineError};
pub use set::PipelineSet;
pub use shipped::{SHIPPED, shipped, shipped_names};
pub(crate) use sources::{DocAction, rewrite_sources};
