//! greenbone (issue 21).

use crate::error::AssetError;
use crate::scan::Scan;

use super::Context;

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let _ = (bytes, ctx);
    todo!("issue 21: greenbone")
}
