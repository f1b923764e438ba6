// Paging the audit log newest first: which page a read gives and what lies beside it.
// `GET /api/v1/audit?order=desc[&before=S]` reads back from the newest (or from before S);
// `GET /api/v1/audit?after=S` reads forward. Either way the page is shown newest first.

/** What a page needs of an entry. */
export interface Seq {
  seq: number
}

/** The page shown: its entries (newest first) and whether anything lies beyond each end. */
export interface AuditPage<E extends Seq> {
  entries: E[]
  /** Nothing newer when the page was read (the newest page, or a read forward found none). */
  atNewest: boolean
  /** Nothing older (the page reaches entry 1, or a read back found none). */
  atOldest: boolean
}

/** How a page was read: back from the newest or from before `before`, or forward after `after`. */
export type Read = { back: true; before?: number } | { back: false; after: number }

/** The page after a read of `items` (in any order) from `page`. */
export function turn<E extends Seq>(page: AuditPage<E>, read: Read, items: E[]): AuditPage<E> {
  const entries = [...items].sort((a, b) => b.seq - a.seq)
  const oldestSeq = entries.length ? entries[entries.length - 1].seq : null
  if (read.back) {
    // Nothing before `before`: stay on the page, with nothing older.
    if (entries.length === 0 && read.before !== undefined) return { ...page, atOldest: true }
    return { entries, atNewest: read.before === undefined, atOldest: oldestSeq === null || oldestSeq <= 1 }
  }
  // Nothing after `after`: stay on the page, with nothing newer.
  if (entries.length === 0) return { ...page, atNewest: true }
  return { entries, atNewest: false, atOldest: read.after === 0 || (oldestSeq !== null && oldestSeq <= 1) }
}

/** The read for the page older than `page` (none when it is empty). */
export function olderRead(page: AuditPage<Seq>): Read | null {
  const last = page.entries[page.entries.length - 1]
  return last ? { back: true, before: last.seq } : null
}

/** The read for the page newer than `page` (the newest when it is empty). */
export function newerRead(page: AuditPage<Seq>): Read {
  const first = page.entries[0]
  return first ? { back: false, after: first.seq } : { back: true }
}
