// The supervision screens' logic (no Vue, no imports): the shapes the node answers on
// /api/v1/{bulletins,periods,duty,reports,drills}, the labels of warning levels, copy states,
// steps and drill states in both languages, the deadline countdown, which steps a copy
// allows and the body each sends, the statistics' rates, the slot grid of a 重保 period, and
// the drill scoreboard's rows.

export type Lang = 'zh' | 'en'
export type WarningLevel = 'red' | 'orange' | 'yellow' | 'blue'
export type BulletinKind = 'notice' | 'rectification'
export type CopyState = 'issued' | 'signed' | 'answered' | 'submitted' | 'returned' | 'accepted'
export type DeadlineKind = 'sign' | 'answer' | 'rectify'
export type StepName = 'sign' | 'answer' | 'rectify' | 'review'
export type DrillState = 'planned' | 'running' | 'ended'

export const LEVELS: WarningLevel[] = ['red', 'orange', 'yellow', 'blue']
export const KINDS: BulletinKind[] = ['notice', 'rectification']
export const COPY_STATES: CopyState[] = ['issued', 'signed', 'answered', 'submitted', 'returned', 'accepted']

/** A recipient: a region's team, or a department of a region. */
export interface Recipient {
  region: string
  department?: string | null
}

export interface Attachment {
  name: string
  media_type: string
  size: number
  sha256: string
}

/** One step on a copy (`model::supervise::Step`, its kind flattened under `step`). */
export interface Step {
  id: string
  bulletin: string
  recipient: Recipient
  step: StepName
  affected?: boolean
  text?: string
  attachments?: Attachment[]
  accepted?: boolean
  reason?: string
  by: string
  node_region: string
  at: string
}

export interface Bulletin {
  id: string
  issuer: string
  issuer_node: string
  title: string
  level: WarningLevel
  kind: BulletinKind
  body: string
  cves: string[]
  indicators: string[]
  incidents: string[]
  deadlines: { sign: string; answer: string; rectify?: string | null }
  recipients: Recipient[]
  period?: string | null
  by: string
  issued: string
}

/** One recipient's copy (`supervise::bulletin::Copy`, with the API's `due` and `done`). */
export interface Copy {
  recipient: Recipient
  state: CopyState
  signed?: string
  answered?: string
  affected?: boolean
  submitted?: string
  accepted?: string
  returned: number
  overdue: DeadlineKind[]
  steps: Step[]
  due?: { kind: DeadlineKind; at: string } | null
  done?: boolean
}

export interface BulletinView {
  bulletin: Bulletin
  copies: Copy[]
  issued_here: boolean
}

export interface RecipientStats {
  recipient: Recipient | null
  name: string
  bulletins: number
  signed: number
  signed_on_time: number
  answered: number
  answered_on_time: number
  rectifications: number
  rectified_on_time: number
  accepted: number
  returned: number
  overdue: number
}

export interface Period {
  id: string
  name: string
  regions: string[]
  start: string
  end: string
  sla_factor: number
  report_every_mins: number
  grace_mins: number
  issuer: string
  by: string
  created: string
  cancelled?: string | null
  active?: boolean
}

export interface SlotStatus {
  region: string
  slot: string
  received?: string
  late: boolean
  missing: boolean
}

export interface Lesson {
  id: string
  period: string
  region: string
  by: string
  at: string
  text: string
}

export interface OnDuty {
  name: string
  user?: string | null
  phone: string
  email: string
  role: 'leader' | 'member'
}

export interface Shift {
  id: string
  region: string
  start: string
  end: string
  people: OnDuty[]
  note: string
}

export interface DutyNow {
  region: string
  at: string
  on_duty: OnDuty[]
  shift?: Shift | null
}

export interface Handover {
  id: string
  region: string
  from_shift?: string | null
  to_shift?: string | null
  open_incidents: string[]
  pending_bulletins: string[]
  notes: string
  handed_by: string
  handed_at: string
  taken_by?: string | null
  taken_at?: string | null
}

export interface PlannedAction {
  id: string
  name: string
  at_secs: number
  technique?: string | null
  region?: string | null
}

export interface Drill {
  id: string
  name: string
  regions: string[]
  start: string
  end: string
  mode: 'scenario' | 'live'
  red_team: string[]
  actions: PlannedAction[]
  issuer: string
  by: string
  created: string
  started?: string | null
  state?: DrillState
}

export interface ActionScore {
  action: string
  name: string
  executed: string
  detected?: string
  responded?: string
  detect_secs?: number
  respond_secs?: number
  missed: boolean
  alerts: number
  expected_matched: boolean
}

export interface DrillReport {
  drill: Drill
  actions: ActionScore[]
  detected: number
  missed: number
  mean_detect_secs: number | null
  mean_respond_secs: number | null
  score: number
  generated: string
}

export interface Count {
  key: string
  label: string
  count: number
}

/** The figures of a periodic report the console shows (`supervise::report::PeriodicReport`). */
export interface PeriodicReport {
  span: { kind: string; label: string; from: string; to: string }
  region_name: string
  generated: string
  incidents: number
  incidents_by_grade: Count[]
  incidents_by_category: Count[]
  mtta_secs: number | null
  mttr_secs: number | null
  sla_met: number
  sla_total: number
  alerts: number
  bulletins_issued: number
  top_attackers: Count[]
  top_rules: Count[]
  scores: { region: string; name: string; score: number }[]
  drill_alerts_excluded: number
  drill_incidents_excluded: number
}

export interface KeptReport {
  kind: string
  label: string
  region: string
  department?: string | null
  title: string
  generated: string
}

const LEVEL_ZH: Record<WarningLevel, string> = { red: '红色预警', orange: '橙色预警', yellow: '黄色预警', blue: '蓝色预警' }
const LEVEL_EN: Record<WarningLevel, string> = { red: 'Red', orange: 'Orange', yellow: 'Yellow', blue: 'Blue' }
const LEVEL_COLOR: Record<WarningLevel, string> = { red: '#c93434', orange: '#e07b22', yellow: '#d6a400', blue: '#2f6fc0' }

/** `红色预警` … in Chinese, `Red` … in English (the model's `WarningLevel::zh`). */
export function levelLabel(l: string, lang: Lang): string {
  const known = (LEVELS as string[]).includes(l)
  if (!known) return l
  return lang === 'zh' ? LEVEL_ZH[l as WarningLevel] : LEVEL_EN[l as WarningLevel]
}

/** The level's colour (the badge's background). */
export function levelColor(l: string): string {
  return LEVEL_COLOR[l as WarningLevel] ?? '#667485'
}

const KIND_ZH: Record<BulletinKind, string> = { notice: '通报预警', rectification: '整改通报' }
const KIND_EN: Record<BulletinKind, string> = { notice: 'Notice', rectification: 'Rectification' }

export function kindLabel(k: string, lang: Lang): string {
  const t = lang === 'zh' ? KIND_ZH : KIND_EN
  return t[k as BulletinKind] ?? k
}

const STATE_ZH: Record<CopyState, string> = {
  issued: '待签收',
  signed: '已签收',
  answered: '已反馈',
  submitted: '待复核',
  returned: '已退回',
  accepted: '已通过',
}
const STATE_EN: Record<CopyState, string> = {
  issued: 'To sign',
  signed: 'Signed',
  answered: 'Answered',
  submitted: 'Awaiting review',
  returned: 'Returned',
  accepted: 'Accepted',
}

/** A copy's state as people say it (`待签收` …). */
export function stateLabel(s: string, lang: Lang): string {
  const t = lang === 'zh' ? STATE_ZH : STATE_EN
  return t[s as CopyState] ?? s
}

const DEADLINE_ZH: Record<DeadlineKind, string> = { sign: '签收', answer: '反馈', rectify: '整改' }
const DEADLINE_EN: Record<DeadlineKind, string> = { sign: 'sign', answer: 'answer', rectify: 'rectify' }

export function deadlineLabel(k: string, lang: Lang): string {
  const t = lang === 'zh' ? DEADLINE_ZH : DEADLINE_EN
  return t[k as DeadlineKind] ?? k
}

/** A step's line in the copy's timeline: `签收`, `反馈：受影响 — 已排查`, `复核：退回 — 证据不足`. */
export function stepLine(s: Step, lang: Lang): string {
  const zh = lang === 'zh'
  const text = (t: string | undefined) => (t ? ` — ${t}` : '')
  switch (s.step) {
    case 'sign':
      return zh ? '签收' : 'Signed'
    case 'answer':
      return (zh ? `反馈：${s.affected ? '受影响' : '不受影响'}` : `Answered: ${s.affected ? 'affected' : 'not affected'}`) + text(s.text)
    case 'rectify': {
      const n = s.attachments?.length ?? 0
      const files = n > 0 ? (zh ? `（附件 ${n} 个）` : ` (${n} file${n > 1 ? 's' : ''})`) : ''
      return (zh ? '提交整改' : 'Rectification submitted') + files + text(s.text)
    }
    case 'review':
      return (zh ? `复核：${s.accepted ? '通过' : '退回'}` : `Reviewed: ${s.accepted ? 'accepted' : 'returned'}`) + text(s.reason)
    default:
      return String((s as { step: string }).step)
  }
}

/** `410100` or `410100/教育局` (the model's `Recipient` display). */
export function recipientKey(r: Recipient | null | undefined): string {
  if (!r) return '—'
  return r.department ? `${r.region}/${r.department}` : String(r.region)
}

/** A deadline seen at `now`: seconds left (negative past it), overdue, due within an hour. */
export interface Countdown {
  secs: number
  overdue: boolean
  soon: boolean
  text: string
}

/** `1天 02:03:04` / `1d 02:03:04` for a span of seconds (its absolute value). */
export function span(secs: number, lang: Lang): string {
  const s = Math.floor(Math.abs(secs))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const p = (n: number) => String(n).padStart(2, '0')
  const hms = `${p(h)}:${p(m)}:${p(s % 60)}`
  if (d === 0) return hms
  return lang === 'zh' ? `${d}天 ${hms}` : `${d}d ${hms}`
}

/** The countdown to `at` seen at `now` (ms since the epoch): `剩余 …` or `超期 …`. */
export function countdown(at: string, now: number, lang: Lang): Countdown {
  const t = Date.parse(at)
  if (Number.isNaN(t)) return { secs: 0, overdue: false, soon: false, text: at }
  const secs = Math.floor((t - now) / 1000)
  const overdue = t <= now
  const soon = !overdue && secs < 3600
  const text = overdue
    ? (lang === 'zh' ? `超期 ${span(secs, lang)}` : `overdue ${span(secs, lang)}`)
    : (lang === 'zh' ? `剩余 ${span(secs, lang)}` : `${span(secs, lang)} left`)
  return { secs, overdue, soon, text }
}

/**
 * What is due next on `copy`: the API's answer when it sent one (it always sends `done`, and
 * `due` only when something is due), else worked out from the state and the bulletin's
 * deadlines (the same rule as `Copy::due`). `null` once nothing is due from the recipient
 * (done, or waiting for the issuer's review).
 */
export function nextDue(b: Bulletin, c: Copy): { kind: DeadlineKind; at: string } | null {
  if (c.due !== undefined || c.done !== undefined) return c.due ?? null
  switch (c.state) {
    case 'issued':
      return { kind: 'sign', at: b.deadlines.sign }
    case 'signed':
      return { kind: 'answer', at: b.deadlines.answer }
    case 'answered':
    case 'returned':
      if (b.kind === 'rectification' && c.affected) {
        return { kind: 'rectify', at: b.deadlines.rectify ?? b.deadlines.answer }
      }
      return null
    default:
      return null
  }
}

/** Is nothing more due from anyone on `copy`? (the API's `done`, else the model's rule) */
export function isDone(b: Bulletin, c: Copy): boolean {
  if (c.done !== undefined) return c.done
  if (c.state === 'accepted') return true
  if (c.state === 'answered') return b.kind === 'notice' || c.affected === false
  return false
}

/**
 * The earliest deadline still open over the copies of `view` (the inbox's "next deadline"),
 * or `null` when every copy is done.
 */
export function earliestDue(view: BulletinView): { kind: DeadlineKind; at: string; recipient: Recipient } | null {
  let best: { kind: DeadlineKind; at: string; recipient: Recipient } | null = null
  for (const c of view.copies) {
    const d = nextDue(view.bulletin, c)
    if (d && (!best || Date.parse(d.at) < Date.parse(best.at))) best = { ...d, recipient: c.recipient }
  }
  return best
}

/** What the caller may do with a copy, given who holds the bulletin and the caller's role. */
export interface Who {
  /** The caller may sign, answer and rectify (analyst and up). */
  work: boolean
  /** The caller may review (responder and up). */
  direct: boolean
  /** The caller's department, when it has one. */
  department: string | null
}

/**
 * The steps `who` may take on `copy` of `view` (the server still decides): the recipient's
 * sign / answer / rectify on a copy this node holds as recipient (a bulletin from the parent,
 * or a department's copy of one issued here — a department caller only its own), the
 * issuer's review of a submitted rectification.
 */
export function stepsFor(view: BulletinView, copy: Copy, who: Who): StepName[] {
  const out: StepName[] = []
  const dept = copy.recipient.department ?? null
  const mine = !view.issued_here || dept !== null
  const ownDept = who.department === null || who.department === dept
  if (mine && who.work && ownDept) {
    if (copy.state === 'issued') out.push('sign')
    if (copy.state === 'signed') out.push('answer')
    if (
      view.bulletin.kind === 'rectification' &&
      copy.affected === true &&
      (copy.state === 'answered' || copy.state === 'returned')
    ) {
      out.push('rectify')
    }
  }
  if (view.issued_here && who.direct && who.department === null && copy.state === 'submitted') out.push('review')
  return out
}

/** A file as the rectify step sends it. */
export interface UploadFile {
  name: string
  media_type: string
  content_base64: string
}

/** A step's form as the user filled it. */
export interface StepForm {
  affected: boolean | null
  text: string
  accepted: boolean | null
  reason: string
}

/**
 * The body of `POST /api/v1/bulletins/{id}/{step}` for `copy`, or the message key of what is
 * missing. The recipient is named so an issuer node holding several departments' copies
 * knows whose it is.
 */
export function stepBody(
  step: StepName,
  copy: Copy,
  form: StepForm,
  files: UploadFile[] = [],
): { body: Record<string, unknown> } | { problem: string } {
  const recipient = copy.recipient.department
    ? { region: copy.recipient.region, department: copy.recipient.department }
    : { region: copy.recipient.region }
  switch (step) {
    case 'sign':
      return { body: { recipient } }
    case 'answer':
      if (form.affected === null) return { problem: 'need_affected' }
      if (!form.text.trim()) return { problem: 'need_text' }
      return { body: { recipient, affected: form.affected, text: form.text.trim() } }
    case 'rectify':
      if (!form.text.trim()) return { problem: 'need_text' }
      return { body: { recipient, text: form.text.trim(), attachments: files } }
    case 'review':
      if (form.accepted === null) return { problem: 'need_verdict' }
      if (!form.accepted && !form.reason.trim()) return { problem: 'need_reason' }
      return { body: { recipient, accepted: form.accepted, reason: form.reason.trim() } }
  }
}

/** Standard base64 of bytes (the rectify step's attachments). */
export function base64(bytes: Uint8Array): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
    out += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + abc[(n >> 6) & 63] + abc[n & 63]
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i] << 16
    out += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + '=='
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8)
    out += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + abc[(n >> 6) & 63] + '='
  }
  return out
}

/** A share as a percentage (`—` without a denominator). */
export function rate(part: number, whole: number): string {
  if (!whole) return '—'
  return `${Math.round((part / whole) * 1000) / 10}%`
}

/** A statistics row's rates: signed, answered and rectified on time. */
export function statsRates(s: RecipientStats): { sign: string; answer: string; rectify: string } {
  return {
    sign: rate(s.signed_on_time, s.bulletins),
    answer: rate(s.answered_on_time, s.bulletins),
    rectify: rate(s.rectified_on_time, s.rectifications),
  }
}

/** A slot's cell: on time, late, missing, or not due yet (waiting within the grace time). */
export type SlotCell = 'on_time' | 'late' | 'missing' | 'waiting'

export function slotCell(s: SlotStatus): SlotCell {
  if (s.missing) return 'missing'
  if (s.late) return 'late'
  if (s.received) return 'on_time'
  return 'waiting'
}

/** The slot grid: one row per child region, one column per slot (time order). */
export function slotGrid(items: SlotStatus[]): { slots: string[]; rows: { region: string; cells: (SlotStatus | null)[] }[] } {
  const slots = [...new Set(items.map((s) => s.slot))].sort((a, b) => Date.parse(a) - Date.parse(b))
  const regions = [...new Set(items.map((s) => String(s.region)))].sort()
  const rows = regions.map((region) => ({
    region,
    cells: slots.map((slot) => items.find((s) => String(s.region) === region && s.slot === slot) ?? null),
  }))
  return { slots, rows }
}

/** The active period first, then by start, newest first. */
export function sortPeriods(ps: Period[]): Period[] {
  return [...ps].sort((a, b) => Number(b.active ?? false) - Number(a.active ?? false) || Date.parse(b.start) - Date.parse(a.start))
}

/** A drill's state: the API's, else from its window and whether it started. */
export function drillState(d: Drill, now: number): DrillState {
  if (d.state) return d.state
  if (Date.parse(d.end) <= now) return 'ended'
  if (d.started || (d.mode === 'live' && Date.parse(d.start) <= now)) return 'running'
  return 'planned'
}

const DRILL_ZH: Record<DrillState, string> = { planned: '计划中', running: '进行中', ended: '已结束' }
const DRILL_EN: Record<DrillState, string> = { planned: 'Planned', running: 'Running', ended: 'Ended' }

export function drillStateLabel(s: string, lang: Lang): string {
  const t = lang === 'zh' ? DRILL_ZH : DRILL_EN
  return t[s as DrillState] ?? s
}

/** A scoreboard row: the action, detected or missed, the times as `H:MM:SS` (or `—`). */
export interface ScoreRow {
  action: string
  name: string
  verdict: 'detected' | 'missed' | 'pending'
  detect: string
  respond: string
  alerts: number
}

export function scoreRows(r: DrillReport, lang: Lang): ScoreRow[] {
  const t = (s: number | undefined) => (s === undefined || s === null ? '—' : span(s, lang))
  return r.actions.map((a) => ({
    action: a.action,
    name: a.name,
    verdict: a.missed ? 'missed' : a.detected ? 'detected' : 'pending',
    detect: t(a.detect_secs),
    respond: t(a.respond_secs),
    alerts: a.alerts,
  }))
}

/**
 * A scenario to start from in the plan form: JSON, which the node reads as
 * `drill::Scenario` like YAML (the node's write check takes JSON bodies from the console).
 */
export function scenarioTemplate(region: string, now: number): string {
  const scenario = {
    name: '护网演练',
    regions: [region],
    start: new Date(now).toISOString(),
    end: new Date(now + 4 * 3600_000).toISOString(),
    mode: 'scenario',
    actions: [
      {
        id: 'brute',
        name: 'SSH 暴力破解',
        at_secs: 0,
        technique: 'T1110',
        expect: { tags: ['attack.t1110'] },
        // An event as the JSON intake takes it: without a time of its own it happens when
        // replayed (a syslog line's own time is kept, and must fall in the window).
        events: [{ message: 'Failed password for root from 198.51.100.77 port 50001 ssh2', 'process.name': 'sshd' }],
      },
    ],
  }
  return JSON.stringify(scenario, null, 2)
}

/** A report label's default: the last complete ISO week, month or year before `now`. */
export function lastLabel(kind: string, now: Date): string {
  if (kind === 'annual') return String(now.getFullYear() - 1)
  if (kind === 'monthly') {
    const y = now.getMonth() === 0 ? now.getFullYear() - 1 : now.getFullYear()
    const m = now.getMonth() === 0 ? 12 : now.getMonth()
    return `${y}-${String(m).padStart(2, '0')}`
  }
  const d = new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate() - 7))
  const { year, week } = isoWeek(d)
  return `${year}-W${String(week).padStart(2, '0')}`
}

/** The ISO 8601 week of a UTC date. */
export function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
  const day = t.getUTCDay() || 7
  t.setUTCDate(t.getUTCDate() + 4 - day)
  const jan1 = Date.UTC(t.getUTCFullYear(), 0, 1)
  const week = Math.ceil(((t.getTime() - jan1) / 86400_000 + 1) / 7)
  return { year: t.getUTCFullYear(), week }
}

/** A `datetime-local` input's value as RFC 3339 (local time with its offset), or `null`. */
export function localToRfc3339(v: string): string | null {
  if (!v) return null
  const d = new Date(v)
  if (Number.isNaN(d.getTime())) return null
  return d.toISOString()
}

/** A time as a `datetime-local` input's value (local time, minutes). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** Split a text box's lines or commas into trimmed, non-empty, unique entries. */
export function listOf(text: string): string[] {
  return [...new Set(text.split(/[\n,，;；]/).map((s) => s.trim()).filter(Boolean))]
}

/**
 * The people of a shift as the form takes them: one a line, `姓名,电话,邮箱,leader|member`
 * (commas or full-width commas; the role defaults to member).
 */
export function peopleOf(text: string): OnDuty[] {
  return text
    .split('\n')
    .map((l) => l.split(/[,，]/).map((x) => x.trim()))
    .filter((f) => f[0])
    .map((f) => ({ name: f[0], phone: f[1] ?? '', email: f[2] ?? '', role: f[3] === 'leader' ? 'leader' : 'member' }))
}
