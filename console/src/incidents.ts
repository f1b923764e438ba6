// Helpers shared by the incident queue and detail.
import { gradeOfSeverity } from './grades'
import { regions } from './session'
import type { Incident } from './types'

export const STATUSES = ['new', 'acknowledged', 'investigating', 'resolved', 'closed', 'false_positive'] as const

/** The incident's grade: its classification's, else the one its severity maps to. */
export function gradeOf(i: Incident): string | null {
  return i.classification?.grade ?? gradeOfSeverity(i.severity)
}

export function isOpen(status: string): boolean {
  return status === 'new' || status === 'acknowledged' || status === 'investigating'
}

/** Statuses an incident in `from` may move to (model/src/incident.rs `can_become`). */
export function nextStatuses(from: string): string[] {
  const rank = (s: string) => STATUSES.indexOf(s as (typeof STATUSES)[number])
  return STATUSES.filter((to) => {
    if (to === from || from === 'closed') return false
    if (from === 'false_positive') return to === 'investigating'
    if (to === 'false_positive') return true
    if (from === 'resolved' && to === 'investigating') return true
    return rank(to) > rank(from)
  })
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
