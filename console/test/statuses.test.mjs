// The console's incident moves must be the model's (model/src/incident.rs `can_become`): a
// button offering a move the server refuses, or hiding one it allows, fails here.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/statuses.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { nextStatuses, isOpen } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

test('every status offers exactly the moves the model allows', () => {
  const allowed = {
    new: ['acknowledged', 'investigating', 'resolved', 'closed', 'false_positive'],
    acknowledged: ['investigating', 'resolved', 'closed', 'false_positive'],
    investigating: ['resolved', 'closed', 'false_positive'],
    resolved: ['investigating', 'closed', 'false_positive'],
    closed: [],
    false_positive: ['investigating'],
  }
  for (const [from, to] of Object.entries(allowed)) {
    assert.deepEqual([...nextStatuses(from)].sort(), [...to].sort(), `from ${from}`)
  }
})

test('new, acknowledged and investigating are open; the rest are not', () => {
  assert.deepEqual(
    ['new', 'acknowledged', 'investigating', 'resolved', 'closed', 'false_positive'].map(isOpen),
    [true, true, true, false, false, false],
  )
})
