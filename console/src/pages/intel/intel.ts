// The threat intelligence screen's logic (no Vue): the shapes the node answers on
// /api/v1/intel/*, the TLP colours, which feed is broken, the indicators' query from the
// filters, the retro-hunt's state of a receipt and a bundle's first check before it is sent.

export const KINDS = ['ip', 'cidr', 'domain', 'domain-tree', 'url', 'md5', 'sha1', 'sha256', 'sm3', 'email'] as const
export type Kind = (typeof KINDS)[number]

export const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const
export type TlpName = (typeof TLPS)[number]

export interface Indicator {
  value: string
  type: string
  feed: string
  id?: string | null
  confidence: number
  severity: string
  tlp: string
  valid_from?: string | null
  valid_until?: string | null
  labels?: string[]
  attack?: string[]
  description?: string | null
  expired: boolean
}

export interface IndicatorPage {
  items: Indicator[]
  next_cursor: string | null
}

export interface Feed {
  name: string
  format: string
  source?: string | null
  interval_secs?: number | null
  indicators: number
  last_pull?: string | null
  last_success?: string | null
  last_error?: string | null
  error_at?: string | null
  pulls?: number | null
  errors?: number | null
}

export interface Sighting {
  value: string
  type: string
  feed: string
  region: string
  count: number
  folded: number
  first_seen: string
  last_seen: string
}

export interface RetroPart {
  href?: string
  status: string
  indicators?: number
  days?: number
  events_searched?: number
  events_read?: number
  hits?: number
  alerts?: number
  elapsed_ms?: number
  truncated?: boolean
  error?: string
  delivery_error?: string
}

export interface Receipt {
  id: string
  feed: string
  at: string
  read: number
  new: number
  rejected: { item: string; reason: string }[]
  rejected_count: number
  retro: RetroPart
}

/** What an intel alert carries (`Alert::intel`). */
export interface AlertIntel {
  indicator: {
    value: string
    type: string
    feed: string
    confidence: number
    tlp: string
    id?: string | null
    description?: string | null
    labels?: string[]
  }
  field: string
  observed: string
  retro?: boolean
  count?: number
}

/** A TLP marking's tag colours (FIRST's TLP 2.0 palette: black ground, coloured text). */
export function tlpStyle(tlp: string): { color: string; background: string } {
  const colour: Record<string, string> = {
    CLEAR: '#ffffff',
    GREEN: '#33ff00',
    AMBER: '#ffc000',
    'AMBER+STRICT': '#ffc000',
    RED: '#ff2b2b',
  }
  return { color: colour[tlp.toUpperCase()] ?? '#cccccc', background: '#000000' }
}

/** Whether a feed's last pull failed: an error newer than its last success (or none yet). */
export function feedBroken(f: Feed): boolean {
  if (!f.last_error) return false
  if (!f.last_success) return true
  const err = Date.parse(f.error_at ?? '')
  const ok = Date.parse(f.last_success)
  if (Number.isNaN(err) || Number.isNaN(ok)) return true
  return err >= ok
}

/** Feeds in the order a person reads them: broken ones first, then by name. */
export function sortFeeds(feeds: Feed[]): Feed[] {
  return [...feeds].sort((a, b) => Number(feedBroken(b)) - Number(feedBroken(a)) || a.name.localeCompare(b.name))
}

export interface IndicatorFilters {
  kind: string
  feed: string
  tlp: string
  prefix: string
  expired: boolean
}

/** The query of `GET /api/v1/intel/indicators` for `f` (empty filters left out). */
export function indicatorQuery(f: IndicatorFilters, limit: number, cursor: string | null): Record<string, string> {
  const q: Record<string, string> = { limit: String(limit) }
  if (f.kind) q.kind = f.kind
  if (f.feed.trim()) q.feed = f.feed.trim()
  if (f.tlp) q.tlp = f.tlp
  if (f.prefix.trim()) q.prefix = f.prefix.trim()
  if (f.expired) q.expired = 'true'
  if (cursor) q.cursor = cursor
  return q
}

/** A local indicator as the form holds it. */
export interface LocalForm {
  value: string
  kind: string
  reason: string
  /** `YYYY-MM-DDTHH:MM` from a datetime-local input, in local time; empty: no expiry. */
  expires: string
  confidence: string
  tlp: string
  severity: string
  description: string
}

/** The body of `POST /api/v1/intel/indicators` for the form (empty optional fields left out). */
export function localBody(f: LocalForm): Record<string, unknown> {
  const body: Record<string, unknown> = { value: f.value.trim(), kind: f.kind, reason: f.reason }
  if (f.expires) {
    const d = new Date(f.expires)
    body.expires = Number.isNaN(d.getTime()) ? f.expires : d.toISOString()
  }
  if (f.confidence.trim() !== '') body.confidence = Number(f.confidence)
  if (f.tlp) body.tlp = f.tlp
  if (f.severity) body.severity = f.severity
  if (f.description.trim()) body.description = f.description.trim()
  return body
}

/** Whether the retro-hunt of a receipt is still to come. */
export function retroPending(r: Receipt | null): boolean {
  return r?.retro?.status === 'pending'
}

/**
 * A first look at a pasted bundle before it is sent: not JSON, or JSON that is not a STIX
 * bundle, is said at once (the node still decides, and names what it refuses). `null`: send it.
 */
export function bundleProblem(text: string): string | null {
  if (!text.trim()) return 'empty'
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    return `json: ${String((e as Error)?.message ?? e)}`
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not_bundle'
  if ((doc as { type?: unknown }).type !== 'bundle') return 'not_bundle'
  return null
}

/** The alerts list of an indicator's kind (its intel rule is `intel.<type>`). */
export function alertsOfKind(type: string): { path: string; query: Record<string, string> } {
  return { path: '/alerts', query: { rule_id: `intel.${type}` } }
}
