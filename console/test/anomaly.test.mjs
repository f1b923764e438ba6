// The anomaly screen's logic (src/pages/anomaly/anomaly.ts): the kinds' labels, the sentence
// in the language shown, the expected band and where the observed value lies, the score's bar,
// spans and sizes, a detector's learning progress (event time), groups, evictions, the order
// of the table, the recent anomalies' query and the calendar line.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/anomaly/anomaly.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const a = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

const alert = (extra = {}) => ({
  detector: 'ssh-new-network',
  kind: 'first_seen',
  group: [{ field: 'user.name', value: 'zhangsan' }],
  observed: '203.0.113.0/24',
  expected: 'one of 4 networks seen before',
  score: 90,
  baseline_secs: 30 * 86400,
  explanation: 'user zhangsan logged in from 203.0.113.0/24 for the first time in 30 days of history',
  explanation_zh: '用户 zhangsan 首次从 203.0.113.0/24 登录（30 天历史内未见）',
  ...extra,
})

test('every kind has its Chinese label and an English one; an unknown kind is shown as named', () => {
  assert.deepEqual(
    a.KINDS.map((k) => a.kindLabel(k, 'zh')),
    ['流量', '首次出现', '罕见', '离群', '时段'],
  )
  assert.equal(a.kindLabel('time_of_day', 'en'), 'Time of day')
  assert.equal(a.kindLabel('seasonal', 'zh'), 'seasonal')
  // The labels and the kinds of the model (AnomalyKind::as_str) are the same five.
  const model = readFileSync(new URL('../../model/src/anomaly.rs', import.meta.url), 'utf8')
  const named = [...model.matchAll(/AnomalyKind::\w+ => "(\w+)"/g)].map((m) => m[1])
  assert.deepEqual([...named].sort(), [...a.KINDS].sort())
})

test('the sentence follows the language, English when the Chinese one is missing', () => {
  assert.match(a.sentence(alert(), 'zh'), /^用户 zhangsan 首次/)
  assert.match(a.sentence(alert(), 'en'), /^user zhangsan logged in/)
  assert.match(a.sentence(alert({ explanation_zh: '  ' }), 'zh'), /^user zhangsan/)
  assert.equal(a.sentence(alert({ explanation: '' }), 'en'), alert().explanation_zh)
})

test('the band is its numeric ends when there are some, else the expected text', () => {
  assert.equal(a.bandText(alert()), 'one of 4 networks seen before')
  assert.equal(a.bandText({ expected: '3–12 events', expected_low: 3, expected_high: 12 }), '3–12')
  assert.equal(a.bandText({ expected: 'x', expected_low: 2.456, expected_high: 1234.5678 }), '2.5–1235')
  assert.equal(a.bandText({ expected: 'x', expected_low: 0.1234, expected_high: 0.1234 }), '0.12')
  assert.equal(a.bandText({ expected: 'x', expected_low: 5 }), '≥ 5')
  assert.equal(a.bandText({ expected: 'x', expected_high: 40 }), '≤ 40')
  assert.equal(a.bandText({ expected: '' }), '—')
})

test('the observed value lies above, below or inside the band, or is not comparable', () => {
  assert.equal(a.sideOfBand({ observed_value: 57, expected_low: 3, expected_high: 12 }), 'above')
  assert.equal(a.sideOfBand({ observed_value: 0, expected_low: 3, expected_high: 12 }), 'below')
  assert.equal(a.sideOfBand({ observed_value: 7, expected_low: 3, expected_high: 12 }), 'inside')
  assert.equal(a.sideOfBand({ observed_value: 7 }), 'unknown')
  assert.equal(a.sideOfBand({ expected_low: 3, expected_high: 12 }), 'unknown')
})

test('the score bar is clamped to 0–100 and coloured by how far outside', () => {
  assert.deepEqual(a.scoreBar(130), { width: 100, color: '#c62828', level: 'high' })
  assert.equal(a.scoreBar(80).level, 'high')
  assert.equal(a.scoreBar(79.6).level, 'mid')
  assert.equal(a.scoreBar(79.6).width, 80)
  assert.equal(a.scoreBar(12).level, 'low')
  assert.equal(a.scoreBar(-4).width, 0)
  assert.equal(a.scoreBar(Number.NaN).width, 0)
})

test('a group is one line, an empty group none', () => {
  assert.equal(
    a.groupText([{ field: 'user.name', value: 'zhangsan' }, { field: 'host.name', value: 'db-01' }]),
    'user.name=zhangsan · host.name=db-01',
  )
  assert.equal(a.groupText([]), null)
  assert.equal(a.groupText(undefined), null)
})

test('spans are shown in their two largest units, sizes in powers of 1024', () => {
  assert.equal(a.spanText(30 * 86400, 'zh'), '30 天')
  assert.equal(a.spanText(30 * 86400, 'en'), '30 d')
  assert.equal(a.spanText(86400 + 3 * 3600 + 120, 'en'), '1 d 3 h')
  assert.equal(a.spanText(2 * 3600 + 30 * 60, 'zh'), '2 小时 30 分钟')
  assert.equal(a.spanText(3600 + 5, 'en'), '1 h')
  assert.equal(a.spanText(45, 'en'), '45 s')
  assert.equal(a.spanText(0, 'zh'), '0 秒')
  assert.equal(a.bytesText(812), '812 B')
  assert.equal(a.bytesText(12.4 * 1024), '12.4 KB')
  assert.equal(a.bytesText(3 * 1024 * 1024), '3 MB')
  assert.equal(a.bytesText(500 * 1024 * 1024), '500 MB')
})

const detector = (status, learning_secs = 86400) => ({ id: 'd', kind: 'volume', learning_secs, status })
const status = (extra) => ({
  learning: true,
  groups: 10,
  max_groups: 100,
  observed: 5,
  alerts: 0,
  state_bytes: 0,
  counters: { entries_evicted: 3, groups_evicted: 2, findings: 0 },
  ...extra,
})

test('learning progress is read in event time, from the first event to learning_until', () => {
  assert.deepEqual(a.learningProgress(detector(null)), { state: 'waiting', fraction: 0, remaining_secs: 86400 })
  assert.equal(a.learningProgress(detector(status({ learning_until: null, watermark: null }))).state, 'waiting')
  const quarter = a.learningProgress(
    detector(status({ first_seen: '2026-05-01T00:00:00Z', watermark: '2026-05-01T06:00:00Z', learning_until: '2026-05-02T00:00:00Z' })),
  )
  assert.deepEqual(quarter, { state: 'learning', fraction: 0.25, remaining_secs: 18 * 3600 })
  const late = a.learningProgress(
    detector(status({ watermark: '2026-05-03T00:00:00Z', learning_until: '2026-05-02T00:00:00Z' })),
  )
  assert.deepEqual(late, { state: 'learning', fraction: 1, remaining_secs: 0 })
  assert.deepEqual(a.learningProgress(detector(status({ learning: false }))), { state: 'active', fraction: 1, remaining_secs: 0 })
  const instant = a.learningProgress(
    detector(status({ watermark: '2026-05-01T00:00:00Z', learning_until: '2026-05-01T00:00:00Z' }), 0),
  )
  assert.equal(instant.fraction, 1)
})

test('groups against their bound, evictions summed', () => {
  assert.deepEqual(a.groupsOf(status({ groups: 25 })), { text: '25 / 100', share: 0.25 })
  assert.deepEqual(a.groupsOf(status({ groups: 5, max_groups: 0 })), { text: '5 / 0', share: 0 })
  assert.deepEqual(a.groupsOf(null), { text: '—', share: 0 })
  assert.equal(a.evictions(status({})), 5)
  assert.equal(a.evictions(null), 0)
})

test('detectors are ordered by kind as the screen lists them, then by id', () => {
  const ds = [
    { id: 'b', kind: 'rare' },
    { id: 'z', kind: 'mystery' },
    { id: 'a', kind: 'rare' },
    { id: 'c', kind: 'volume' },
    { id: 'd', kind: 'time_of_day' },
  ]
  assert.deepEqual(a.sortDetectors(ds).map((d) => d.id), ['c', 'a', 'b', 'd', 'z'])
})

test('the recent anomalies query leaves empty filters out and carries the cursor', () => {
  assert.deepEqual(a.anomalyQuery({ detector: ' ', kind: '' }, 50, null), { limit: '50' })
  assert.deepEqual(a.anomalyQuery({ detector: ' ssh-new-network ', kind: 'first_seen' }, 20, 'c2'), {
    limit: '20',
    detector: 'ssh-new-network',
    kind: 'first_seen',
    cursor: 'c2',
  })
})

test('a detector file is shown by its folder and name', () => {
  assert.equal(a.shortPath('/etc/onewall/detectors/ssh/new_network.yml'), '…/ssh/new_network.yml')
  assert.equal(a.shortPath('C:\\rules\\ssh\\x.yml'), '…/ssh/x.yml')
  assert.equal(a.shortPath('ssh/x.yml'), 'ssh/x.yml')
  assert.equal(a.shortPath('builtin'), 'builtin')
})

test('the calendar line names the zone and the known years', () => {
  assert.equal(a.calendarText({ utc_offset_secs: 8 * 3600, known_years: [2025, 2026] }), 'UTC+08:00 · 2025, 2026')
  assert.equal(a.calendarText({ utc_offset_secs: -(5 * 3600 + 1800), known_years: [] }), 'UTC-05:30 · —')
  assert.equal(a.calendarText(null), null)
})
