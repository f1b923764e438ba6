// Time ranges of the search and alert screens: a preset (relative to now) or a custom span,
// kept in the URL as absolute RFC 3339 `from`/`to` so that a shared link shows the same rows.

export type Preset = '15m' | '1h' | '24h' | '7d' | '30d'

export const PRESETS: Preset[] = ['15m', '1h', '24h', '7d', '30d']

const SECONDS: Record<Preset, number> = {
  '15m': 900,
  '1h': 3600,
  '24h': 86400,
  '7d': 7 * 86400,
  '30d': 30 * 86400,
}

/** `from`/`to` of a preset ending now. */
export function presetRange(p: Preset, now = Date.now()): { from: string; to: string } {
  return { from: new Date(now - SECONDS[p] * 1000).toISOString(), to: new Date(now).toISOString() }
}

/** An ISO time as the value of an `<input type="datetime-local">` (local time). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** An `<input type="datetime-local">` value as RFC 3339 (UTC); '' when empty or invalid. */
export function fromLocalInput(v: string): string {
  if (!v) return ''
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? '' : d.toISOString()
}

/** The histogram interval for a span: the smallest that keeps the chart under ~200 bars. */
export function intervalFor(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  const to = toIso ? Date.parse(toIso) : Date.now()
  const from = fromIso ? Date.parse(fromIso) : to - 86400_000
  const span = Math.max(60, (to - from) / 1000)
  const steps: [string, number][] = [
    ['1m', 60],
    ['5m', 300],
    ['15m', 900],
    ['1h', 3600],
    ['6h', 21600],
    ['1d', 86400],
  ]
  for (const [name, secs] of steps) {
    if (span / secs <= 200) return name
  }
  return '1d'
}

/** The first value of a route query parameter. */
export function queryOne(v: unknown): string {
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : ''
  return typeof v === 'string' ? v : ''
}

/** Every value of a route query parameter. */
export function queryAll(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  return typeof v === 'string' && v !== '' ? [v] : []
}
