// The asset screens' logic (no Vue): the shapes the node answers on /api/v1/assets/*, the
// labels of 等保 levels, exposure and finding statuses in both languages, the queries of the
// filters, where a refused row or element is, what an import did, which lifecycle moves a
// finding allows and the body each sends, and the roll-up's rows.

export type Lang = 'zh' | 'en'
export type Exposure = 'internet' | 'internal'
export type FindingStatus = 'open' | 'fixing' | 'fixed' | 'risk_accepted'

export const FINDING_STATUSES: FindingStatus[] = ['open', 'fixing', 'fixed', 'risk_accepted']
/** Severities in the order of the API's counts (`Severity::ALL`: informational … critical). */
export const SEVERITY_ORDER = ['informational', 'low', 'medium', 'high', 'critical'] as const
export const LEVELS = [1, 2, 3, 4, 5] as const

/** One information system (`assets::registry::System`). */
export interface System {
  id: string
  name: string
  region: string
  department: string
  ops_unit: string
  contacts: string[]
  level: number | null
  filing: string | null
  cii: boolean
  exposure: Exposure
  networks: NetValue[]
  hosts: string[]
  tags: string[]
}

/** A network as the node writes it: `10.1.2.0/24`, or `{addr, prefix}`. */
export type NetValue = string | { addr: string; prefix: number }

/** `10.1.2.0/24`; a single address without its prefix. */
export function netText(n: NetValue): string {
  if (typeof n === 'string') return n
  const single = n.addr.includes(':') ? n.prefix === 128 : n.prefix === 32
  return single ? n.addr : `${n.addr}/${n.prefix}`
}

/** A system as the systems list carries it. */
export interface SystemRow extends System {
  host_count: number
  open_findings: number
  overdue: number
}

/** The system a host or finding belongs to (`SystemRef`). */
export interface SystemRef {
  id: string
  name: string
  region: string
  department: string
  ops_unit: string
  level: number | null
  cii: boolean
  exposure: Exposure
}

export interface Service {
  port: number
  protocol: string
  name?: string | null
  product?: string | null
  version?: string | null
}

export interface FindingEvent {
  at: string
  actor: string
  status: FindingStatus
  note?: string | null
}

export interface Finding {
  id: string
  host: string
  scanner: string
  kind: 'vulnerability' | 'baseline'
  key: string
  port?: number | null
  protocol?: string | null
  cves: string[]
  cvss?: number | null
  cvss_vector?: string | null
  severity: string
  title: string
  detail: string
  solution?: string | null
  status: FindingStatus
  first_found: string
  last_found: string
  deadline: string
  fixed_at?: string | null
  accepted_reason?: string | null
  accepted_until?: string | null
  history: FindingEvent[]
  /** In the findings list: past its deadline now. */
  overdue?: boolean
  system?: SystemRef | null
}

export interface HostView {
  key: string
  address: string | null
  names: string[]
  system: SystemRef | null
  region: string
  ports: Service[]
  open_findings: Finding[]
  overdue: number
  last_scan: string | null
  /** `GET /api/v1/assets/hosts/{key}` only: every finding, any status. */
  findings?: Finding[]
}

/**
 * `GET /api/v1/assets/systems/{id}`: the system with its hosts as views (the answer's `hosts`
 * replaces the system's host names, which the views carry).
 */
export interface SystemDetail extends Omit<System, 'hosts'> {
  hosts: (HostView | string)[]
}

/** The host views of a system's detail, and the registered names no view carries. */
export function detailHosts(d: SystemDetail): { views: HostView[]; names: string[] } {
  const views = d.hosts.filter((h): h is HostView => typeof h === 'object' && h !== null)
  const covered = new Set(views.flatMap((v) => [v.key, ...v.names]))
  const names = d.hosts.filter((h): h is string => typeof h === 'string' && !covered.has(h))
  return { views, names }
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export type Place =
  | { kind: 'row'; row: number; column?: string | null }
  | { kind: 'element'; path: string; line?: number | null }
  | { kind: 'line'; line: number }
  | { kind: 'file' }

export interface Refusal {
  place: Place
  reason: string
}

/** The answer of `POST /api/v1/assets/import`. */
export interface ImportResult {
  format: string
  kind: 'scan' | 'registry'
  registry: { rows: number; added: number; updated: number; unchanged: number; removed: number } | null
  scan: {
    scanner: string
    at: string
    hosts: number
    ports: number
    new: number
    again: number
    reopened: number
    fixed: number
  } | null
  refused: Refusal[]
}

export interface ExposedHost {
  address: string
  host?: string | null
  system?: string | null
  region: string
  last_seen?: string | null
  seen_by?: string | null
}

export interface ExposureReport {
  at: string | null
  unknown: ExposedHost[]
  silent: ExposedHost[]
  silent_hours: number
}

export interface Summary {
  systems: number
  by_level: number[]
  cii: number
  internet: number
  hosts: number
  open_findings: number[]
  overdue: number
  unknown: number
  silent: number
}

export interface RollupRow {
  region: string
  department: string
  systems_by_level: number[]
  cii_systems: number
  internet_systems: number
  hosts: number
  open_findings: number[]
  overdue: number
  unknown_hosts: number
  silent_hosts: number
}

export interface AssetRollup {
  region: string
  at: string
  rows: RollupRow[]
}

export interface ChildRollup {
  node: string
  via: string
  received: string
  rollup: AssetRollup
}

export interface RollupAnswer {
  own: AssetRollup | null
  children: ChildRollup[]
}

/** What an alert hit (`Alert::target`, `Incident::targets`). */
export interface AlertTarget {
  value: string
  host?: string | null
  system_id: string
  system: string
  region: string
  department: string
  ops_unit?: string
  level?: number | null
  cii?: boolean
  exposure: Exposure
  open_cves?: string[]
}

const LEVEL_ZH = ['未定级', '一级', '二级', '三级', '四级', '五级']

/** 等保 level: `三级` / `Level 3`; none: `未定级` / `not filed`. */
export function levelLabel(level: number | null | undefined, lang: Lang): string {
  if (level === null || level === undefined || !Number.isInteger(level) || level < 1 || level > 5) {
    return lang === 'zh' ? LEVEL_ZH[0] : 'not filed'
  }
  return lang === 'zh' ? LEVEL_ZH[level] : `Level ${level}`
}

export function exposureLabel(e: string | null | undefined, lang: Lang): string {
  if (e === 'internet') return lang === 'zh' ? '互联网' : 'Internet'
  if (e === 'internal') return lang === 'zh' ? '内网' : 'Internal'
  return e ?? '—'
}

const STATUS_ZH: Record<FindingStatus, string> = {
  open: '未修复',
  fixing: '整改中',
  fixed: '已修复',
  risk_accepted: '已接受风险',
}
const STATUS_EN: Record<FindingStatus, string> = {
  open: 'Open',
  fixing: 'Fixing',
  fixed: 'Fixed',
  risk_accepted: 'Risk accepted',
}

export function statusLabel(s: string, lang: Lang): string {
  const t = lang === 'zh' ? STATUS_ZH : STATUS_EN
  return t[s as FindingStatus] ?? s
}

const SCANNER_LABEL: Record<string, string> = {
  nmap: 'Nmap',
  greenbone: 'Greenbone',
  csv: 'CSV',
  openscap: 'OpenSCAP',
  xccdf: 'OpenSCAP XCCDF',
  lynis: 'Lynis',
  findings_csv: 'CSV',
  registry_xlsx: 'Excel (.xlsx)',
  registry_csv: 'CSV',
}

/** A scanner's or format's name as people write it (`openscap` → `OpenSCAP`). */
export function scannerLabel(s: string): string {
  return SCANNER_LABEL[s] ?? s
}

/** Where a refusal is: `第 3 行，列「等保级别」` / `row 3, column "等保级别"`. */
export function placeText(p: Place, lang: Lang): string {
  const zh = lang === 'zh'
  switch (p.kind) {
    case 'row':
      if (p.column) return zh ? `第 ${p.row} 行，列「${p.column}」` : `row ${p.row}, column "${p.column}"`
      return zh ? `第 ${p.row} 行` : `row ${p.row}`
    case 'element':
      if (p.line) return zh ? `元素 ${p.path}（第 ${p.line} 行）` : `element ${p.path} (line ${p.line})`
      return zh ? `元素 ${p.path}` : `element ${p.path}`
    case 'line':
      return zh ? `第 ${p.line} 行` : `line ${p.line}`
    case 'file':
      return zh ? '整个文件' : 'the file'
    default:
      return '—'
  }
}

/** The figures of an import's answer, in the order shown: `[key, value]` (keys are message keys). */
export function importFigures(r: ImportResult): [string, number][] {
  if (r.registry) {
    const g = r.registry
    return [
      ['rows', g.rows],
      ['added', g.added],
      ['updated', g.updated],
      ['unchanged', g.unchanged],
      ['removed', g.removed],
      ['refused', r.refused.length],
    ]
  }
  if (r.scan) {
    const s = r.scan
    const out: [string, number][] = [['hosts', s.hosts]]
    if (r.scan.scanner === 'nmap' || s.ports > 0) out.push(['ports', s.ports])
    out.push(['new', s.new], ['again', s.again], ['reopened', s.reopened], ['fixed', s.fixed])
    return out
  }
  return [['refused', r.refused.length]]
}

/** Refusals ordered by where they are (rows by number, then the rest as given). */
export function sortedRefusals(r: ImportResult): Refusal[] {
  const rank = (p: Place) => (p.kind === 'row' ? p.row : p.kind === 'line' ? p.line : Number.MAX_SAFE_INTEGER)
  return r.refused
    .map((x, i) => ({ x, i }))
    .sort((a, b) => rank(a.x.place) - rank(b.x.place) || a.i - b.i)
    .map(({ x }) => x)
}

/** A lifecycle action a user may take on a finding. */
export type Move = 'fixing' | 'risk_accepted' | 'open'

/**
 * The moves a finding in `status` allows (the node still decides): open → fixing or risk
 * accepted; fixing → risk accepted or back to open; risk accepted → open again; a fixed
 * finding only changes when a scan finds it again.
 */
export function movesOf(status: string): Move[] {
  switch (status) {
    case 'open':
      return ['fixing', 'risk_accepted']
    case 'fixing':
      return ['risk_accepted', 'open']
    case 'risk_accepted':
      return ['open']
    default:
      return []
  }
}

export interface MoveForm {
  note: string
  reason: string
  /** `YYYY-MM-DD` from a date input (local time, end of that day). */
  until: string
}

export type MoveBody =
  | { status: 'fixing'; note?: string }
  | { status: 'open'; note?: string }
  | { status: 'risk_accepted'; reason: string; until: string }

/**
 * The `StatusChange` body of `move` with `form`, or the problem (a message key) that keeps it
 * from being sent: a risk needs a reason and an expiry after `now`.
 */
export function moveBody(move: Move, form: MoveForm, now: Date = new Date()): { body: MoveBody } | { problem: string } {
  if (move === 'risk_accepted') {
    const reason = form.reason.trim()
    if (!reason) return { problem: 'need_reason' }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(form.until)) return { problem: 'need_until' }
    const [y, mo, d] = form.until.split('-').map(Number)
    const until = new Date(y, mo - 1, d, 23, 59, 59)
    if (Number.isNaN(until.getTime()) || until.getMonth() !== mo - 1) return { problem: 'need_until' }
    if (until.getTime() <= now.getTime()) return { problem: 'until_past' }
    return { body: { status: 'risk_accepted', reason, until: until.toISOString() } }
  }
  const note = form.note.trim()
  return { body: note ? { status: move, note } : { status: move } }
}

/** Open findings by severity, most severe first, without the zeros: `[severity, n]`. */
export function severityCounts(findings: Finding[]): [string, number][] {
  const n = new Map<string, number>()
  for (const f of findings) n.set(f.severity, (n.get(f.severity) ?? 0) + 1)
  return [...SEVERITY_ORDER].reverse().filter((s) => n.has(s)).map((s) => [s, n.get(s) ?? 0])
}

/** A port as the hosts table shows it: `443/tcp nginx 1.22.1`. */
export function serviceText(s: Service): string {
  const what = [s.product, s.version].filter(Boolean).join(' ') || s.name || ''
  return `${s.port}/${s.protocol}${what ? ` ${what}` : ''}`
}

export interface SystemFilters {
  q: string
  region: string
  department: string
  level: string
  cii: string
  exposure: string
}

export interface FindingFilters {
  status: string
  severity: string
  overdue: boolean
  cve: string
  host: string
}

function clean(q: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(q)) if (v.trim() !== '') out[k] = v.trim()
  return out
}

/** The query of `GET /api/v1/assets/systems` (empty filters left out). */
export function systemQuery(f: SystemFilters, limit: number, cursor: string | null): Record<string, string> {
  return clean({ ...f, limit: String(limit), cursor: cursor ?? '' })
}

/** The query of `GET /api/v1/assets/findings`; a CVE is sent upper-cased. */
export function findingQuery(f: FindingFilters, limit: number, cursor: string | null): Record<string, string> {
  return clean({
    status: f.status,
    severity: f.severity,
    overdue: f.overdue ? 'true' : '',
    cve: f.cve.toUpperCase(),
    host: f.host,
    limit: String(limit),
    cursor: cursor ?? '',
  })
}

/** The line a `target_vulnerable` timeline entry reads as. */
export function targetVulnerableText(e: Record<string, unknown>, lang: Lang): string {
  const target = String(e.target ?? '—')
  const cve = String(e.cve ?? '—')
  const system = e.system ? String(e.system) : ''
  if (lang === 'zh') return `目标 ${target}${system ? `（${system}）` : ' '}存在未修复漏洞 ${cve}`
  return `target ${target}${system ? ` (${system})` : ''} has open ${cve}`
}

/** An incident's targets without repeats (the same value and system once). */
export function uniqueTargets(ts: AlertTarget[] | null | undefined): AlertTarget[] {
  const seen = new Set<string>()
  const out: AlertTarget[] = []
  for (const t of ts ?? []) {
    const k = `${t.system_id}|${t.value}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(t)
  }
  return out
}

/** One line of the children's roll-up table. */
export interface RollupLine extends RollupRow {
  node: string
  received: string
  systems: number
  open: number
}

/**
 * The children's roll-ups as one table: a line per child, region and department, ordered by
 * region then department; `systems` and `open` are the rows' totals.
 */
export function rollupLines(children: ChildRollup[]): RollupLine[] {
  const out: RollupLine[] = []
  for (const c of children) {
    for (const r of c.rollup.rows) {
      out.push({
        ...r,
        node: c.node,
        received: c.received,
        systems: r.systems_by_level.reduce((a, b) => a + b, 0),
        open: r.open_findings.reduce((a, b) => a + b, 0),
      })
    }
  }
  return out.sort((a, b) => a.region.localeCompare(b.region) || a.department.localeCompare(b.department))
}

/** The total of the high and critical counts of a `[5 by severity]` array. */
export function highAndCritical(counts: number[] | null | undefined): number {
  return (counts?.[3] ?? 0) + (counts?.[4] ?? 0)
}
