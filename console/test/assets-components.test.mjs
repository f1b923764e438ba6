// The asset screens' components rendered as the browser gets them (Vue's server renderer over
// the components compiled by the console's own Vite config): an import's result with its
// figures and every refused row, and the lifecycle actions a finding offers.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'
import { createSSRApp, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { createMemoryHistory, createRouter } from 'vue-router'

const root = fileURLToPath(new URL('..', import.meta.url))
let vite
let render

before(async () => {
  vite = await createServer({ root, logLevel: 'error', server: { middlewareMode: true, hmr: false, ws: false }, appType: 'custom' })
  const i18n = await vite.ssrLoadModule('/src/i18n/index.ts')
  render = async (path, props, lang = 'zh') => {
    i18n.lang.value = lang
    const component = (await vite.ssrLoadModule(path)).default
    return renderToString(createSSRApp({ render: () => h(component, props) }))
  }
})

after(async () => {
  await vite?.close()
})

/** The text of every element carrying `data-testid="id"` in `html` (tags stripped). */
function texts(html, id) {
  const out = []
  const re = new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>([\\s\\S]*?)</\\1>`, 'g')
  for (const m of html.matchAll(re)) out.push(m[2].replace(/<!--.*?-->/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim())
  return out.map(unescape)
}

/** HTML's escapes undone (the renderer escapes what the node sent). */
function unescape(s) {
  const named = { quot: '"', amp: '&', lt: '<', gt: '>', '#39': "'" }
  return s.replace(/&(quot|amp|lt|gt|#39);/g, (_, k) => named[k])
}

/** The value of `attr` on every element carrying `data-testid="id"`. */
function attrs(html, id, attr) {
  const re = new RegExp(`<\\w+[^>]*data-testid="${id}"[^>]*>`, 'g')
  return [...html.matchAll(re)].map((m) => new RegExp(`${attr}="([^"]*)"`).exec(m[0])?.[1])
}

const registry = {
  format: 'xlsx',
  kind: 'registry',
  registry: { rows: 6, added: 4, updated: 0, unchanged: 0, removed: 0 },
  scan: null,
  refused: [
    { place: { kind: 'row', row: 7, column: '属地' }, reason: 'region code 419999 is not a GB/T 2260 code' },
    { place: { kind: 'row', row: 5, column: '等保级别' }, reason: '等保级别 "6" is not 1–5' },
  ],
}

test('a registry import shows its figures and each refused row with row, column and reason', async () => {
  const html = await render('/src/pages/assets/ImportResult.vue', { result: registry })
  assert.deepEqual(attrs(html, 'assets-import-result', 'data-refused'), ['2'])
  assert.deepEqual(attrs(html, 'assets-import-figure', 'data-key'), ['rows', 'added', 'updated', 'unchanged', 'removed', 'refused'])
  assert.deepEqual(texts(html, 'assets-import-figure').slice(0, 2), ['行数 6', '新增 4'])
  const rows = texts(html, 'assets-refused-row')
  assert.deepEqual(rows, [
    '第 5 行，列「等保级别」 等保级别 "6" is not 1–5',
    '第 7 行，列「属地」 region code 419999 is not a GB/T 2260 code',
  ])
  assert.deepEqual(attrs(html, 'assets-refused-row', 'data-column'), ['等保级别', '属地'])
  const en = await render('/src/pages/assets/ImportResult.vue', { result: registry }, 'en')
  assert.equal(texts(en, 'assets-refused-row')[0], 'row 5, column "等保级别" 等保级别 "6" is not 1–5')
})

test('a scan import shows the scanner, hosts, ports and what became of the findings; nothing refused', async () => {
  const scan = {
    format: 'nmap', kind: 'scan', registry: null, refused: [],
    scan: { scanner: 'nmap', at: '2026-01-02T03:04:05Z', hosts: 2, ports: 5, new: 0, again: 0, reopened: 0, fixed: 0 },
  }
  const html = await render('/src/pages/assets/ImportResult.vue', { result: scan })
  assert.deepEqual(texts(html, 'assets-import-format'), ['Nmap'])
  assert.deepEqual(attrs(html, 'assets-import-figure', 'data-value').slice(0, 2), ['2', '5'])
  assert.equal(texts(html, 'assets-refused-row').length, 0)
  assert.doesNotMatch(html, /所有行均已导入/, 'a scan has no rows to speak of')
})

const finding = (status, extra = {}) => ({
  id: 'fnd-1', host: '10.0.0.5', scanner: 'csv', kind: 'vulnerability', key: 'CVE-2021-44228', cves: ['CVE-2021-44228'],
  severity: 'critical', title: 'Log4Shell', detail: '', status, first_found: '2026-01-01T00:00:00Z',
  last_found: '2026-01-01T00:00:00Z', deadline: '2026-01-08T00:00:00Z', history: [], ...extra,
})

test('a finding offers the moves of its status to a role that may work, and none otherwise', async () => {
  const moves = async (status, canWork = true, lang = 'zh') => {
    const html = await render('/src/pages/assets/FindingActions.vue', { finding: finding(status), canWork }, lang)
    return { ids: attrs(html, 'finding-move-[a-z_]+', 'data-testid'), labels: texts(html, 'finding-move-[a-z_]+') }
  }
  assert.deepEqual(await moves('open'), { ids: ['finding-move-fixing', 'finding-move-risk_accepted'], labels: ['开始整改', '接受风险'] })
  assert.deepEqual((await moves('fixing')).labels, ['接受风险', '重新打开'])
  assert.deepEqual((await moves('risk_accepted')).labels, ['重新打开'])
  assert.deepEqual((await moves('fixed')).labels, [])
  assert.deepEqual((await moves('open', false)).labels, [], 'a viewer gets no buttons')
  assert.deepEqual((await moves('open', true, 'en')).labels, ['Start fixing', 'Accept risk'])
})

test('the affected assets block names the system, who answers for it and the open CVEs', async () => {
  const i18n = await vite.ssrLoadModule('/src/i18n/index.ts')
  i18n.lang.value = 'zh'
  const Block = (await vite.ssrLoadModule('/src/pages/assets/TargetBlock.vue')).default
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { render: () => null } }] })
  const target = {
    value: '10.0.0.5', host: 'web01', system_id: 'sys-1', system: '门户网站', region: '410100', department: '市大数据局',
    ops_unit: '某运维公司', level: 3, cii: true, exposure: 'internet', open_cves: ['CVE-2021-44228'],
  }
  const app = createSSRApp({ render: () => h(Block, { targets: [target, target, { ...target, value: '10.0.0.6', host: null, open_cves: [], cii: false, level: null, exposure: 'internal' }] }) })
  app.use(router)
  await router.push('/')
  const html = await renderToString(app)
  assert.deepEqual(attrs(html, 'asset-target', 'data-value'), ['10.0.0.5', '10.0.0.6'], 'each target once')
  assert.deepEqual(texts(html, 'asset-target-department'), ['市大数据局', '市大数据局'])
  assert.deepEqual(texts(html, 'asset-target-cve'), ['CVE-2021-44228'])
  assert.deepEqual(texts(html, 'asset-level'), ['三级', '未定级'])
  assert.deepEqual(texts(html, 'asset-cii'), ['关基'])
  assert.deepEqual(texts(html, 'asset-exposure'), ['互联网', '内网'])
  assert.match(html, /href="\/assets\/findings\?cve=CVE-2021-44228&amp;host=10.0.0.5"/)
})
