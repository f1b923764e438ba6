//! A scanner file of any bytes: detecting its format and reading it as each scanner format
//! (Nmap, Greenbone, findings CSV, XCCDF/ARF, lynis) either gives a scan or a refusal, never
//! a panic, a hang or unbounded memory. A scan that reads is self-consistent: every finding
//! names a host the scan covers.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onewall_assets::import::{self, Context, Format, Parsed};
use onewall_model::{RegionCode, RegionTree, Timestamp};

fn tree() -> &'static RegionTree {
    static TREE: OnceLock<RegionTree> = OnceLock::new();
    TREE.get_or_init(RegionTree::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(region) = RegionCode::new(410_000) else {
        return;
    };
    let ctx = Context {
        tree: tree(),
        now: Timestamp::from_secs(1_796_100_000),
        default_region: region,
    };
    let detected = import::detect(None, data).ok();
    for format in [
        Format::Nmap,
        Format::Greenbone,
        Format::FindingsCsv,
        Format::Xccdf,
        Format::Lynis,
    ] {
        if let Ok(Parsed::Scan(scan)) = import::parse(format, data, &ctx) {
            let keys: Vec<String> = scan.hosts.iter().filter_map(|h| h.key()).collect();
            for f in &scan.findings {
                assert!(keys.contains(&f.host), "{format:?}: finding on uncovered host {}", f.host);
            }
        }
    }
    if let Some(format) = detected.filter(|f| !f.is_registry()) {
        let _ = import::parse(format, data, &ctx);
    }
});
