// Paging the audit log newest first (src/pages/admin/auditPages.ts, transpiled with the
// project's TypeScript): the reads each button makes and the page they give.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/admin/auditPages.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { turn, olderRead, newerRead } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

// A log of 1..n as the node answers: back (order=desc, before) or forward (after), `size` a page.
const log = (n, size) => ({
  read(r) {
    if (r.back) {
      const top = Math.min(n, (r.before ?? n + 1) - 1)
      return Array.from({ length: Math.max(0, Math.min(size, top)) }, (_, i) => ({ seq: top - i }))
    }
    const from = r.after + 1
    return Array.from({ length: Math.max(0, Math.min(size, n - from + 1)) }, (_, i) => ({ seq: from + i }))
  },
})
const seqs = (p) => p.entries.map((e) => e.seq)
const EMPTY = { entries: [], atNewest: false, atOldest: false }

test('the newest page, then older to the first entry, then newer back to the newest', () => {
  const node = log(12, 5)
  let p = turn(EMPTY, { back: true }, node.read({ back: true }))
  assert.deepEqual(seqs(p), [12, 11, 10, 9, 8])
  assert.equal(p.atNewest, true)
  assert.equal(p.atOldest, false)
  p = turn(p, olderRead(p), node.read(olderRead(p)))
  assert.deepEqual(seqs(p), [7, 6, 5, 4, 3])
  assert.equal(p.atNewest, false)
  p = turn(p, olderRead(p), node.read(olderRead(p)))
  assert.deepEqual(seqs(p), [2, 1])
  assert.equal(p.atOldest, true)
  // Forward reads come oldest first from the node and are shown newest first.
  assert.deepEqual(newerRead(p), { back: false, after: 2 })
  p = turn(p, newerRead(p), node.read(newerRead(p)))
  assert.deepEqual(seqs(p), [7, 6, 5, 4, 3])
  assert.equal(p.atOldest, false)
  p = turn(p, newerRead(p), node.read(newerRead(p)))
  assert.deepEqual(seqs(p), [12, 11, 10, 9, 8])
  // Nothing newer: the page stays and the newer button goes off.
  const q = turn(p, newerRead(p), node.read(newerRead(p)))
  assert.deepEqual(seqs(q), seqs(p))
  assert.equal(q.atNewest, true)
})

test('the oldest page and a read back that finds nothing', () => {
  const node = log(12, 5)
  const oldest = turn(EMPTY, { back: false, after: 0 }, node.read({ back: false, after: 0 }))
  assert.deepEqual(seqs(oldest), [5, 4, 3, 2, 1])
  assert.equal(oldest.atOldest, true)
  // An admin below the top sees only its subtree: a read back may find none of its entries.
  const page = { entries: [{ seq: 40 }, { seq: 39 }], atNewest: false, atOldest: false }
  const after = turn(page, olderRead(page), [])
  assert.deepEqual(seqs(after), [40, 39])
  assert.equal(after.atOldest, true)
  assert.equal(olderRead(EMPTY), null)
  assert.deepEqual(newerRead(EMPTY), { back: true })
})
