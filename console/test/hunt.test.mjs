// The hunt screen's logic (src/pages/hunt/hunt.ts): several files' answers merged into one
// summary, one by-rule table and one hit list, and the hits as CSV like the node's exports.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/hunt/hunt.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { summarize, mergeRules, hitRows, hitsCsv, csvCell } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

function hit(rule, level, position, fields = {}, entities = []) {
  return {
    position,
    alert: { id: `a-${position}`, time: '2024-01-02T03:04:05Z', rule: { id: rule, title: `Rule ${rule}`, level }, severity: level, entities, region: '410100', matched: [{ field: 'EventID', value: '4720' }] },
    event: { id: `e-${position}`, time: '2024-01-02T03:04:05Z', region: '410100', format: 'json', fields, raw: `{"n":"${position}"}`, parse_error: null },
  }
}

function answer(file, hits, extra = {}) {
  const by_level = { critical: 0, high: 0, medium: 0, low: 0, informational: 0 }
  const by_rule = new Map()
  for (const h of hits) {
    by_level[h.alert.severity]++
    const r = by_rule.get(h.alert.rule.id) ?? { rule_id: h.alert.rule.id, title: h.alert.rule.title, level: h.alert.severity, count: 0 }
    r.count++
    by_rule.set(r.rule_id, r)
  }
  return { file, format: 'evtx', bytes: 10, events: 100, parse_errors: 1, read_errors: [], elapsed_ms: 3, by_rule: [...by_rule.values()], by_level, hits, truncated: false, ...extra }
}

const files = [
  { key: 'f1', name: 'a.evtx', size: 10, state: 'done', answer: answer('a.evtx', [hit('r1', 'high', 'record 1', { 'Event.System.Computer': 'WS01' }), hit('r2', 'low', 'record 2')]) },
  {
    key: 'f2', name: 'b.evtx', size: 10, state: 'done',
    answer: answer('b.evtx', [hit('r1', 'high', 'record 7', {}, [{ kind: 'host', value: 'DC1' }, { kind: 'user', value: 'eve' }]), hit('r1', 'high', 'record 8')], {
      read_errors: [{ at: 'chunk 6', error: 'bad magic' }], truncated: true,
    }),
  },
  { key: 'f3', name: 'c.log', size: 0, state: 'error', error: 'the body is empty' },
  { key: 'f4', name: 'd.log', size: 5, state: 'waiting' },
]

test('the summary adds up the files hunted and counts the failed ones', () => {
  const s = summarize(files)
  assert.equal(s.files, 4)
  assert.equal(s.done, 2)
  assert.equal(s.failed, 1)
  assert.equal(s.events, 200)
  assert.equal(s.parseErrors, 2)
  assert.equal(s.readErrors, 1)
  assert.equal(s.hits, 4)
  assert.deepEqual(s.byLevel, { critical: 0, high: 3, medium: 0, low: 1, informational: 0 })
  assert.equal(s.truncated, true)
})

test('rules are merged across files, most hits first, with the files they hit in', () => {
  const rules = mergeRules(files)
  assert.deepEqual(rules.map((r) => [r.ruleId, r.count, r.files]), [['r1', 3, ['a.evtx', 'b.evtx']], ['r2', 1, ['a.evtx']]])
})

test('hit rows name host and user from the entities, else the event, and filter by rule', () => {
  const all = hitRows(files)
  assert.equal(all.length, 4)
  assert.equal(all[0].host, 'WS01')
  assert.equal(all[2].host, 'DC1')
  assert.equal(all[2].user, 'eve')
  assert.equal(all[2].file, 'b.evtx')
  assert.deepEqual(hitRows(files, 'r2').map((r) => r.position), ['record 2'])
  assert.equal(new Set(all.map((r) => r.key)).size, 4, 'row keys are unique')
})

test('CSV starts with a BOM, ends lines with CRLF, quotes and defuses like the server', () => {
  assert.equal(csvCell('plain'), 'plain')
  assert.equal(csvCell('河南, "郑州"'), '"河南, ""郑州"""')
  assert.equal(csvCell('=cmd()'), '"\'=cmd()"')
  assert.equal(csvCell('-5'), '-5')
  const csv = hitsCsv(hitRows(files, 'r2'))
  assert.ok(csv.startsWith('\uFEFFtime,level,rule_id,rule,host,user,file,position,matched,raw\r\n'))
  const lines = csv.slice(1).split('\r\n')
  assert.equal(lines.length, 3, 'header, one hit, and the final line end')
  assert.equal(lines[1], '2024-01-02T03:04:05Z,low,r2,Rule r2,,,a.evtx,record 2,EventID=4720,"{""n"":""record 2""}"')
})
