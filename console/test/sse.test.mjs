// The stream's SSE parser, transpiled from src/sse.ts with the project's TypeScript.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/sse.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { SseParser } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

test('messages split across chunks come out whole, with their id and event', () => {
  const p = new SseParser()
  assert.deepEqual(p.push('id: 7\nevent: al'), [])
  assert.deepEqual(p.push('ert\ndata: {"id":"a1"}\n'), [])
  assert.deepEqual(p.push('\n'), [{ id: '7', event: 'alert', data: '{"id":"a1"}' }])
  assert.equal(p.lastId, '7')
})

test('comments are skipped, CRLF and CR end lines, data lines join with newlines', () => {
  const p = new SseParser()
  // The last CR waits for the next chunk (it could be half a CRLF); a comment follows it.
  assert.deepEqual(p.push(': keepalive\r\n\r\nevent: gap\rdata: {"from":\rdata: 3}\r\r'), [])
  assert.deepEqual(p.push(': next'), [{ id: null, event: 'gap', data: '{"from":\n3}' }])
  assert.equal(p.lastId, null)
})

test('a message without data is not dispatched; a CRLF split between chunks is one line end', () => {
  const p = new SseParser()
  assert.deepEqual(p.push('event: alert\n\n'), [])
  const out = [...p.push('id: 9\r'), ...p.push('\ndata: x\r\n\r\n')]
  assert.deepEqual(out, [{ id: '9', event: 'message', data: 'x' }])
})

test('retry sets the reconnect delay; a message without an id carries the last one', () => {
  const p = new SseParser()
  const out = p.push('retry: 2500\nid: 4\ndata: a\n\ndata: b\n\n')
  assert.equal(p.retryMs, 2500)
  assert.deepEqual(out.map((m) => m.id), ['4', '4'])
})
