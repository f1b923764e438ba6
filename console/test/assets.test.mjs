// The asset screens' logic (src/pages/assets/assets.ts): 等保 levels, exposure and statuses in
// both languages, where a refusal is, what an import did, the lifecycle moves of a finding and
// the body each sends, the filters' queries, the timeline's target_vulnerable line and the
// children's roll-up table.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/pages/assets/assets.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
const a = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)

test('等保 levels, exposure and finding statuses read in Chinese and in English', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((l) => a.levelLabel(l, 'zh')), ['一级', '二级', '三级', '四级', '五级'])
  assert.equal(a.levelLabel(null, 'zh'), '未定级')
  assert.equal(a.levelLabel(6, 'zh'), '未定级', 'a level the model never holds is not shown as one')
  assert.equal(a.levelLabel(3, 'en'), 'Level 3')
  assert.equal(a.exposureLabel('internet', 'zh'), '互联网')
  assert.equal(a.exposureLabel('internal', 'en'), 'Internal')
  assert.deepEqual(a.FINDING_STATUSES.map((s) => a.statusLabel(s, 'zh')), ['未修复', '整改中', '已修复', '已接受风险'])
  assert.equal(a.statusLabel('risk_accepted', 'en'), 'Risk accepted')
  // The statuses are the model's (FindingStatus::as_str).
  const model = readFileSync(new URL('../../assets/src/finding.rs', import.meta.url), 'utf8')
  const named = [...model.matchAll(/FindingStatus::\w+ => "(\w+)"/g)].map((m) => m[1])
  assert.deepEqual([...named].sort(), [...a.FINDING_STATUSES].sort())
})

test('formats and scanners are named as people write them, each the node may answer', () => {
  assert.equal(a.scannerLabel('openscap'), 'OpenSCAP')
  assert.equal(a.scannerLabel('registry_xlsx'), 'Excel (.xlsx)')
  assert.equal(a.scannerLabel('something_new'), 'something_new')
  const formats = readFileSync(new URL('../../assets/src/import/mod.rs', import.meta.url), 'utf8')
  const named = [...formats.matchAll(/Format::\w+ => "(\w+)"/g)].map((m) => m[1])
  const scanners = readFileSync(new URL('../../assets/src/scan.rs', import.meta.url), 'utf8')
  named.push(...[...scanners.matchAll(/Scanner::\w+ => "(\w+)"/g)].map((m) => m[1]))
  assert.ok(named.length >= 12, named.join(' '))
  for (const f of named) assert.notEqual(a.scannerLabel(f), f, `${f} has a label`)
})

test('a refusal names its row and column, element and line, or line', () => {
  assert.equal(a.placeText({ kind: 'row', row: 3, column: '等保级别' }, 'zh'), '第 3 行，列「等保级别」')
  assert.equal(a.placeText({ kind: 'row', row: 7 }, 'en'), 'row 7')
  assert.equal(a.placeText({ kind: 'element', path: 'nmaprun/host[3]/ports', line: 41 }, 'zh'), '元素 nmaprun/host[3]/ports（第 41 行）')
  assert.equal(a.placeText({ kind: 'element', path: 'report/results' }, 'en'), 'element report/results')
  assert.equal(a.placeText({ kind: 'line', line: 12 }, 'en'), 'line 12')
  assert.equal(a.placeText({ kind: 'file' }, 'zh'), '整个文件')
})

const registryResult = {
  format: 'xlsx',
  kind: 'registry',
  registry: { rows: 6, added: 4, updated: 0, unchanged: 0, removed: 0 },
  scan: null,
  refused: [
    { place: { kind: 'row', row: 7, column: '属地' }, reason: 'region code 419999 is not a GB/T 2260 code' },
    { place: { kind: 'row', row: 5, column: '等保级别' }, reason: '等保级别 "6" is not 1–5' },
  ],
}

test('a registry import shows its rows and every refusal, in row order', () => {
  assert.deepEqual(a.importFigures(registryResult), [
    ['rows', 6], ['added', 4], ['updated', 0], ['unchanged', 0], ['removed', 0], ['refused', 2],
  ])
  assert.deepEqual(a.sortedRefusals(registryResult).map((r) => r.place.row), [5, 7])
  assert.deepEqual(registryResult.refused.map((r) => r.place.row), [7, 5], 'the answer is left as it came')
})

test('a scan import shows hosts, ports (Nmap) and what happened to the findings', () => {
  const scan = (scanner, ports) => ({
    format: scanner, kind: 'scan', registry: null, refused: [],
    scan: { scanner, at: '2026-01-02T03:04:05Z', hosts: 2, ports, new: 3, again: 1, reopened: 0, fixed: 1 },
  })
  assert.deepEqual(a.importFigures(scan('nmap', 0)).map(([k]) => k), ['hosts', 'ports', 'new', 'again', 'reopened', 'fixed'])
  assert.deepEqual(a.importFigures(scan('csv', 0)).map(([k]) => k), ['hosts', 'new', 'again', 'reopened', 'fixed'])
  assert.equal(a.importFigures(scan('csv', 0)).find(([k]) => k === 'fixed')[1], 1)
})

test('a finding offers only the moves its status allows', () => {
  assert.deepEqual(a.movesOf('open'), ['fixing', 'risk_accepted'])
  assert.deepEqual(a.movesOf('fixing'), ['risk_accepted', 'open'])
  assert.deepEqual(a.movesOf('risk_accepted'), ['open'])
  assert.deepEqual(a.movesOf('fixed'), [], 'a fixed finding changes only when a scan finds it again')
})

test('each move sends the StatusChange the node reads; a risk needs a reason and a future expiry', () => {
  const now = new Date(2026, 5, 1, 12, 0, 0)
  const form = { note: '', reason: '', until: '' }
  assert.deepEqual(a.moveBody('fixing', form, now), { body: { status: 'fixing' } })
  assert.deepEqual(a.moveBody('open', { ...form, note: ' 复测仍存在 ' }, now), { body: { status: 'open', note: '复测仍存在' } })
  assert.deepEqual(a.moveBody('risk_accepted', { ...form, until: '2026-12-31' }, now), { problem: 'need_reason' })
  assert.deepEqual(a.moveBody('risk_accepted', { ...form, reason: '内网隔离' }, now), { problem: 'need_until' })
  assert.deepEqual(a.moveBody('risk_accepted', { ...form, reason: '内网隔离', until: '2026-02-30' }, now), { problem: 'need_until' })
  assert.deepEqual(a.moveBody('risk_accepted', { ...form, reason: '内网隔离', until: '2026-05-31' }, now), { problem: 'until_past' })
  const ok = a.moveBody('risk_accepted', { ...form, reason: ' 内网隔离 ', until: '2026-12-31' }, now)
  assert.equal(ok.body.status, 'risk_accepted')
  assert.equal(ok.body.reason, '内网隔离')
  const until = new Date(ok.body.until)
  assert.equal(until.getFullYear(), 2026)
  assert.equal(until.getMonth(), 11)
  assert.equal(until.getDate(), 31, 'the end of the chosen day, local time')
  assert.match(ok.body.until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  // The body's shape is the model's StatusChange (tag "status", snake_case).
  const model = readFileSync(new URL('../../assets/src/finding.rs', import.meta.url), 'utf8')
  assert.match(model, /#\[serde\(tag = "status", rename_all = "snake_case"\)\]\s*pub enum StatusChange/)
  assert.match(model, /RiskAccepted \{ reason: String, until: Timestamp \}/)
})

test('the filters leave empty values out, upper-case a CVE and carry the cursor', () => {
  const none = { q: ' ', region: '', department: '', level: '', cii: '', exposure: '' }
  assert.deepEqual(a.systemQuery(none, 50, null), { limit: '50' })
  assert.deepEqual(a.systemQuery({ ...none, q: ' 政务云 ', level: '3', cii: 'true', exposure: 'internet' }, 50, '50'), {
    q: '政务云', level: '3', cii: 'true', exposure: 'internet', limit: '50', cursor: '50',
  })
  const f = { status: 'open', severity: '', overdue: true, cve: 'cve-2021-44228', host: '' }
  assert.deepEqual(a.findingQuery(f, 100, null), { status: 'open', overdue: 'true', cve: 'CVE-2021-44228', limit: '100' })
})

test('hosts: open findings by severity, ports with product and version, networks as written', () => {
  const f = (severity) => ({ severity })
  assert.deepEqual(a.severityCounts([f('low'), f('critical'), f('high'), f('critical')]), [['critical', 2], ['high', 1], ['low', 1]])
  assert.equal(a.serviceText({ port: 22, protocol: 'tcp', name: 'ssh', product: 'OpenSSH', version: '9.2p1 Debian 2' }), '22/tcp OpenSSH 9.2p1 Debian 2')
  assert.equal(a.serviceText({ port: 8080, protocol: 'tcp', name: 'http-proxy' }), '8080/tcp http-proxy')
  assert.equal(a.serviceText({ port: 53, protocol: 'udp' }), '53/udp')
  assert.equal(a.netText('10.1.2.0/24'), '10.1.2.0/24')
  assert.equal(a.netText({ addr: '10.1.2.0', prefix: 24 }), '10.1.2.0/24')
  assert.equal(a.netText({ addr: '10.1.2.3', prefix: 32 }), '10.1.2.3')
  assert.equal(a.netText({ addr: '2001:db8::1', prefix: 128 }), '2001:db8::1')
})

test('a system detail lists its host views and the registered names no view covers', () => {
  const view = (key, names) => ({ key, names, address: key, system: null, region: '410100', ports: [], open_findings: [], overdue: 0, last_scan: null })
  const d = { hosts: [view('10.0.0.5', ['web01']), 'web01', 'db01'] }
  const h = a.detailHosts(d)
  assert.deepEqual(h.views.map((v) => v.key), ['10.0.0.5'])
  assert.deepEqual(h.names, ['db01'])
})

test('the timeline says which target has which open CVE', () => {
  const e = { kind: 'target_vulnerable', target: 'web01', system: '门户网站', cve: 'CVE-2021-44228' }
  assert.equal(a.targetVulnerableText(e, 'zh'), '目标 web01（门户网站）存在未修复漏洞 CVE-2021-44228')
  assert.equal(a.targetVulnerableText({ ...e, system: '' }, 'zh'), '目标 web01 存在未修复漏洞 CVE-2021-44228')
  assert.equal(a.targetVulnerableText(e, 'en'), 'target web01 (门户网站) has open CVE-2021-44228')
  // The entry's kind is the model's (TimelineKind::TargetVulnerable, snake_case).
  const model = readFileSync(new URL('../../model/src/incident.rs', import.meta.url), 'utf8')
  assert.match(model, /TargetVulnerable \{/)
})

test('an incident names each target once', () => {
  const t = (value, system_id) => ({ value, system_id, system: 's', region: '410100', department: 'd', exposure: 'internal' })
  assert.deepEqual(a.uniqueTargets([t('10.0.0.5', 'a'), t('10.0.0.5', 'a'), t('10.0.0.6', 'a')]).map((x) => x.value), ['10.0.0.5', '10.0.0.6'])
  assert.deepEqual(a.uniqueTargets(undefined), [])
})

test("the children's roll-up is one table by region and department, with totals", () => {
  const row = (region, department, levels, open) => ({
    region, department, systems_by_level: levels, cii_systems: 0, internet_systems: 1, hosts: 3,
    open_findings: open, overdue: 1, unknown_hosts: 0, silent_hosts: 2,
  })
  const children = [
    { node: 'zhengzhou-soc', via: '410100', received: '2026-01-01T00:00:00Z', rollup: { region: '410100', at: '2026-01-01T00:00:00Z', rows: [row('410102', '市大数据局', [0, 0, 1, 2, 0, 0], [0, 1, 2, 3, 4]), row('410100', '市卫健委', [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0])] } },
    { node: 'luoyang-soc', via: '410300', received: '2026-01-01T00:00:00Z', rollup: { region: '410300', at: '2026-01-01T00:00:00Z', rows: [row('410300', '', [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1])] } },
  ]
  const lines = a.rollupLines(children)
  assert.deepEqual(lines.map((l) => [l.region, l.department, l.node]), [
    ['410100', '市卫健委', 'zhengzhou-soc'], ['410102', '市大数据局', 'zhengzhou-soc'], ['410300', '', 'luoyang-soc'],
  ])
  assert.equal(lines[1].systems, 3)
  assert.equal(lines[1].open, 10)
  assert.equal(a.highAndCritical(lines[1].open_findings), 7)
  assert.equal(a.highAndCritical(undefined), 0)
})

test("every assets endpoint the screens call is one the node routes, with the method it routes", async () => {
  const { readdirSync } = await import('node:fs')
  const dir = new URL('../src/pages/assets/', import.meta.url)
  const sources = readdirSync(dir).map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n')
  const called = new Set([...sources.matchAll(/['"`](\/api\/v1\/assets\/[a-z]+)(\/\$\{)?/g)].map((m) => m[1] + (m[2] ? '/{}' : '')))
  assert.ok(called.size >= 10, [...called].join(' '))
  const lib = readFileSync(new URL('../../ui-api/src/lib.rs', import.meta.url), 'utf8')
  const routed = new Map()
  for (const m of lib.matchAll(/\.route\(\s*"(\/api\/v1\/assets\/[^"]+)",\s*([^)]*\)[^)]*)\)/g)) {
    routed.set(m[1].replace(/\{[a-z]+\}/, '{}'), m[2])
  }
  for (const path of called) assert.ok(routed.has(path), `${path} is routed`)
  assert.match(routed.get('/api/v1/assets/findings/{}'), /patch/, 'a finding changes by PATCH')
  assert.match(routed.get('/api/v1/assets/import'), /post/)
  assert.match(routed.get('/api/v1/assets/systems/{}'), /delete/)
  // The upload is a file body the node's edge lets through as octet-stream.
  const edge = readFileSync(new URL('../../ui-api/src/edge.rs', import.meta.url), 'utf8')
  assert.match(edge, /FILE_WRITES[^=]*=\s*\[[^\]]*"\/api\/v1\/assets\/import"/)
})
