// The anomaly screen's logic (no Vue, no imports at run time, so node tests load it alone):
// the shapes the node answers on /api/v1/anomaly/*, the kinds' labels, a detector's learning
// progress, the expected band and observed value as text, the score's bar, sizes and spans.

export type Lang = 'zh' | 'en'

export const KINDS = ['volume', 'first_seen', 'rare', 'outlier', 'time_of_day'] as const
export type AnomalyKind = (typeof KINDS)[number]

/** One `group-by` field and its value for the group that fired. */
export interface GroupField {
  field: string
  value: string
}

/** What an alert raised by a detector carries (`Alert::anomaly`, `model/src/anomaly.rs`). */
export interface AlertAnomaly {
  detector: string
  kind: string
  group?: GroupField[]
  observed: string
  observed_value?: number | null
  expected: string
  expected_low?: number | null
  expected_high?: number | null
  score: number
  baseline_secs: number
  explanation: string
  explanation_zh: string
}

export interface Counters {
  entries_evicted: number
  groups_evicted: number
  findings: number
}

/** A detector's running state (`DetectorStatus`, `anomaly/src/set.rs`). */
export interface DetectorStatus {
  id?: string
  kind?: string
  learning: boolean
  learning_until?: string | null
  first_seen?: string | null
  watermark?: string | null
  groups: number
  max_groups: number
  observed: number
  alerts: number
  state_bytes: number
  counters: Counters
}

/** A loaded detector (`DetectorInfo`) with its state, as `GET /api/v1/anomaly/detectors` lists it. */
export interface Detector {
  id: string
  title: string
  description?: string | null
  level: string
  tags: string[]
  kind: string
  path: string
  group_by: string[]
  field: string[]
  learning_secs: number
  max_groups: number
  max_entries: number
  status?: DetectorStatus | null
}

export interface CalendarInfo {
  utc_offset_secs: number
  known_years: number[]
}

export interface DetectorList {
  /** `[anomaly] enabled` on the node. */
  enabled?: boolean
  detectors: Detector[]
  calendar?: CalendarInfo | null
}

/** One detector with its latest alerts (`GET /api/v1/anomaly/detectors/{id}`). */
export interface DetectorDetail<A> extends Detector {
  recent: A[]
}

const KIND_LABEL: Record<AnomalyKind, { zh: string; en: string }> = {
  volume: { zh: '流量', en: 'Volume' },
  first_seen: { zh: '首次出现', en: 'First seen' },
  rare: { zh: '罕见', en: 'Rare' },
  outlier: { zh: '离群', en: 'Outlier' },
  time_of_day: { zh: '时段', en: 'Time of day' },
}

/** A kind's label in `lang`; an unknown kind is shown as the API names it. */
export function kindLabel(kind: string, lang: Lang): string {
  return (KIND_LABEL as Record<string, { zh: string; en: string }>)[kind]?.[lang] ?? kind
}

/** The explanation in `lang` (Chinese first; the English one when the Chinese is missing). */
export function sentence(a: AlertAnomaly, lang: Lang): string {
  if (lang === 'zh' && a.explanation_zh?.trim()) return a.explanation_zh
  return a.explanation || a.explanation_zh || ''
}

/** A number as shown: integers plain, others with at most two decimals, no trailing zeros. */
export function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Number.isInteger(n)) return String(n)
  const abs = Math.abs(n)
  const digits = abs >= 100 ? 0 : abs >= 1 ? 1 : 2
  return String(Number(n.toFixed(digits)))
}

/** The expected band: its numeric ends when the alert has them (`3–12`), else its text. */
export function bandText(a: Pick<AlertAnomaly, 'expected' | 'expected_low' | 'expected_high'>): string {
  const lo = a.expected_low
  const hi = a.expected_high
  const has = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x)
  if (has(lo) && has(hi)) return lo === hi ? numberText(lo) : `${numberText(lo)}–${numberText(hi)}`
  if (has(lo)) return `≥ ${numberText(lo)}`
  if (has(hi)) return `≤ ${numberText(hi)}`
  return a.expected || '—'
}

/**
 * Where the observed value lies against the band: `above`, `below`, `inside`, or `unknown`
 * when either is not numeric (a new network, an hour of the day as text).
 */
export function sideOfBand(a: Pick<AlertAnomaly, 'observed_value' | 'expected_low' | 'expected_high'>): 'above' | 'below' | 'inside' | 'unknown' {
  const v = a.observed_value
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'unknown'
  const lo = a.expected_low
  const hi = a.expected_high
  if (typeof hi === 'number' && v > hi) return 'above'
  if (typeof lo === 'number' && v < lo) return 'below'
  if (typeof lo === 'number' || typeof hi === 'number') return 'inside'
  return 'unknown'
}

/** The score's bar: width in percent (0–100) and its colour by how far outside it is. */
export function scoreBar(score: number): { width: number; color: string; level: 'low' | 'mid' | 'high' } {
  const s = Number.isFinite(score) ? Math.min(100, Math.max(0, score)) : 0
  const level = s >= 80 ? 'high' : s >= 50 ? 'mid' : 'low'
  const color = level === 'high' ? '#c62828' : level === 'mid' ? '#e07b00' : '#c9a400'
  return { width: Math.round(s), color, level }
}

/** The group as one line: `user=zhangsan · src=10.0.0.0/24`; empty group → `null`. */
export function groupText(group: GroupField[] | null | undefined): string | null {
  if (!group || group.length === 0) return null
  return group.map((g) => `${g.field}=${g.value}`).join(' · ')
}

/** A span of seconds in the largest whole units that fit: `30 天`, `2 h 30 min`, `45 s`. */
export function spanText(secs: number, lang: Lang): string {
  const s = Math.max(0, Math.round(secs))
  const units: [number, string, string][] = [
    [86_400, ' 天', 'd'],
    [3_600, ' 小时', 'h'],
    [60, ' 分钟', 'min'],
    [1, ' 秒', 's'],
  ]
  const parts: string[] = []
  let rest = s
  for (const [size, zh, en] of units) {
    if (parts.length === 2) break
    const n = Math.floor(rest / size)
    if (n > 0 || (size === 1 && parts.length === 0)) {
      parts.push(lang === 'zh' ? `${n}${zh}` : `${n} ${en}`)
      rest -= n * size
    } else if (parts.length > 0) {
      break
    }
  }
  return parts.join(' ')
}

/** Bytes as `812 B`, `12.4 KB`, `3.1 MB` (powers of 1024). */
export function bytesText(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n || 0))} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))} ${units[i]}`
}

export interface Learning {
  /** `waiting`: no event yet; `learning`: baselines grow; `active`: it reports. */
  state: 'waiting' | 'learning' | 'active'
  /** 0 to 1 of the learning period done (by event time: the watermark's distance). */
  fraction: number
  /** Event-time seconds still to learn (0 once active). */
  remaining_secs: number
}

/**
 * A detector's learning progress. Learning is measured in event time: from its first event
 * (`learning_until - learning_secs`) to `learning_until`, read at the watermark.
 */
export function learningProgress(d: Pick<Detector, 'learning_secs' | 'status'>): Learning {
  const st = d.status
  if (!st) return { state: 'waiting', fraction: 0, remaining_secs: Math.max(0, d.learning_secs) }
  if (!st.learning) return { state: 'active', fraction: 1, remaining_secs: 0 }
  const until = Date.parse(st.learning_until ?? '')
  const mark = Date.parse(st.watermark ?? '')
  if (Number.isNaN(until) || Number.isNaN(mark)) {
    return { state: 'waiting', fraction: 0, remaining_secs: Math.max(0, d.learning_secs) }
  }
  const remaining = Math.max(0, (until - mark) / 1000)
  const fraction = d.learning_secs > 0 ? Math.min(1, Math.max(0, 1 - remaining / d.learning_secs)) : 1
  return { state: 'learning', fraction, remaining_secs: Math.round(remaining) }
}

/** Groups against the bound, as `n / max` and the share (0–1) to draw. */
export function groupsOf(st: Pick<DetectorStatus, 'groups' | 'max_groups'> | null | undefined): { text: string; share: number } {
  if (!st) return { text: '—', share: 0 }
  const share = st.max_groups > 0 ? Math.min(1, st.groups / st.max_groups) : 0
  return { text: `${st.groups} / ${st.max_groups}`, share }
}

/** All evictions of a detector (entries inside groups and whole groups). */
export function evictions(st: Pick<DetectorStatus, 'counters'> | null | undefined): number {
  if (!st?.counters) return 0
  return (st.counters.entries_evicted ?? 0) + (st.counters.groups_evicted ?? 0)
}

/** Detectors in the order the table shows them: by kind (as `KINDS` lists them), then id. */
export function sortDetectors<D extends Pick<Detector, 'kind' | 'id'>>(ds: D[]): D[] {
  const rank = (k: string) => {
    const i = (KINDS as readonly string[]).indexOf(k)
    return i < 0 ? KINDS.length : i
  }
  return [...ds].sort((a, b) => rank(a.kind) - rank(b.kind) || a.id.localeCompare(b.id))
}

export interface AnomalyFilters {
  detector: string
  kind: string
}

/** The query of `GET /api/v1/anomaly/alerts` (empty filters left out). */
export function anomalyQuery(f: AnomalyFilters, limit: number, cursor: string | null): Record<string, string> {
  const q: Record<string, string> = { limit: String(limit) }
  if (f.detector.trim()) q.detector = f.detector.trim()
  if (f.kind) q.kind = f.kind
  if (cursor) q.cursor = cursor
  return q
}

/** A detector file's path as shown: its folder and name (`…/ssh/new_network.yml`); the whole
 * path goes in the title. */
export function shortPath(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean)
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : path
}

/** The calendar as one line: `UTC+08:00 · 2025, 2026`. */
export function calendarText(c: CalendarInfo | null | undefined): string | null {
  if (!c) return null
  const off = c.utc_offset_secs
  const sign = off < 0 ? '-' : '+'
  const a = Math.abs(off)
  const p = (n: number) => String(n).padStart(2, '0')
  const zone = `UTC${sign}${p(Math.floor(a / 3600))}:${p(Math.floor((a % 3600) / 60))}`
  return `${zone} · ${c.known_years.length ? c.known_years.join(', ') : '—'}`
}
