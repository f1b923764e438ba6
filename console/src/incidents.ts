// Helpers shared by the incident queue and detail.
import { gradeOfSeverity } from './grades'
import { regions } from './session'
import type { Incident } from './types'

export { STATUSES, isOpen, nextStatuses } from './statuses'

/** The incident's grade: its classification's, else the one its severity maps to. */
export function gradeOf(i: Incident): string | null {
  return i.classification?.grade ?? gradeOfSeverity(i.severity)
}

/** Is `code` inside the subtree of `root` (by the region tree the node answered)? */
export function within(code: string, root: string): boolean {
  let c: string | null | undefined = String(code)
  for (let n = 0; c && n < 8; n++) {
    if (c === String(root)) return true
    c = regions.value.get(c)?.parent
  }
  return false
}

/** The event field an entity kind stands for, for a link to the search. */
export const ENTITY_FIELD: Record<string, string> = {
  source_ip: 'source.ip',
  destination_ip: 'destination.ip',
  host: 'host.name',
  user: 'user.name',
  hash: 'file.hash.sha256',
  domain: 'dns.question.name',
  process: 'process.name',
}
