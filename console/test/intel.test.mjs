// The threat intelligence screen's logic (src/pages/intel/intel.ts): which feed is broken and
// its order, the indicators' query, the local indicator's body, a bundle's first check and the
// retro-hunt's state of a receipt.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/intel/intel.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { feedBroken, sortFeeds, indicatorQuery, localBody, bundleProblem, retroPending, tlpStyle, alertsOfKind } = await import(
  `data:text/javascript;base64,${Buffer.from(js).toString('base64')}`
)

const feed = (name, extra = {}) => ({ name, format: 'stix', indicators: 0, ...extra })

test('a feed is broken when its last error is newer than its last success, or it never succeeded', () => {
  assert.equal(feedBroken(feed('quiet')), false)
  assert.equal(feedBroken(feed('never', { last_error: 'connection refused', error_at: '2026-01-01T00:00:00Z' })), true)
  const recovered = feed('recovered', { last_error: 'timeout', error_at: '2026-01-01T00:00:00Z', last_success: '2026-01-01T00:05:00Z' })
  assert.equal(feedBroken(recovered), false)
  const failing = feed('failing', { last_error: 'not a bundle', error_at: '2026-01-01T00:10:00Z', last_success: '2026-01-01T00:05:00Z' })
  assert.equal(feedBroken(failing), true)
  assert.deepEqual(
    sortFeeds([feed('b'), recovered, failing, feed('a')]).map((f) => f.name),
    ['failing', 'a', 'b', 'recovered'],
  )
})

test('the indicators query leaves empty filters out and carries the cursor', () => {
  const none = { kind: '', feed: ' ', tlp: '', prefix: '', expired: false }
  assert.deepEqual(indicatorQuery(none, 50, null), { limit: '50' })
  const all = { kind: 'domain-tree', feed: ' parent ', tlp: 'AMBER+STRICT', prefix: '203.0.', expired: true }
  assert.deepEqual(indicatorQuery(all, 50, '100'), {
    limit: '50', kind: 'domain-tree', feed: 'parent', tlp: 'AMBER+STRICT', prefix: '203.0.', expired: 'true', cursor: '100',
  })
})

test('a local indicator body holds what was filled, the expiry as RFC 3339', () => {
  const form = { value: ' 198.51.100.9 ', kind: 'ip', reason: 'INC-7', expires: '', confidence: '', tlp: '', severity: '', description: ' ' }
  assert.deepEqual(localBody(form), { value: '198.51.100.9', kind: 'ip', reason: 'INC-7' })
  const full = localBody({ ...form, expires: '2030-01-02T03:04', confidence: '0', tlp: 'RED', severity: 'high', description: 'c2' })
  assert.equal(full.confidence, 0, 'a confidence of 0 is sent')
  assert.equal(full.tlp, 'RED')
  assert.equal(full.severity, 'high')
  assert.equal(full.description, 'c2')
  assert.match(full.expires, /^2030-01-0[12]T\d\d:04:00\.000Z$/)
})

test('a bundle is checked before it is sent: empty, not JSON, not a bundle', () => {
  assert.equal(bundleProblem('  '), 'empty')
  assert.match(bundleProblem('{"type": "bundle",'), /^json: /)
  assert.equal(bundleProblem('[]'), 'not_bundle')
  assert.equal(bundleProblem('{"type": "indicator"}'), 'not_bundle')
  assert.equal(bundleProblem('{"type": "bundle", "id": "bundle--1", "objects": []}'), null)
})

test('the retro-hunt is pending until its receipt says otherwise', () => {
  assert.equal(retroPending(null), false)
  assert.equal(retroPending({ retro: { status: 'pending' } }), true)
  assert.equal(retroPending({ retro: { status: 'done', hits: 2 } }), false)
  assert.equal(retroPending({ retro: { status: 'none' } }), false)
})

test('TLP tags keep their colours and an indicator kind links to its alerts', () => {
  assert.equal(tlpStyle('RED').color, '#ff2b2b')
  assert.equal(tlpStyle('amber').color, tlpStyle('AMBER+STRICT').color)
  assert.notEqual(tlpStyle('GREEN').color, tlpStyle('CLEAR').color)
  assert.deepEqual(alertsOfKind('domain-tree'), { path: '/alerts', query: { rule_id: 'intel.domain-tree' } })
})
