// Whether an alert from the live stream belongs in the alert list as filtered.
import type { Region } from '../../types'
import type { AlertRecord } from './alerts'

/** Severities, least first (the API's `severity` filter is a minimum). */
const ORDER = ['informational', 'low', 'medium', 'high', 'critical']

export interface AlertFilters {
  from: string
  to: string
  severity: string
  rule_id: string
  region: string
}

/** Is `code` the region `root` or below it? */
function within(code: string, root: string, regions: Map<string, Region>): boolean {
  let at: string | null | undefined = code
  for (let hops = 0; at && hops < 8; hops++) {
    if (at === root) return true
    at = regions.get(at)?.parent ?? null
  }
  return false
}

/** Does `a` pass `f`, as the list endpoint would decide? */
export function matches(a: AlertRecord, f: AlertFilters, regions: Map<string, Region>): boolean {
  if (f.severity && ORDER.indexOf(a.severity) < ORDER.indexOf(f.severity)) return false
  if (f.rule_id && a.rule.id !== f.rule_id) return false
  if (f.region && !within(String(a.region), f.region, regions)) return false
  const t = Date.parse(a.time)
  if (f.from && t < Date.parse(f.from)) return false
  if (f.to && t > Date.parse(f.to)) return false
  return true
}
