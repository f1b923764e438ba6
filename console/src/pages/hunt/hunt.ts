// Hunting through uploaded files (POST /api/v1/hunt): the answer's shape, the results of
// several files merged into one summary, one by-rule table and one hit list, and the hits
// as CSV (UTF-8 with a BOM, CRLF, formulas defused, as the node's exports). No imports at
// run time: the node tests load this file on its own.

export type Level = 'informational' | 'low' | 'medium' | 'high' | 'critical'

/** Most severe first, as the console lists severities. */
export const LEVELS: Level[] = ['critical', 'high', 'medium', 'low', 'informational']

export interface HuntAlert {
  id: string
  time: string
  rule: { id: string; title: string; level: string; tags?: string[] }
  severity: string
  entities: { kind: string; value: string }[]
  region: string
  matched?: { field: string; value: string; selection?: string }[]
}

export interface HuntEvent {
  id: string
  time: string
  region: string
  format: string
  fields: Record<string, unknown>
  raw: string
  parse_error: string | null
}

export interface HuntHit {
  position: string
  alert: HuntAlert
  event: HuntEvent
}

/** The node's answer for one file. */
export interface HuntAnswer {
  file: string
  format: string
  bytes: number
  events: number
  parse_errors: number
  read_errors: { at: string; error: string }[]
  elapsed_ms: number
  by_rule: { rule_id: string; title: string; level: string; count: number }[]
  by_level: Record<string, number>
  hits: HuntHit[]
  truncated: boolean
}

export type FileState = 'waiting' | 'reading' | 'done' | 'error'

/** One file of the batch and where its hunt is. */
export interface HuntFile {
  key: string
  name: string
  size: number
  state: FileState
  /** The server's message when the hunt failed. */
  error?: string
  answer?: HuntAnswer
}

export interface Summary {
  files: number
  done: number
  failed: number
  events: number
  parseErrors: number
  readErrors: number
  hits: number
  byLevel: Record<Level, number>
  truncated: boolean
}

/** Totals over every file hunted so far. */
export function summarize(files: HuntFile[]): Summary {
  const byLevel = { critical: 0, high: 0, medium: 0, low: 0, informational: 0 }
  const s: Summary = { files: files.length, done: 0, failed: 0, events: 0, parseErrors: 0, readErrors: 0, hits: 0, byLevel, truncated: false }
  for (const f of files) {
    if (f.state === 'error') s.failed++
    const a = f.answer
    if (!a) continue
    s.done++
    s.events += a.events
    s.parseErrors += a.parse_errors
    s.readErrors += a.read_errors.length
    for (const l of LEVELS) {
      const n = a.by_level[l] ?? 0
      byLevel[l] += n
      s.hits += n
    }
    s.truncated ||= a.truncated
  }
  return s
}

export interface RuleRow {
  ruleId: string
  title: string
  level: string
  count: number
  /** Names of the files it hit in. */
  files: string[]
}

function levelRank(l: string): number {
  const i = LEVELS.indexOf(l as Level)
  return i < 0 ? LEVELS.length : i
}

/** The rules hit in any file: counts added up, most hits first, then most severe, then id. */
export function mergeRules(files: HuntFile[]): RuleRow[] {
  const rows = new Map<string, RuleRow>()
  for (const f of files) {
    for (const r of f.answer?.by_rule ?? []) {
      const row = rows.get(r.rule_id)
      if (row) {
        row.count += r.count
        if (!row.files.includes(f.name)) row.files.push(f.name)
        if (levelRank(r.level) < levelRank(row.level)) row.level = r.level
      } else {
        rows.set(r.rule_id, { ruleId: r.rule_id, title: r.title, level: r.level, count: r.count, files: [f.name] })
      }
    }
  }
  return [...rows.values()].sort(
    (a, b) => b.count - a.count || levelRank(a.level) - levelRank(b.level) || a.ruleId.localeCompare(b.ruleId),
  )
}

/** One row of the hit table. */
export interface HitRow {
  key: string
  file: string
  position: string
  time: string
  level: string
  ruleId: string
  title: string
  host: string
  user: string
  hit: HuntHit
}

const HOST_FIELDS = ['host.name', 'Event.System.Computer', 'winlog.computer_name', 'Computer', 'hostname']
const USER_FIELDS = [
  'user.name',
  'Event.EventData.TargetUserName',
  'Event.EventData.SubjectUserName',
  'winlog.event_data.TargetUserName',
  'winlog.event_data.SubjectUserName',
  'TargetUserName',
  'SubjectUserName',
]

function text(v: unknown): string {
  if (v === null || v === undefined) return ''
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

function firstOf(hit: HuntHit, kind: string, fields: string[]): string {
  const e = hit.alert.entities?.find((x) => x.kind === kind)
  if (e) return e.value
  for (const f of fields) {
    const v = text(hit.event.fields?.[f])
    if (v) return v
  }
  return ''
}

/** The hits of every file, in file order then as the node found them; only `ruleId`'s when given. */
export function hitRows(files: HuntFile[], ruleId = ''): HitRow[] {
  const out: HitRow[] = []
  for (const f of files) {
    for (const [i, hit] of (f.answer?.hits ?? []).entries()) {
      if (ruleId && hit.alert.rule.id !== ruleId) continue
      out.push({
        key: `${f.key}#${i}`,
        file: f.name,
        position: hit.position,
        time: hit.event.time || hit.alert.time,
        level: hit.alert.severity,
        ruleId: hit.alert.rule.id,
        title: hit.alert.rule.title,
        host: firstOf(hit, 'host', HOST_FIELDS),
        user: firstOf(hit, 'user', USER_FIELDS),
        hit,
      })
    }
  }
  return out
}

/** A CSV cell: quoted when it holds a comma, quote or line end; a would-be formula defused
 * (as `ui-api/src/export.rs` writes its cells). */
export function csvCell(cell: string): string {
  const formula = /^[=+\-@\t\r]/.test(cell) && Number.isNaN(Number(cell))
  const quoted = formula || /[,"\r\n]/.test(cell)
  const body = (formula ? "'" : '') + cell.replace(/"/g, '""')
  return quoted ? `"${body}"` : body
}

export const CSV_COLUMNS = ['time', 'level', 'rule_id', 'rule', 'host', 'user', 'file', 'position', 'matched', 'raw']

/** The hits as CSV: a BOM, the header, one CRLF-ended line per hit. */
export function hitsCsv(rows: HitRow[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const r of rows) {
    const matched = (r.hit.alert.matched ?? []).map((m) => `${m.field}=${m.value}`).join('; ')
    const cells = [r.time, r.level, r.ruleId, r.title, r.host, r.user, r.file, r.position, matched, r.hit.event.raw ?? '']
    lines.push(cells.map((c) => csvCell(text(c))).join(','))
  }
  return '\uFEFF' + lines.map((l) => l + '\r\n').join('')
}

/** A file size as people read it. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
