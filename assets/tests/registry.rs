//! The registry fixtures (`testdata/assets/registry/`, written by `make_registry.py`): the
//! .xlsx with Chinese headers and the same list as Excel saves it in GBK give the same
//! systems; bad rows are named by row and column and skipped; exports import back; random
//! bytes never panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::path::PathBuf;

use onewall_assets::error::Place;
use onewall_assets::import::{self, Context, Format, Parsed, RegistryRows};
use onewall_assets::registry::{Net, Registry, RegistryMode};
use onewall_assets::{AssetError, export};
use onewall_model::{Exposure, Region, RegionCode, RegionLevel, RegionTree, Timestamp};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/assets/registry")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Henan's built-in tree and the Zhengzhou district the fixtures name.
fn tree() -> RegionTree {
    let mut tree = RegionTree::builtin();
    tree.add(Region {
        code: RegionCode::new(410102).unwrap(),
        parent: Some(RegionCode::new(410100).unwrap()),
        level: RegionLevel::County,
        name: "中原区".into(),
        name_en: Some("Zhongyuan".into()),
    })
    .unwrap();
    tree
}

fn ctx(tree: &RegionTree) -> Context<'_> {
    Context {
        tree,
        now: Timestamp(1_780_000_000_000),
        default_region: RegionCode::HENAN,
    }
}

/// The format by the file's extension: content detection is the import module's, tested
/// with the scanners' formats.
fn format_of(name: &str) -> Format {
    if name.ends_with(".xlsx") {
        Format::RegistryXlsx
    } else {
        Format::RegistryCsv
    }
}

fn registry_rows(name: &str) -> (Format, RegistryRows) {
    let tree = tree();
    let format = format_of(name);
    let parsed = import::parse(format, &fixture(name), &ctx(&tree)).unwrap();
    match parsed {
        Parsed::Registry(rows) => (format, rows),
        Parsed::Scan(_) => panic!("{name} read as a scan"),
    }
}

fn row_refusal(rows: &RegistryRows, row: usize) -> (Option<String>, String) {
    let r = rows
        .refused
        .iter()
        .find(|r| matches!(&r.place, Place::Row { row: n, .. } if *n == row))
        .unwrap_or_else(|| panic!("row {row} not refused: {:?}", rows.refused));
    let Place::Row { column, .. } = &r.place else {
        unreachable!()
    };
    (column.clone(), r.reason.clone())
}

#[test]
fn xlsx_with_chinese_headers_imports() {
    let (format, rows) = registry_rows("registry_zh.xlsx");
    assert_eq!(format, Format::RegistryXlsx);
    assert_eq!(rows.rows, 15);
    assert_eq!(rows.systems.len(), 12, "{:#?}", rows.refused);
    assert_eq!(rows.refused.len(), 2, "{:#?}", rows.refused);

    // Row 16: a region code no region has; row 17: 等保级别 6. Rows as Excel numbers them
    // (a title row, the header in row 2).
    let (col, why) = row_refusal(&rows, 16);
    assert_eq!(col.as_deref(), Some("区划代码"));
    assert!(why.contains("419999"), "{why}");
    let (col, why) = row_refusal(&rows, 17);
    assert_eq!(col.as_deref(), Some("等保级别"));
    assert!(why.contains("\"6\"") && why.contains("1–5"), "{why}");

    let reg = Registry::new(rows.systems.clone());
    let portal = rows
        .systems
        .iter()
        .find(|s| s.name == "河南省政务服务网")
        .unwrap();
    // Two rows, one system: the second row's host added, its empty cells taking the first's.
    assert_eq!(portal.region, RegionCode::HENAN);
    assert_eq!(portal.level, Some(3));
    assert!(portal.cii);
    assert_eq!(portal.exposure, Exposure::Internet);
    assert_eq!(
        portal.networks,
        [
            Net::parse("10.41.1.0/24").unwrap(),
            Net::parse("10.41.1.10").unwrap()
        ]
    );
    assert_eq!(portal.hosts, ["www.hnzwfw.gov.cn", "web01"]);
    assert_eq!(portal.contacts, ["张伟", "0371-65500001"]);
    assert_eq!(portal.tags, ["政务服务", "门户"]);
    assert_eq!(portal.filing.as_deref(), Some("41000013001-00001"));

    let level = |name: &str| rows.systems.iter().find(|s| s.name == name).unwrap().level;
    assert_eq!(level("河南省电子政务外网"), Some(3)); // 第三级
    assert_eq!(level("河南省政务云平台"), Some(3)); // S3A3G3
    assert_eq!(level("郑州市城市大脑"), Some(3)); // a number cell
    assert_eq!(level("洛阳市医保结算系统"), Some(3)); // 3级
    assert_eq!(level("洛阳市视频监控平台"), Some(4));
    let luoyang = reg
        .systems()
        .find(|s| s.name == "洛阳市一网通办平台")
        .unwrap();
    // Named by its region's name, not its code.
    assert_eq!(luoyang.region, RegionCode::new(410300).unwrap());
    assert_eq!(luoyang.networks.len(), 2);
    let zhongyuan = reg
        .systems()
        .find(|s| s.name == "中原区政府门户网站")
        .unwrap();
    assert_eq!(zhongyuan.region, RegionCode::new(410102).unwrap());

    // The lookup finds them: a host's own address over its system's network.
    let lookup = reg.compile();
    let find = |v: &str| lookup.find(v).map(|h| lookup.system(h).name.clone());
    assert_eq!(find("10.41.1.10").as_deref(), Some("河南省政务服务网"));
    assert_eq!(
        find("10.41.102.21").as_deref(),
        Some("郑州市住房公积金管理系统")
    );
    assert_eq!(
        find("2001:db8:4103:1::9").as_deref(),
        Some("洛阳市一网通办平台")
    );
    assert_eq!(
        find("KF-WL-02.local").as_deref(),
        Some("开封市智慧文旅平台")
    );
    assert_eq!(find("10.49.1.1"), None);
}

#[test]
fn gbk_csv_gives_the_same_systems_as_the_xlsx() {
    let (format, csv) = registry_rows("registry_zh_gbk.csv");
    assert_eq!(format, Format::RegistryCsv);
    let (_, xlsx) = registry_rows("registry_zh.xlsx");
    assert_eq!(csv.systems, xlsx.systems);
    assert_eq!(csv.refused, xlsx.refused);
    assert_eq!(csv.rows, xlsx.rows);
}

#[test]
fn merged_cells_give_their_value_to_every_row() {
    let (_, rows) = registry_rows("registry_merged.xlsx");
    assert!(rows.refused.is_empty(), "{:#?}", rows.refused);
    assert_eq!(rows.systems.len(), 2);
    let brain = &rows.systems[0];
    assert_eq!(brain.name, "郑州市城市大脑");
    assert_eq!(brain.hosts, ["brain-web", "brain-app", "brain-db"]);
    assert_eq!(brain.networks.len(), 3);
}

#[test]
fn english_headers_in_utf8() {
    let (format, rows) = registry_rows("registry_en.csv");
    assert_eq!(format, Format::RegistryCsv);
    assert!(rows.refused.is_empty(), "{:#?}", rows.refused);
    assert_eq!(rows.systems.len(), 3);
    let portal = &rows.systems[2];
    assert_eq!(portal.region, RegionCode::new(410300).unwrap());
    assert_eq!(portal.exposure, Exposure::Internet);
    assert_eq!(portal.level, Some(2));
    assert!(!portal.cii);
}

#[test]
fn exports_import_back_to_the_same_registry() {
    let tree = tree();
    let (_, rows) = registry_rows("registry_zh.xlsx");
    let mut reg = Registry::default();
    reg.apply(rows.systems, RegistryMode::Replace);
    for (name, bytes, format) in [
        ("out.csv", export::csv(&reg), Format::RegistryCsv),
        ("out.xlsx", export::xlsx(&reg), Format::RegistryXlsx),
    ] {
        assert_eq!(format_of(name), format);
        let parsed = import::parse(format, &bytes, &ctx(&tree)).unwrap();
        let Parsed::Registry(back) = parsed else {
            panic!("{name} read as a scan")
        };
        assert!(back.refused.is_empty(), "{name}: {:#?}", back.refused);
        assert_eq!(Registry::new(back.systems.clone()), reg, "{name}");
        // Importing the export again changes nothing.
        let mut again = reg.clone();
        let change = again.apply(back.systems, RegistryMode::Replace);
        assert_eq!(change.unchanged, reg.len());
        assert_eq!(change.added + change.updated + change.removed, 0);
    }
}

/// The .xlsx export opens in a second reader, openpyxl (Debian's python3-openpyxl), with the
/// same cells as the CSV export.
#[test]
fn the_xlsx_export_opens_in_openpyxl() {
    let (_, rows) = registry_rows("registry_zh.xlsx");
    let reg = Registry::new(rows.systems);
    let path = std::env::temp_dir().join(format!("onewall-registry-{}.xlsx", std::process::id()));
    std::fs::write(&path, export::xlsx(&reg)).unwrap();
    let script = "import json, sys, openpyxl\n\
                  ws = openpyxl.load_workbook(sys.argv[1]).worksheets[0]\n\
                  print(json.dumps([[c if c is not None else '' for c in r] \
                  for r in ws.iter_rows(values_only=True)], ensure_ascii=False))\n";
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3 with openpyxl (scripts/test installs python3-openpyxl)");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cells: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let csv = export::csv(&reg);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&csv[3..]);
    let expected: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(cells.len(), reg.len() + 1);
    assert_eq!(cells, expected);
}

/// A cell a spreadsheet would run as a formula is exported with a `'` before it and imported
/// without.
#[test]
fn formulas_are_defused_in_the_csv_export() {
    let tree = tree();
    let text = "系统名称,使用单位,联系人\n\
                \"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@dept,+86 13800000000\n";
    let Parsed::Registry(rows) =
        import::parse(Format::RegistryCsv, text.as_bytes(), &ctx(&tree)).unwrap()
    else {
        unreachable!()
    };
    assert!(rows.refused.is_empty(), "{:?}", rows.refused);
    let reg = Registry::new(rows.systems);
    let csv = export::csv(&reg);
    let written = String::from_utf8_lossy(&csv);
    assert!(written.contains("\"'=HYPERLINK("), "{written}");
    assert!(written.contains(",'@dept,"), "{written}");
    assert!(written.contains(",'+86 13800000000,"), "{written}");
    let Parsed::Registry(back) = import::parse(Format::RegistryCsv, &csv, &ctx(&tree)).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(Registry::new(back.systems), reg);
}

#[test]
fn a_file_without_a_registry_header_is_refused_whole() {
    let tree = tree();
    let bytes = "名称甲,名称乙\n1,2\n".as_bytes();
    let err = import::parse(Format::RegistryCsv, bytes, &ctx(&tree)).unwrap_err();
    let AssetError::Refused { refusal, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(refusal.place, Place::File);
    assert!(refusal.reason.contains("系统名称"), "{}", refusal.reason);
}

#[test]
fn rows_are_counted_as_a_spreadsheet_shows_them() {
    let tree = tree();
    // A blank line (row 3) and a quoted cell over two lines (row 4): the bad row is row 5.
    let text = "系统名称,使用单位,地址\r\nA,甲,10.0.0.1\r\n\r\nB,乙,\"10.0.0.2\n10.0.0.3\"\r\nC,丙,10.0.0.300\r\n";
    let Parsed::Registry(rows) =
        import::parse(Format::RegistryCsv, text.as_bytes(), &ctx(&tree)).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(rows.systems.len(), 2);
    assert_eq!(rows.rows, 3);
    let (col, why) = row_refusal(&rows, 5);
    assert_eq!(col.as_deref(), Some("地址"));
    assert!(why.contains("10.0.0.300"), "{why}");
}

#[test]
fn missing_name_or_department_and_contradictions_are_refused() {
    let tree = tree();
    let text = "System Name,Department,Region Code,Level,Exposure\n\
                ,x,410100,3,internet\n\
                A,,410100,3,internet\n\
                B,x,410100,3,internet\n\
                B,y,410100,3,internet\n\
                B,,410100,2,\n\
                B,,410100,,intranet\n\
                C,x,,,dmz\n\
                D,x,郑州,未定级,\n";
    let Parsed::Registry(rows) =
        import::parse(Format::RegistryCsv, text.as_bytes(), &ctx(&tree)).unwrap()
    else {
        unreachable!()
    };
    let cols: Vec<(usize, Option<String>)> = rows
        .refused
        .iter()
        .map(|r| match &r.place {
            Place::Row { row, column } => (*row, column.clone()),
            p => panic!("{p}"),
        })
        .collect();
    let col = |s: &str| Some(s.to_owned());
    assert_eq!(
        cols,
        [
            (2, col("System Name")),
            (3, col("Department")),
            (5, col("Department")),
            (6, col("Level")),
            (7, col("Exposure")),
            (8, col("Exposure")),
        ]
    );
    assert_eq!(rows.systems.len(), 2);
    assert_eq!(rows.systems[0].name, "B");
    let d = &rows.systems[1];
    assert_eq!(d.region, RegionCode::new(410100).unwrap());
    assert_eq!(d.level, None);
}

/// A damaged export whose cell reference overflows the workbook reader's arithmetic is
/// refused with a reason, not a panic (found by `a_damaged_export_never_panics`).
#[test]
fn a_workbook_the_reader_fails_on_is_refused() {
    let tree = tree();
    let (_, rows) = registry_rows("registry_en.csv");
    let clean = export::xlsx(&Registry::new(rows.systems));
    let mut refused = 0;
    for flip in 0..clean.len() {
        let mut bytes = clean.clone();
        bytes[flip] = 18;
        match import::parse(Format::RegistryXlsx, &bytes, &ctx(&tree)) {
            Ok(_) => {}
            Err(e) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "no damaged copy was refused");
}

mod random_bytes {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn registry_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let tree = tree();
            let ctx = ctx(&tree);
            let _ = import::parse(Format::RegistryCsv, &bytes, &ctx);
            let _ = import::parse(Format::RegistryXlsx, &bytes, &ctx);
        }

        #[test]
        fn registry_csv_lines_never_panic(
            cells in proptest::collection::vec("[^\"]{0,12}", 0..40),
        ) {
            let tree = tree();
            let mut text = String::from("系统名称,使用单位,区划代码,等保级别,地址,主机名,关基,暴露面\n");
            for (i, c) in cells.iter().enumerate() {
                text.push_str(c);
                text.push(if i % 8 == 7 { '\n' } else { ',' });
            }
            let _ = import::parse(Format::RegistryCsv, text.as_bytes(), &ctx(&tree));
        }

        #[test]
        fn a_damaged_export_never_panics(flip in 0usize..4096, byte in any::<u8>()) {
            let tree = tree();
            let (_, rows) = registry_rows("registry_en.csv");
            let mut bytes = export::xlsx(&Registry::new(rows.systems));
            let n = flip % bytes.len();
            bytes[n] = byte;
            let _ = import::parse(Format::RegistryXlsx, &bytes, &ctx(&tree));
        }
    }
}

/// A system of 20 000 host rows merges into one, its repeats gone (merging is linear: the
/// repeats are dropped once, at the end).
#[test]
fn many_rows_of_one_system() {
    let tree = tree();
    let mut text = String::from("系统名称,使用单位,地址,主机名\n");
    for i in 0..20_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0A00_0000 + i);
        text.push_str(&format!("big,dept,{ip},h{i}\n"));
    }
    text.push_str("big,dept,10.0.0.0,h0\n");
    let Parsed::Registry(rows) =
        import::parse(Format::RegistryCsv, text.as_bytes(), &ctx(&tree)).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(rows.rows, 20_001);
    assert_eq!(rows.systems.len(), 1);
    assert_eq!(rows.systems[0].networks.len(), 20_000);
    assert_eq!(rows.systems[0].hosts.len(), 20_000);
}
