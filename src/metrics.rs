//! The node's Prometheus metrics: the recorder, and every fixed-label series touched at zero
//! so that `/metrics` shows the full list from the first scrape.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Install the process-wide recorder and return a handle that renders the text format.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{counter, describe_counter, describe_gauge, gauge};
    describe_counter!(
        "onewall_ingest_events_total",
        "Events received, by collector"
    );
    describe_counter!(
        "onewall_ingest_parse_errors_total",
        "Records kept raw with a parse error, by format and error kind"
    );
    describe_counter!(
        "onewall_ingest_dropped_total",
        "Records or connections dropped, by reason"
    );
    describe_counter!(
        "onewall_rules_alerts_total",
        "Alerts raised by the rule engine"
    );
    describe_counter!(
        "onewall_rules_events_matched_total",
        "Events run through the rule engine"
    );
    describe_counter!(
        "onewall_store_events_written_total",
        "Events written to the store"
    );
    describe_counter!(
        "onewall_store_alerts_written_total",
        "Alerts written to the store"
    );
    describe_counter!(
        "onewall_store_write_errors_total",
        "Failed store writes (retried)"
    );
    describe_counter!(
        "onewall_correlate_incidents_opened_total",
        "Incidents opened"
    );
    describe_gauge!(
        "onewall_pipeline_queue_depth_batches",
        "Batches waiting in each stage's queue"
    );
    describe_gauge!("onewall_rules_loaded", "Rules compiled and running");
    describe_gauge!(
        "onewall_rules_failed",
        "Rules skipped because they did not compile"
    );

    for source in [
        "syslog_udp",
        "syslog_tcp",
        "syslog_tls",
        "http",
        "http_bulk",
        "http_hec",
        "netflow",
        "sflow",
    ] {
        counter!("onewall_ingest_events_total", "source" => source).increment(0);
    }
    for format in onewall_model::Format::ALL {
        for kind in onewall_ingest::parse::PARSE_ERROR_KINDS {
            counter!("onewall_ingest_parse_errors_total", "format" => format.as_str(), "kind" => *kind)
                .increment(0);
        }
    }
    for reason in [
        "queue_full",
        "frame_too_long",
        "too_many_connections",
        "store_unavailable",
        "tls_handshake",
    ] {
        counter!("onewall_ingest_dropped_total", "reason" => reason).increment(0);
    }
    // Flow collectors (ingest::flow): per protocol, never per exporter address.
    for protocol in ["netflow", "sflow"] {
        for name in [
            "onewall_ingest_flow_no_template_total",
            "onewall_ingest_flow_sequence_gaps_total",
            "onewall_ingest_flow_sequence_lost_total",
            "onewall_ingest_flow_late_total",
            "onewall_ingest_flow_exporter_restarts_total",
        ] {
            counter!(name, "protocol" => protocol).increment(0);
        }
        for reason in ["truncated", "unsupported_version", "malformed", "too_large"] {
            counter!("onewall_ingest_flow_errors_total", "protocol" => protocol, "reason" => reason)
                .increment(0);
        }
    }
    counter!("onewall_rules_alerts_total").increment(0);
    counter!("onewall_rules_events_matched_total").increment(0);
    counter!("onewall_store_events_written_total").increment(0);
    counter!("onewall_store_alerts_written_total").increment(0);
    counter!("onewall_store_write_errors_total").increment(0);
    counter!("onewall_correlate_incidents_opened_total").increment(0);
    for stage in ["detect", "store"] {
        gauge!("onewall_pipeline_queue_depth_batches", "stage" => stage).set(0.0);
    }
}
