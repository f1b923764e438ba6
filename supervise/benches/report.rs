//! `report::build` over a week of a province: 100 000 alerts (5 % of them a drill's) from
//! 5 000 source addresses and 200 rules, and 2 000 incidents with timelines, over the 18
//! cities; then the report as a document and as .docx. Each figure is printed as the median
//! of 5 runs, then criterion measures `build`. Nothing is asserted.
//!
//! Under `cargo test` (no `--bench`) it runs once with 1 000 alerts and 20 incidents.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use onewall_model::id::DrillId;
use onewall_model::supervise::DrillMark;
use onewall_model::{
    Entity, EntityKind, Grade, IncidentStatus, RegionCode, RegionTree, Severity, TimelineEntry,
    TimelineKind,
};
use onewall_store::conformance::{alert, incident};
use onewall_supervise::config::ScoreWeights;
use onewall_supervise::doc;
use onewall_supervise::report::{ReportData, ReportKind, ReportScope, SlaTargets, Span, build};

fn data(alerts: usize, incidents: usize, span: &Span, tree: &RegionTree) -> ReportData {
    let province = RegionCode::HENAN;
    let cities: Vec<RegionCode> = tree.children(province).map(|r| r.code).collect();
    let width = span.to.secs() - span.from.secs();
    let drill = DrillId::new(span.from);
    let mut d = ReportData {
        sla: SlaTargets {
            ack_secs: [Some(1800), Some(1800), Some(14_400), Some(86_400)],
        },
        children: tree
            .children(province)
            .map(|r| (r.code, r.name.clone()))
            .collect(),
        region_name: "河南省".into(),
        ..ReportData::default()
    };
    for i in 0..alerts {
        let at = span.from.add_secs((i as i64 * 7919) % width);
        let mut a = alert(
            at,
            &format!("rule-{}", i % 200),
            Severity::High,
            cities[i % cities.len()],
        );
        a.entities = vec![
            Entity::new(
                EntityKind::SourceIp,
                format!("198.51.{}.{}", (i / 250) % 20, i % 250),
            ),
            Entity::new(EntityKind::Host, format!("host{}", i % 900)),
        ];
        if i % 20 == 0 {
            a.drill = Some(DrillMark {
                drill,
                action: None,
            });
        }
        d.alerts.push(a);
    }
    for i in 0..incidents {
        let created = span.from.add_secs((i as i64 * 3001) % width);
        let mut inc = incident(created, Severity::Medium, cities[i % cities.len()]);
        inc.created = created;
        inc.classification.grade = Some(Grade::ALL[i % 4]);
        inc.classification.category = Some(["NA", "MP", "AB"][i % 3].into());
        inc.timeline.push(TimelineEntry {
            at: created.add_secs(60 * (i as i64 % 300)),
            actor: "duty".into(),
            change: TimelineKind::StatusChanged {
                from: IncidentStatus::New,
                to: IncidentStatus::Acknowledged,
            },
        });
        d.incidents.push(inc);
    }
    d
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (alerts, incidents, rounds) = if full {
        (100_000, 2_000, 5)
    } else {
        (1_000, 20, 1)
    };
    let tree = RegionTree::builtin();
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let span =
        Span::parse(ReportKind::Weekly, "2026-W49", offset).unwrap_or_else(|e| panic!("{e}"));
    let scope = ReportScope {
        region: RegionCode::HENAN,
        department: None,
        regions: tree.iter().map(|r| r.code).collect(),
    };
    let d = data(alerts, incidents, &span, &tree);
    let weights = ScoreWeights::default();
    let now = span.to;

    let mut build_s = Vec::new();
    let mut docx_s = Vec::new();
    let mut size = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = build(&span, &scope, &d, &weights, now);
        build_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let bytes = doc::docx(&r.to_doc()).unwrap_or_default();
        docx_s.push(t.elapsed().as_secs_f64());
        size = bytes.len();
        black_box((r, bytes));
    }
    let b = median(build_s);
    println!(
        "report build: {alerts} alerts, {incidents} incidents: {:.1} ms ({:.2} M alerts/s)",
        b * 1000.0,
        alerts as f64 / b / 1e6
    );
    println!(
        "report .docx: {:.1} ms, {size} bytes",
        median(docx_s) * 1000.0
    );
    if full {
        let mut c = Criterion::default()
            .configure_from_args()
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        let mut g = c.benchmark_group("report");
        g.throughput(Throughput::Elements(alerts as u64));
        g.bench_function("build, 100k alerts", |bch| {
            bch.iter(|| build(&span, &scope, &d, &weights, now))
        });
        g.finish();
    }
}
