//! Registry rows from an .xlsx workbook (its first sheet), read with calamine.
//!
//! Cells are read as a stream (no dense grid, so a sheet claiming a far corner costs
//! nothing) and turned into text as a person reads them: a whole number without its `.0`
//! (a region code typed as a number is `410100`, not `410100.0`). Merged cells (a system's
//! name spanning its hosts' rows) give their value to every row they cover.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};

use crate::error::{AssetError, Place};

use super::registry_table::{Numbered, numbered_rows, unescape_formula};
use super::{Context, RegistryRows};

const FORMAT: &str = "registry_xlsx";

/// Columns past this are not read: a registry has a dozen.
const MAX_COLUMNS: u32 = 256;

/// The first sheet's rows as registry rows.
pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<RegistryRows, AssetError> {
    numbered_rows(first_sheet(bytes)?, ctx, FORMAT)
}

fn refused(reason: String) -> AssetError {
    AssetError::refused(FORMAT, Place::File, reason)
}

/// The first sheet's non-empty rows, each with its spreadsheet row number, cells from
/// column A.
///
/// The workbook reader is a library that can panic on damaged input (an arithmetic
/// overflow on a cell reference, for one): a panic there refuses the file, it does not
/// take the request or the node down.
pub(super) fn first_sheet(bytes: &[u8]) -> Result<Numbered, AssetError> {
    std::panic::catch_unwind(|| read_first_sheet(bytes)).unwrap_or_else(|_| {
        Err(refused(
            "the workbook is damaged: its reader failed on it".into(),
        ))
    })
}

fn read_first_sheet(bytes: &[u8]) -> Result<Numbered, AssetError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| refused(format!("not a readable .xlsx workbook: {e}")))?;
    let Some(sheet) = book.sheet_names().into_iter().next() else {
        return Err(refused("the workbook has no sheet".into()));
    };
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    {
        let mut cells = book
            .worksheet_cells_reader(&sheet)
            .map_err(|e| refused(format!("sheet {sheet:?}: {e}")))?;
        while let Some(cell) = cells
            .next_cell()
            .map_err(|e| refused(format!("sheet {sheet:?}: {e}")))?
        {
            let (row, col) = cell.get_position();
            if col >= MAX_COLUMNS {
                continue;
            }
            let text = text_of(cell.get_value());
            if !text.is_empty() {
                grid.entry(row).or_default().insert(col, text);
            }
        }
    }
    // A sheet whose merge list is unreadable still has its cells: read them unmerged.
    if let Ok(merged) = book.merge_cells_by_sheet_id(0) {
        for m in merged {
            let Some(value) = grid
                .get(&m.start.0)
                .and_then(|r| r.get(&m.start.1))
                .cloned()
            else {
                continue;
            };
            let cols = m.start.1..=m.end.1.min(MAX_COLUMNS - 1);
            // Only rows that exist: a merge reaching the sheet's end adds no rows.
            for (_, row) in grid.range_mut(m.start.0..=m.end.0) {
                for c in cols.clone() {
                    row.entry(c).or_insert_with(|| value.clone());
                }
            }
        }
    }
    Ok(grid
        .into_iter()
        .map(|(r, cells)| {
            let width = cells.keys().next_back().map_or(0, |c| *c as usize + 1);
            let mut row = vec![String::new(); width];
            for (c, v) in cells {
                row[c as usize] = v;
            }
            (r as usize + 1, row)
        })
        .collect())
}

/// A cell as text: whole numbers without a fraction, the rest as calamine shows them.
fn text_of(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        // A CSV export opened and saved as a workbook keeps its defused formulas' `'`.
        DataRef::String(s) => unescape_formula(s.trim()),
        DataRef::SharedString(s) => unescape_formula(s.trim()),
        DataRef::Int(n) => n.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}
