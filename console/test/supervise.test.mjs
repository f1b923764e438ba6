// The supervision screens' logic (src/pages/supervise/supervise.ts): warning levels, copy
// states and steps in both languages (checked against the model's enums), the deadline
// countdown, what is due next on a copy, which steps a copy offers whom and the body each
// sends, base64 of attachments, the statistics' rates, the slot grid, drill states and the
// scoreboard rows, report labels.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/supervise/supervise.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const s = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)
const model = readFileSync(new URL('../../model/src/supervise.rs', import.meta.url), 'utf8')

/** The snake_case wire names of a Rust enum's unit variants in model/src/supervise.rs. */
function variants(name) {
  const body = new RegExp(`pub enum ${name} \\{([\\s\\S]*?)\\n\\}`).exec(model)[1]
  return [...body.matchAll(/^\s{4}([A-Z]\w*)\s*[,{(]/gm)].map((m) => m[1].replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase())
}

test('levels, kinds, states and deadlines are the model\'s, named in Chinese and English', () => {
  assert.deepEqual(s.LEVELS, variants('WarningLevel'))
  assert.deepEqual(s.KINDS, variants('BulletinKind'))
  assert.deepEqual(s.COPY_STATES, variants('RecipientState'))
  assert.deepEqual(['sign', 'answer', 'rectify'], variants('DeadlineKind'))
  // The Chinese level names are the model's WarningLevel::zh.
  const zh = [...model.matchAll(/WarningLevel::\w+ => "(\S+预警)"/g)].map((m) => m[1])
  assert.deepEqual(s.LEVELS.map((l) => s.levelLabel(l, 'zh')), zh)
  assert.equal(s.levelLabel('red', 'en'), 'Red')
  assert.equal(s.levelLabel('purple', 'zh'), 'purple', 'an unknown level is shown as sent')
  assert.notEqual(s.levelColor('red'), s.levelColor('blue'))
  assert.deepEqual(s.COPY_STATES.map((x) => s.stateLabel(x, 'zh')), ['待签收', '已签收', '已反馈', '待复核', '已退回', '已通过'])
  assert.equal(s.kindLabel('rectification', 'zh'), '整改通报')
  assert.equal(s.deadlineLabel('answer', 'zh'), '反馈')
})

test('the countdown says what is left, amber within the hour, red and 超期 once past', () => {
  const at = '2026-12-07T12:00:00Z'
  const t = Date.parse(at)
  const left = s.countdown(at, t - (86400 + 2 * 3600 + 3 * 60 + 4) * 1000, 'zh')
  assert.deepEqual(left, { secs: 93784, overdue: false, soon: false, text: '剩余 1天 02:03:04' })
  const soon = s.countdown(at, t - 59 * 60 * 1000, 'en')
  assert.equal(soon.soon, true)
  assert.equal(soon.text, '00:59:00 left')
  const past = s.countdown(at, t + 12 * 60 * 1000, 'zh')
  assert.equal(past.overdue, true)
  assert.equal(past.soon, false)
  assert.equal(past.text, '超期 00:12:00')
  assert.equal(s.countdown(at, t, 'en').overdue, true, 'the deadline itself is already late')
  assert.equal(s.countdown('not a time', t, 'zh').text, 'not a time')
})

const bulletin = (kind = 'rectification') => ({
  id: 'b1', issuer: '410000', issuer_node: 'henan-soc', title: 't', level: 'orange', kind, body: 'b',
  cves: [], indicators: [], incidents: [],
  deadlines: { sign: '2026-12-07T10:00:00Z', answer: '2026-12-08T10:00:00Z', rectify: '2026-12-10T10:00:00Z' },
  recipients: [{ region: '410100' }], by: 'admin', issued: '2026-12-07T08:00:00Z',
})
const copy = (state, extra = {}) => ({ recipient: { region: '410100' }, state, returned: 0, overdue: [], steps: [], ...extra })

test('what is due next follows the state (and the API\'s due when it sent one)', () => {
  const b = bulletin()
  assert.deepEqual(s.nextDue(b, copy('issued')), { kind: 'sign', at: b.deadlines.sign })
  assert.deepEqual(s.nextDue(b, copy('signed')), { kind: 'answer', at: b.deadlines.answer })
  assert.deepEqual(s.nextDue(b, copy('answered', { affected: true })), { kind: 'rectify', at: b.deadlines.rectify })
  assert.deepEqual(s.nextDue(b, copy('returned', { affected: true })), { kind: 'rectify', at: b.deadlines.rectify })
  assert.equal(s.nextDue(b, copy('answered', { affected: false })), null, 'not affected: nothing to rectify')
  assert.equal(s.nextDue(b, copy('submitted', { affected: true })), null, 'waiting for the review')
  assert.equal(s.nextDue(bulletin('notice'), copy('answered', { affected: true })), null)
  assert.equal(s.nextDue(b, copy('issued', { done: false })), null, 'the API sent no due: nothing is due')
  assert.deepEqual(s.nextDue(b, copy('answered', { done: false, due: { kind: 'rectify', at: 'x' } })), { kind: 'rectify', at: 'x' }, 'the API\'s due wins')
  assert.equal(s.isDone(b, copy('accepted')), true)
  assert.equal(s.isDone(b, copy('answered', { affected: true })), false)
  assert.equal(s.isDone(bulletin('notice'), copy('answered', { affected: true })), true)
  const view = { bulletin: b, issued_here: true, copies: [copy('signed'), copy('issued', { recipient: { region: '410300' } })] }
  assert.deepEqual(s.earliestDue(view), { kind: 'sign', at: b.deadlines.sign, recipient: { region: '410300' } })
})

test('a copy offers the recipient its next step and the issuer the review, by role and department', () => {
  const analyst = { work: true, direct: false, department: null }
  const responder = { work: true, direct: true, department: null }
  const viewer = { work: false, direct: false, department: null }
  const received = (c) => ({ bulletin: bulletin(), issued_here: false, copies: [c] })
  const issued = (c) => ({ bulletin: bulletin(), issued_here: true, copies: [c] })
  const steps = (v, who) => s.stepsFor(v, v.copies[0], who)
  assert.deepEqual(steps(received(copy('issued')), analyst), ['sign'])
  assert.deepEqual(steps(received(copy('signed')), analyst), ['answer'])
  assert.deepEqual(steps(received(copy('answered', { affected: true })), analyst), ['rectify'])
  assert.deepEqual(steps(received(copy('returned', { affected: true })), analyst), ['rectify'])
  assert.deepEqual(steps(received(copy('answered', { affected: false })), analyst), [])
  assert.deepEqual(steps(received(copy('issued')), viewer), [], 'a viewer takes no step')
  assert.deepEqual(steps(received(copy('submitted', { affected: true })), responder), [], 'the recipient does not review')
  assert.deepEqual(steps(issued(copy('submitted', { affected: true })), responder), ['review'])
  assert.deepEqual(steps(issued(copy('submitted', { affected: true })), analyst), [], 'reviewing needs a directing role')
  assert.deepEqual(steps(issued(copy('issued')), responder), [], 'the issuer does not sign a child region\'s copy')
  const dept = { recipient: { region: '410000', department: '教育厅' } }
  assert.deepEqual(steps(issued(copy('issued', dept)), { ...analyst, department: '教育厅' }), ['sign'])
  assert.deepEqual(steps(issued(copy('issued', dept)), { ...analyst, department: '卫健委' }), [], 'another department\'s copy')
})

test('each step sends the recipient and what the form holds, and says what is missing', () => {
  const c = copy('signed', { recipient: { region: '410000', department: '教育厅' } })
  const empty = { affected: null, text: '', accepted: null, reason: '' }
  assert.deepEqual(s.stepBody('sign', c, empty), { body: { recipient: { region: '410000', department: '教育厅' } } })
  assert.deepEqual(s.stepBody('answer', c, empty), { problem: 'need_affected' })
  assert.deepEqual(s.stepBody('answer', c, { ...empty, affected: false }), { problem: 'need_text' })
  assert.deepEqual(s.stepBody('answer', c, { ...empty, affected: true, text: ' 已排查 ' }).body, {
    recipient: { region: '410000', department: '教育厅' }, affected: true, text: '已排查',
  })
  const files = [{ name: 'a.txt', media_type: 'text/plain', content_base64: 'YQ==' }]
  assert.deepEqual(s.stepBody('rectify', copy('answered'), { ...empty, text: '已升级' }, files).body, {
    recipient: { region: '410100' }, text: '已升级', attachments: files,
  })
  assert.deepEqual(s.stepBody('review', c, empty), { problem: 'need_verdict' })
  assert.deepEqual(s.stepBody('review', c, { ...empty, accepted: false }), { problem: 'need_reason' })
  assert.deepEqual(s.stepBody('review', c, { ...empty, accepted: true }).body.accepted, true)
  assert.equal(s.stepBody('review', c, { ...empty, accepted: false, reason: '证据不足' }).body.reason, '证据不足')
})

test('attachments are standard base64, the same as Node\'s', () => {
  for (const text of ['', 'a', 'ab', 'abc', 'abcd', '整改报告 v2', '\u0000\u00ff\u00fe']) {
    const bytes = new TextEncoder().encode(text)
    assert.equal(s.base64(bytes), Buffer.from(bytes).toString('base64'), JSON.stringify(text))
  }
  const random = new Uint8Array(1000).map((_, i) => (i * 7919) % 256)
  assert.equal(s.base64(random), Buffer.from(random).toString('base64'))
})

test('statistics rates, the slot grid, drills and the scoreboard', () => {
  const st = { recipient: { region: '410100' }, name: '郑州市', bulletins: 4, signed: 4, signed_on_time: 3, answered: 3, answered_on_time: 2, rectifications: 0, rectified_on_time: 0, accepted: 0, returned: 1, overdue: 2 }
  assert.deepEqual(s.statsRates(st), { sign: '75%', answer: '50%', rectify: '—' })
  assert.equal(s.rate(1, 3), '33.3%')
  const slots = [
    { region: '410300', slot: '2026-12-07T02:00:00Z', late: false, missing: true },
    { region: '410100', slot: '2026-12-07T02:00:00Z', received: '2026-12-07T02:01:00Z', late: false, missing: false },
    { region: '410100', slot: '2026-12-07T04:00:00Z', received: '2026-12-07T04:50:00Z', late: true, missing: false },
    { region: '410300', slot: '2026-12-07T04:00:00Z', late: false, missing: false },
  ]
  const g = s.slotGrid(slots)
  assert.deepEqual(g.slots, ['2026-12-07T02:00:00Z', '2026-12-07T04:00:00Z'])
  assert.deepEqual(g.rows.map((r) => [r.region, r.cells.map((c) => c && s.slotCell(c))]), [
    ['410100', ['on_time', 'late']],
    ['410300', ['missing', 'waiting']],
  ])
  const now = Date.parse('2026-12-07T12:00:00Z')
  const d = { start: '2026-12-07T09:00:00Z', end: '2026-12-07T18:00:00Z', mode: 'scenario', started: null }
  assert.equal(s.drillState(d, now), 'planned')
  assert.equal(s.drillState({ ...d, started: '2026-12-07T11:00:00Z' }, now), 'running')
  assert.equal(s.drillState({ ...d, mode: 'live' }, now), 'running')
  assert.equal(s.drillState({ ...d, end: '2026-12-07T11:00:00Z' }, now), 'ended')
  assert.equal(s.drillState({ ...d, state: 'ended' }, now), 'ended', 'the API\'s state wins')
  assert.equal(s.drillStateLabel('running', 'zh'), '进行中')
  const rows = s.scoreRows({ actions: [
    { action: 'brute', name: 'SSH', executed: d.start, detected: d.start, detect_secs: 4, respond_secs: 75, missed: false, alerts: 3, expected_matched: true },
    { action: 'exfil', name: 'DNS', executed: d.start, missed: true, alerts: 0, expected_matched: false },
  ] }, 'zh')
  assert.deepEqual(rows.map((r) => [r.action, r.verdict, r.detect, r.respond, r.alerts]), [
    ['brute', 'detected', '00:00:04', '00:01:15', 3],
    ['exfil', 'missed', '—', '—', 0],
  ])
})

test('the plan form starts from a scenario the node reads: JSON, one action, the caller\'s region', () => {
  const now = Date.parse('2026-12-07T12:00:00Z')
  const sc = JSON.parse(s.scenarioTemplate('410100', now))
  assert.deepEqual(sc.regions, ['410100'])
  assert.equal(sc.start, '2026-12-07T12:00:00.000Z')
  assert.ok(Date.parse(sc.end) > Date.parse(sc.start))
  assert.deepEqual(sc.actions.map((a) => [a.id, a.at_secs, a.events.length]), [['brute', 0, 1]])
  // Every key is a field of the model's Scenario and PlannedAction (deny_unknown_fields).
  const drill = readFileSync(new URL('../../supervise/src/drill.rs', import.meta.url), 'utf8')
  const scenarioFields = /pub struct Scenario \{([\s\S]*?)\n\}/.exec(drill)[1]
  for (const k of Object.keys(sc)) assert.match(scenarioFields, new RegExp(`pub ${k}:`), k)
  const action = /pub struct PlannedAction \{([\s\S]*?)\n\}/.exec(model)[1]
  for (const k of Object.keys(sc.actions[0])) assert.match(action, new RegExp(`pub ${k}:`), k)
})

test('report labels default to the last complete span; lists split on lines and commas', () => {
  assert.equal(s.lastLabel('annual', new Date(2026, 11, 7)), '2025')
  assert.equal(s.lastLabel('monthly', new Date(2026, 11, 7)), '2026-11')
  assert.equal(s.lastLabel('monthly', new Date(2026, 0, 7)), '2025-12')
  assert.equal(s.lastLabel('weekly', new Date(2026, 11, 7)), '2026-W49')
  assert.deepEqual(s.isoWeek(new Date(Date.UTC(2021, 0, 3))), { year: 2020, week: 53 })
  assert.deepEqual(s.listOf('CVE-2024-3400, CVE-2021-44228\n\nCVE-2024-3400；x'), ['CVE-2024-3400', 'CVE-2021-44228', 'x'])
  assert.equal(s.localToRfc3339(''), null)
  assert.equal(s.localToRfc3339(s.toLocalInput(Date.parse('2026-12-07T12:34:00Z'))), '2026-12-07T12:34:00.000Z')
})

test('a shift\'s people are read one a line, the role defaulting to member', () => {
  assert.deepEqual(s.peopleOf('王值班,13912345678,wang@zz.example.cn,leader\n\n李值守，13700001111\n  '), [
    { name: '王值班', phone: '13912345678', email: 'wang@zz.example.cn', role: 'leader' },
    { name: '李值守', phone: '13700001111', email: '', role: 'member' },
  ])
  assert.deepEqual(variants('DutyRole'), ['leader', 'member'])
})
