// Which live alerts the alert list takes in: src/pages/alerts/live.ts, transpiled with the
// project's TypeScript.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/alerts/live.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { matches } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

const regions = new Map([
  ['410000', { code: '410000', parent: null }],
  ['410100', { code: '410100', parent: '410000' }],
  ['410102', { code: '410102', parent: '410100' }],
  ['410200', { code: '410200', parent: '410000' }],
])
const none = { from: '', to: '', severity: '', rule_id: '', region: '' }
const alert = { id: 'a1', time: '2026-12-06T12:00:00Z', severity: 'high', region: '410102', rule: { id: 'r1' } }

test('no filter takes every alert', () => {
  assert.equal(matches(alert, none, regions), true)
})

test('severity is a minimum', () => {
  assert.equal(matches(alert, { ...none, severity: 'medium' }, regions), true)
  assert.equal(matches(alert, { ...none, severity: 'high' }, regions), true)
  assert.equal(matches(alert, { ...none, severity: 'critical' }, regions), false)
})

test('a region takes its whole subtree and nothing beside it', () => {
  assert.equal(matches(alert, { ...none, region: '410000' }, regions), true)
  assert.equal(matches(alert, { ...none, region: '410100' }, regions), true)
  assert.equal(matches(alert, { ...none, region: '410200' }, regions), false)
})

test('the rule and the time range must hold', () => {
  assert.equal(matches(alert, { ...none, rule_id: 'r2' }, regions), false)
  assert.equal(matches(alert, { ...none, to: '2026-12-06T11:00:00Z' }, regions), false)
  assert.equal(matches(alert, { ...none, from: '2026-12-06T11:00:00Z', to: '2026-12-06T13:00:00Z' }, regions), true)
})
