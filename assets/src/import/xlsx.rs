//! Registry rows from an .xlsx workbook (its first sheet), read with calamine.

use crate::error::AssetError;

use super::{Context, RegistryRows};

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<RegistryRows, AssetError> {
    let _ = (bytes, ctx);
    todo!("issue 21: xlsx")
}
