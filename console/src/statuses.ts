// Incident statuses and the moves between them, as model/src/incident.rs allows them. No
// imports, so it is tested on its own (test/statuses.test.mjs).

export const STATUSES = ['new', 'acknowledged', 'investigating', 'resolved', 'closed', 'false_positive'] as const

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
