//! Registry rows from a table (CSV here; .xlsx cells come through [`rows`] too): the header
//! row's Chinese or English names map to columns, each data row to a system.

use crate::error::AssetError;

use super::{Context, RegistryRows};

/// A CSV file, UTF-8 (BOM or not) or GBK.
pub(super) fn parse_csv(bytes: &[u8], ctx: &Context<'_>) -> Result<RegistryRows, AssetError> {
    let _ = (bytes, ctx);
    todo!("issue 21: registry csv")
}

/// Rows of cells (the first is the header), from any table.
pub(super) fn rows(table: Vec<Vec<String>>, ctx: &Context<'_>) -> Result<RegistryRows, AssetError> {
    let _ = (table, ctx);
    todo!("issue 21: registry rows")
}

/// Whether a header row (cells as read) is a registry's: it names the system column and at
/// least one other registry column. [`super::detect`] uses it to tell a registry CSV from a
/// findings CSV.
pub(super) fn is_registry_header(cells: &[String]) -> bool {
    let _ = cells;
    todo!("issue 21: registry header")
}
