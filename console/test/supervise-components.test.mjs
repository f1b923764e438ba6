// The supervision screens' components rendered as the browser gets them (Vue's server renderer
// over the components compiled by the console's own Vite config): the deadline countdown
// (amber, red and 超期 once past), the steps a copy offers each role, a copy's steps
// timeline with its files, the slot grid and the drill scoreboard.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'
import { createSSRApp, h } from 'vue'
import { renderToString } from 'vue/server-renderer'

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
  return out
}

/** The value of `attr` on every element carrying `data-testid="id"`. */
function attrs(html, id, attr) {
  const re = new RegExp(`<\\w+[^>]*data-testid="${id}"[^>]*>`, 'g')
  return [...html.matchAll(re)].map((m) => new RegExp(`${attr}="([^"]*)"`).exec(m[0])?.[1])
}

const AT = '2026-12-07T12:00:00Z'
const T = Date.parse(AT)

test('a deadline counts down, turns amber within the hour and red with 超期 once past', async () => {
  const left = await render('/src/pages/supervise/DeadlineCountdown.vue', { at: AT, kind: 'answer', now: T - 26 * 3600_000 })
  assert.deepEqual(texts(left, 'deadline'), ['反馈 剩余 1天 02:00:00'])
  assert.deepEqual(attrs(left, 'deadline', 'data-overdue'), ['false'])
  assert.doesNotMatch(left, /class="countdown[^"]*(soon|overdue)/)
  const soon = await render('/src/pages/supervise/DeadlineCountdown.vue', { at: AT, kind: 'sign', now: T - 30 * 60_000 })
  assert.match(soon, /class="countdown soon"/)
  const past = await render('/src/pages/supervise/DeadlineCountdown.vue', { at: AT, kind: 'rectify', now: T + 90_000 })
  assert.deepEqual(texts(past, 'deadline'), ['整改 超期 00:01:30'])
  assert.deepEqual(attrs(past, 'deadline', 'data-overdue'), ['true'])
  assert.match(past, /class="countdown overdue"/)
  const en = await render('/src/pages/supervise/DeadlineCountdown.vue', { at: AT, kind: 'rectify', now: T + 90_000 }, 'en')
  assert.deepEqual(texts(en, 'deadline'), ['rectify overdue 00:01:30'])
})

const bulletin = {
  id: 'b1', issuer: '410000', issuer_node: 'henan-soc', title: '关于 CVE-2024-3400 的整改通报', level: 'red', kind: 'rectification', body: 'b',
  cves: ['CVE-2024-3400'], indicators: [], incidents: [],
  deadlines: { sign: AT, answer: AT, rectify: AT }, recipients: [{ region: '410100' }], by: 'admin', issued: AT,
}
const copy = (state, extra = {}) => ({ recipient: { region: '410100' }, state, returned: 0, overdue: [], steps: [], ...extra })
const analyst = { work: true, direct: false, department: null }
const responder = { work: true, direct: true, department: null }

test('a copy shows the recipient its next step and the issuer 复核, nothing to a viewer', async () => {
  const actions = (view, who) => render('/src/pages/supervise/CopyActions.vue', { view, copy: view.copies[0], who })
  const received = (c) => ({ bulletin, issued_here: false, copies: [c] })
  const sign = await actions(received(copy('issued')), analyst)
  assert.deepEqual(texts(sign, 'step-sign'), ['签收'])
  assert.deepEqual(attrs(sign, 'copy-actions', 'data-steps'), ['sign'])
  const answer = await actions(received(copy('signed')), analyst)
  assert.deepEqual(texts(answer, 'step-answer'), ['反馈'])
  const rectify = await actions(received(copy('returned', { affected: true, returned: 1 })), analyst)
  assert.deepEqual(texts(rectify, 'step-rectify'), ['提交整改'])
  const review = await actions({ bulletin, issued_here: true, copies: [copy('submitted', { affected: true })] }, responder)
  assert.deepEqual(texts(review, 'step-review'), ['复核'])
  const none = await actions(received(copy('issued')), { work: false, direct: false, department: null })
  assert.doesNotMatch(none, /data-testid="step-/, 'a viewer is offered no step')
  const en = await render('/src/pages/supervise/CopyActions.vue', { view: received(copy('issued')), copy: copy('issued'), who: analyst }, 'en')
  assert.deepEqual(texts(en, 'step-sign'), ['Sign'])
})

test('a copy\'s steps read in order, with the review\'s verdict and the files\' links', async () => {
  const step = (id, kind, extra) => ({ id, bulletin: 'b1', recipient: { region: '410100' }, step: kind, by: 'zz.analyst', node_region: '410100', at: AT, ...extra })
  const html = await render('/src/pages/supervise/StepTimeline.vue', {
    bulletin: 'b1',
    steps: [
      step('s1', 'sign'),
      step('s2', 'answer', { affected: true, text: '已排查 3 台' }),
      step('s3', 'rectify', { text: '已升级', attachments: [{ name: '截图.png', media_type: 'image/png', size: 3, sha256: 'ab12' }] }),
      step('s4', 'review', { accepted: false, reason: '缺少版本截图', by: 'henan.responder', node_region: '410000' }),
    ],
  })
  assert.deepEqual(attrs(html, 'copy-step', 'data-step'), ['sign', 'answer', 'rectify', 'review'])
  const lines = texts(html, 'copy-step')
  assert.match(lines[1], /反馈：受影响 — 已排查 3 台/)
  assert.match(lines[2], /提交整改（附件 1 个） — 已升级/)
  assert.match(lines[3], /henan\.responder.*复核：退回 — 缺少版本截图/)
  assert.deepEqual(attrs(html, 'copy-step-file', 'href'), ['/api/v1/bulletins/b1/attachments/ab12'])
})

test('the slot grid marks each child\'s slot on time, late, missing or waiting', async () => {
  const html = await render('/src/pages/supervise/SlotGrid.vue', {
    slots: [
      { region: '410100', slot: '2026-12-07T02:00:00Z', received: '2026-12-07T02:01:00Z', late: false, missing: false },
      { region: '410300', slot: '2026-12-07T02:00:00Z', late: false, missing: true },
    ],
  })
  assert.deepEqual(attrs(html, 'slot-row', 'data-region'), ['410100', '410300'])
  assert.deepEqual(attrs(html, 'slot-cell', 'data-state'), ['on_time', 'missing'])
  assert.deepEqual(texts(html, 'slot-cell'), ['按时', '缺报'])
  const empty = await render('/src/pages/supervise/SlotGrid.vue', { slots: [] })
  assert.match(empty, /尚无到期的报告时段/)
})

test('the drill scoreboard scores each planned action', async () => {
  const html = await render('/src/pages/supervise/DrillScoreboard.vue', {
    report: {
      drill: { id: 'd1', name: '护网', regions: ['410100'], start: AT, end: AT, mode: 'scenario', red_team: [], actions: [], issuer: '410100', by: 'a', created: AT },
      actions: [
        { action: 'brute', name: 'SSH 暴力破解', executed: AT, detected: AT, detect_secs: 4, respond_secs: 75, missed: false, alerts: 3, expected_matched: true },
        { action: 'exfil', name: 'DNS 外传', executed: AT, missed: true, alerts: 0, expected_matched: false },
      ],
      detected: 1, missed: 1, mean_detect_secs: 4, mean_respond_secs: 75, score: 50, generated: AT,
    },
  })
  assert.deepEqual(attrs(html, 'drill-action', 'data-verdict'), ['detected', 'missed'])
  assert.deepEqual(texts(html, 'drill-detect'), ['00:00:04', '—'])
  assert.deepEqual(texts(html, 'drill-respond'), ['00:01:15', '—'])
  assert.deepEqual(texts(html, 'drill-score'), ['50'])
})

test('the level badge is coloured and named; the drill badge names the drill', async () => {
  const red = await render('/src/pages/supervise/LevelBadge.vue', { level: 'red' })
  assert.deepEqual(texts(red, 'bulletin-level'), ['红色预警'])
  assert.match(red, /background:#c93434/)
  const drill = await render('/src/pages/supervise/DrillBadge.vue', { drill: 'd1', action: 'brute' })
  assert.deepEqual(texts(drill, 'drill-badge'), ['演练'])
  assert.deepEqual(attrs(drill, 'drill-badge', 'data-drill'), ['d1'])
})
