//! The registry written out in the columns the import reads (Chinese headers), so an export
//! imports again unchanged: CSV (UTF-8 with a BOM, which Excel opens as UTF-8) and .xlsx.

use crate::registry::Registry;

/// The header row, in the order written.
pub const COLUMNS: &[&str] = &[
    "系统名称",
    "区划代码",
    "使用单位",
    "运维单位",
    "联系人",
    "等保级别",
    "备案号",
    "关基",
    "暴露面",
    "地址",
    "主机名",
    "标签",
];

pub fn csv(registry: &Registry) -> Vec<u8> {
    let _ = registry;
    todo!("issue 21: csv export")
}

pub fn xlsx(registry: &Registry) -> Vec<u8> {
    let _ = registry;
    todo!("issue 21: xlsx export")
}
