// The audit screen's verify state: SM3 and the chain as the node writes it
// (store/src/audit), transpiled from src/pages/admin/auditChain.ts with the project's TypeScript.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/admin/auditChain.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const { sm3, nanos, entryHash, checkChain } = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

const bytes = (s) => new TextEncoder().encode(s)

// Entries a node wrote (GET /api/v1/audit): the first of a log, then three in a row, one with
// Chinese text in its detail.
const FIRST = {
  seq: 1, at: '2026-12-06T19:34:04.381463284Z', actor: 'cli (uid 0)', role: '', scope: '',
  action: 'onewall tokens create', target: 'token named demo-province-admin', result: 200, client: '',
  detail: 'token tok_920e501b44fd role=admin region=410000 department=- pii=false expires=never',
  prev: '0000000000000000000000000000000000000000000000000000000000000000',
  hash: 'df5cc57ae5394e589d6874b7f3da2f455a45d38d7c0b2ead76b08de3193d16a1',
}
const RUN = [
  {
    seq: 227, at: '2026-12-06T19:37:28.754616194Z', actor: 'tok_920e501b44fd', role: 'admin', scope: '410000',
    action: 'POST /api/v1/users', target: '/api/v1/users', result: 201, client: '127.0.0.1:40582',
    detail: 'user viewer role=viewer region=410100 department=- pii=false',
    prev: 'efbb34aba8aacbeb27a424c0b1c6491c63427504cf131388db0c04a696000864',
    hash: 'd8f3b46f4c3a7bf4537725f6aa409aa0719187a62fcced6f1661ae730b88ee2f',
  },
  {
    seq: 228, at: '2026-12-06T19:37:28.829576473Z', actor: 'tok_920e501b44fd', role: 'admin', scope: '410000',
    action: 'POST /api/v1/users', target: '/api/v1/users', result: 201, client: '127.0.0.1:40584',
    detail: 'user analyst role=analyst region=410100 department=信息中心 pii=false',
    prev: 'd8f3b46f4c3a7bf4537725f6aa409aa0719187a62fcced6f1661ae730b88ee2f',
    hash: '95f27124c784e8dd2e90af2e2700e680e6265f72581c6e551e8f499eaa73328f',
  },
  {
    seq: 229, at: '2026-12-06T19:37:30.523470827Z', actor: 'tok_d581fe8f1a98', role: 'collector', scope: '410200',
    action: 'POST /api/v1/federation/push', target: '/api/v1/federation/push', result: 200, client: '', detail: '',
    prev: '95f27124c784e8dd2e90af2e2700e680e6265f72581c6e551e8f499eaa73328f',
    hash: '330745d76160b744c2b1f25478d570591ad23778a65e1c14cb2df48e4fe0c58b',
  },
]

test('SM3 gives the standard test vectors (GB/T 32905)', () => {
  assert.equal(sm3(bytes('abc')), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0')
  assert.equal(sm3(bytes('abcd'.repeat(16))), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732')
})

test('times become exact nanoseconds, with or without a fraction', () => {
  assert.equal(nanos('2026-12-06T19:37:28.754616194Z'), '1796585848754616194')
  assert.equal(nanos('2026-12-06T19:37:28Z'), '1796585848000000000')
  assert.equal(nanos('2026-12-06T19:37:28.5Z'), '1796585848500000000')
})

test("each entry's hash is recomputed as the node wrote it, Chinese text and empty client included", () => {
  for (const e of [FIRST, ...RUN]) assert.equal(entryHash(e), e.hash, `entry ${e.seq}`)
  assert.deepEqual(checkChain([RUN[2], RUN[0], RUN[1], FIRST]), { checked: 4, linked: 2, broken: null })
})

test('an edited entry breaks its hash; a forged one with a fresh hash breaks the link after it', () => {
  const edited = structuredClone(RUN)
  edited[1].detail = edited[1].detail.replace('pii=false', 'pii=true')
  assert.deepEqual(checkChain(edited).broken, { seq: 228, why: 'hash' })

  const forged = structuredClone(RUN)
  forged[1].result = 403
  forged[1].hash = entryHash(forged[1])
  assert.deepEqual(checkChain(forged), { checked: 3, linked: 1, broken: { seq: 229, why: 'link' } })
})
