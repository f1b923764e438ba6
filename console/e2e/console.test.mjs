// The console's acceptance (issue 17) in Debian's Chromium against real nodes: one browser
// and one pair of nodes (province and Zhengzhou, see world.mjs) for every scenario.
//
//   node --test console/e2e/console.test.mjs   (ONEWALL_BIN: the binary; else cargo's debug build)
//   ONEWALL_SCREENSHOTS=docs/screenshots node --test console/e2e/console.test.mjs   (the README's pictures)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { alertsOfEventWith, eventually, logger, screenshot, stopAll } from './harness.mjs';
import { assetsScenario } from './assets.mjs';
import { superviseScenario } from './supervise.mjs';
import {
  ANOMALY_DETECTOR,
  ANOMALY_USER,
  BROKEN_FEED,
  LEARNING_DETECTOR,
  MARK,
  MOBILE,
  MOBILE_MASKED,
  RESIDENT_ID,
  RESIDENT_ID_MASKED,
  makeWorld,
} from './world.mjs';

/** How long a screen may take to show what the scenario waits for. */
const UI = 15_000;

let w;

before(async () => {
  w = await makeWorld();
});

after(async () => {
  await w?.browser.close();
  await stopAll();
});

const tid = (id) => `[data-testid="${id}"]`;

/** The pages a scenario opened, pictured when it fails and closed after it. */
const openPages = new Set();

/**
 * A scenario: when it fails, every page it left open is saved to the artifacts as
 * `failed-<scenario>-<n>.png` before the failure is reported; its contexts are closed.
 */
function scenario(name, body) {
  test(name, async (t) => {
    try {
      await body(t);
    } catch (e) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      let n = 0;
      for (const page of openPages) {
        await screenshot(page, `failed-${slug}-${n++}`).catch(() => {});
      }
      throw e;
    } finally {
      for (const page of openPages) await page.context().close().catch(() => {});
      openPages.clear();
    }
  });
}

/** A fresh browser context (its own cookies and storage) at 1440×900. */
async function newPage(viewport = { width: 1440, height: 900 }) {
  const context = await w.browser.newContext({ viewport, locale: 'zh-CN', acceptDownloads: true });
  const page = await context.newPage();
  openPages.add(page);
  page.setDefaultTimeout(UI);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.hostname !== '127.0.0.1' && !['data:', 'blob:'].includes(u.protocol)) {
      problems.push(`request to another host: ${r.url()}`);
    }
  });
  return { context, page, problems };
}

/**
 * Log in through the login screen of `node` as `user`, reached as a person would: the node's
 * address, which sends a browser to the console, which sends a stranger to the login screen.
 * Answers when the header shows them.
 */
async function login(page, node, user) {
  await page.goto(node.url('/'));
  await page.waitForURL(/\/ui\/login/);
  await page.locator(tid('login-user')).fill(user.name);
  await page.locator(tid('login-password')).fill(user.password);
  await page.locator(tid('login-submit')).click();
  await page.locator(tid('whoami')).filter({ hasText: user.name }).waitFor();
}

/** The text of the timeline entries on an incident detail. */
async function timeline(page) {
  return page.locator(`${tid('incident-timeline')} ${tid('timeline-entry')}`).allInnerTexts();
}

/**
 * No request of the page went to another host (no font, script or map from elsewhere), the
 * Content-Security-Policy refused nothing, and no script failed.
 */
function clean(problems) {
  const foreign = problems.filter((p) => p.startsWith('request to another host'));
  assert.deepEqual(foreign, [], 'the console asks only its own node');
  const refused = problems.filter((p) => /Content Security Policy|Refused to/i.test(p));
  assert.deepEqual(refused, [], 'the console keeps to its Content-Security-Policy');
  const failed = problems.filter((p) => p.startsWith('page error'));
  assert.deepEqual(failed, [], 'no script error');
}

scenario('an analyst of 410100 sees only Zhengzhou, acknowledges, comments and sees the timeline grow', async (t) => {
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.analyst);
  await page.goto(w.city.url('/ui/incidents'));
  const rows = page.locator(tid('incident-row'));
  await rows.first().waitFor();
  const regions = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.region));
  const ids = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.id));
  t.diagnostic(`incident rows: ${ids.length}, regions ${[...new Set(regions)].join(',')}`);
  assert.ok(regions.every((r) => r.startsWith('4101')), `only Zhengzhou: ${regions}`);
  assert.ok(ids.includes(w.seeded.ack.incident.id), 'the Zhengzhou incident is listed');
  assert.ok(!ids.includes(w.seeded.luoyang.incident.id), 'the Luoyang incident is not');
  await screenshot(page, 'incidents');

  // The Luoyang incident is not there either when asked for by its address.
  await page.goto(w.city.url(`/ui/incidents/${w.seeded.luoyang.incident.id}`));
  await page.locator(tid('error')).waitFor();
  assert.equal(await page.locator(tid('action-acknowledge')).count(), 0);

  const id = w.seeded.ack.incident.id;
  await page.goto(w.city.url(`/ui/incidents/${id}`));
  await page.locator(tid('incident-detail')).waitFor();
  await page.locator(tid('timeline-entry')).first().waitFor();
  const before = await timeline(page);
  const statusBefore = await page.locator(tid('incident-status')).innerText();

  await page.locator(tid('action-acknowledge')).click();
  await eventually('the status shown to change', async () =>
    (await page.locator(tid('incident-status')).innerText()) !== statusBefore, UI);
  const stored = await w.city.api('GET', `/api/v1/incidents/${id}`);
  assert.equal(stored.body.status, 'acknowledged');

  const note = `已电话通知网站负责人 ${Date.now()}`;
  if (await page.locator(tid('comment-text')).count() === 0) {
    await page.locator(tid('action-comment')).click();
  }
  await page.locator(tid('comment-text')).fill(note);
  await page.locator(tid('comment-submit')).click();
  await page.locator(tid('timeline-entry')).filter({ hasText: note }).waitFor();
  const afterwards = await timeline(page);
  assert.ok(afterwards.length >= before.length + 2, `timeline ${before.length} → ${afterwards.length}`);
  assert.ok(afterwards.some((e) => e.includes(w.users.analyst.name)), 'the actor is named');
  await screenshot(page, 'incident-acknowledged');
  clean(problems);
  await context.close();
});

scenario('a viewer sees no action buttons, and a hand-made POST with its cookie gets 403', async () => {
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.viewer);
  const id = w.seeded.view.incident.id;
  await page.goto(w.city.url(`/ui/incidents/${id}`));
  await page.locator(tid('incident-detail')).waitFor();
  await page.locator(tid('timeline-entry')).first().waitFor();
  for (const action of [
    'action-acknowledge', 'action-assign', 'action-comment', 'action-status',
    'action-grade', 'action-dispatch', 'comment-submit', 'status-submit',
  ]) {
    assert.equal(await page.locator(tid(action)).count(), 0, `${action} is not rendered`);
  }
  await screenshot(page, 'incident-viewer');

  // From the page itself (its cookie, its origin, JSON): the server refuses.
  const inPage = await page.evaluate(async (path) => {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a viewer may not comment' }),
    });
    return { status: r.status, body: await r.text() };
  }, `/api/v1/incidents/${id}/comment`);
  assert.equal(inPage.status, 403, inPage.body);

  // From outside the browser, with the viewer's session cookie.
  const cookies = await context.cookies(w.city.http);
  const session = cookies.find((c) => c.name === 'onewall_session');
  assert.ok(session, `a session cookie: ${cookies.map((c) => c.name)}`);
  const r = await fetch(w.city.url(`/api/v1/incidents/${id}/acknowledge`), {
    method: 'POST',
    headers: {
      cookie: `onewall_session=${session.value}`,
      origin: w.city.http,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  assert.equal(r.status, 403, await r.text());
  const stored = await w.city.api('GET', `/api/v1/incidents/${id}`);
  assert.equal(stored.body.status, 'new', 'nothing changed');
  clean(problems);
  await context.close();
});

scenario('a province responder dispatches an incident to Zhengzhou and the city console shows it', async () => {
  const { context, page, problems } = await newPage();
  await login(page, w.province, w.users.responder);
  const pid = w.provinceAttack.id;
  await page.goto(w.province.url(`/ui/incidents/${pid}`));
  await page.locator(tid('incident-detail')).waitFor();
  await page.locator(tid('action-dispatch')).click();
  const region = page.locator(tid('dispatch-region'));
  if ((await region.evaluate((e) => e.tagName)) === 'SELECT') {
    await region.selectOption('410100');
  } else {
    await region.fill('410100');
  }
  const note = page.locator(tid('dispatch-note'));
  if (await note.count()) await note.fill('请郑州市在出口封禁 203.0.113.66');
  await page.locator(tid('dispatch-submit')).click();
  await eventually('the dispatch stored at the province', async () => {
    const inc = await w.province.api('GET', `/api/v1/incidents/${pid}`);
    return (inc.body.dispatches ?? []).some((d) => d.region === '410100');
  }, UI);
  await screenshot(page, 'dispatch-province');
  clean(problems);
  await context.close();

  // Zhengzhou's analyst sees the province as the incident's parent, and the dispatch.
  const city = await newPage();
  await login(city.page, w.city, w.users.analyst);
  const cid = w.cityAttack.id;
  await eventually('the city incident linked to the province', async () => {
    const inc = await w.city.api('GET', `/api/v1/incidents/${cid}`);
    return inc.body.remote_parent?.incident === pid;
  });
  await city.page.goto(w.city.url(`/ui/incidents/${cid}`));
  await city.page.locator(tid('incident-parent')).waitFor();
  const parent = await city.page.locator(tid('incident-parent')).innerText();
  assert.ok(parent.includes('410000') || parent.includes(pid) || parent.includes('河南'), parent);
  await city.page.locator(tid('timeline-entry')).filter({ hasText: '410000' }).first().waitFor();
  // The README's incident: Zhengzhou's, with its evidence, entities and the province's dispatch.
  await screenshot(city.page, 'incident', { readme: true });
  clean(city.problems);
  await city.context.close();
});

scenario('the wall screen with a viewer token shows a new alert within 2 s of its syslog line', async (t) => {
  const token = (await w.city.api('POST', '/api/v1/tokens', {
    name: 'duty-room-wall', role: 'viewer', region: '410100',
  })).body.token;
  assert.ok(token, 'a viewer token');
  const { context, page, problems } = await newPage({ width: 1920, height: 1080 });
  await page.goto(w.city.url(`/ui/wall#token=${token}`));
  await page.locator(tid('wall')).waitFor();
  // The contract's states: `live` once the stream is open, `reconnecting` while it is not.
  await page.locator(tid('wall-status')).filter({ hasText: /^\s*live\s*$/ }).waitFor();
  const seen = await page.locator(tid('wall-alert')).evaluateAll((as) => as.map((a) => a.dataset.id));
  // Each new item's arrival time, noted by the page as it happens.
  await page.evaluate(() => {
    window.__arrived = {};
    new MutationObserver(() => {
      for (const a of document.querySelectorAll('[data-testid="wall-alert"]')) {
        window.__arrived[a.dataset.id] ??= performance.timeOrigin + performance.now();
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  const navigations = [];
  page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));

  const latencies = [];
  for (let i = 0; i < 3; i++) {
    const marker = `owe2e-wall-${Date.now()}-${i}`;
    const sent = Date.now();
    logger(w.city, `${marker} 网站后台登录异常`, { tag: 'wall-test' });
    const id = await eventually(`the alert of ${marker}`, async () =>
      (await alertsOfEventWith(w.city, marker))[0]?.id, 10_000, 25);
    await page.locator(`${tid('wall-alert')}[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    // Noted by the observer set up before the line was sent: the same document, not reloaded.
    const arrived = await page.evaluate((a) => window.__arrived?.[a], id);
    assert.ok(arrived, `the page that was open saw ${id} arrive (no reload)`);
    assert.ok(!seen.includes(id));
    latencies.push(Math.round(arrived - sent));
  }
  t.diagnostic(`wall latency syslog line → alert on screen: ${latencies.join(' ms, ')} ms`);
  console.log(`figure: wall latency (ms) ${latencies.join(' ')}`);
  assert.ok(Math.max(...latencies) < 2000, `within 2 s: ${latencies}`);
  assert.deepEqual(navigations, [], 'no reload');
  await page.locator(tid('wall-clock')).waitFor();
  // The wall refreshes its counts a moment after a burst of alerts; the picture shows them.
  await page.waitForTimeout(2500);
  await screenshot(page, 'wall', { readme: true });
  clean(problems);
  await context.close();
});

scenario('the wall screen with a token the node does not know says so', async () => {
  const { context, page, problems } = await newPage({ width: 1920, height: 1080 });
  await page.goto(w.city.url(`/ui/wall#token=owt_${'0'.repeat(64)}`));
  await page.locator(tid('wall')).waitFor();
  // It names the token as what is wrong (the error banner, or the wall's own notice).
  await page.locator(`${tid('wall')} >> text=/令牌|token/i`).first().waitFor();
  await page.waitForTimeout(1000);
  assert.equal(await page.locator(tid('wall-alert')).count(), 0, 'no alert shown');
  assert.notEqual((await page.locator(tid('wall-status')).innerText()).trim(), 'live');
  await screenshot(page, 'wall-refused');
  clean(problems);
  await context.close();
});

scenario('without pii a resident ID and a mobile are masked in the event view, the alert and the export', async () => {
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.analyst);
  const whole = [RESIDENT_ID, MOBILE];
  const masked = [RESIDENT_ID_MASKED, MOBILE_MASKED];
  const shows = (text, what) => {
    for (const m of masked) assert.ok(text.includes(m), `${what} shows ${m}: ${text}`);
    for (const v of whole) assert.ok(!text.includes(v), `${what} hides ${v}`);
  };

  await page.goto(w.city.url(`/ui/search?q=${MARK.pii}`));
  const row = page.locator(tid('event-row')).filter({ hasText: MARK.pii }).first();
  await row.waitFor();
  shows(await row.innerText(), 'the event row');
  if (await page.locator(tid('event-raw')).count()) {
    shows((await page.locator(tid('event-raw')).allInnerTexts()).join('\n'), 'the raw line');
  }
  for (const v of whole) assert.ok(!(await page.content()).includes(v), `the search page hides ${v}`);
  await screenshot(page, 'search');

  // The exports of the current query, as the browser downloads them.
  for (const format of ['ndjson', 'csv']) {
    const download = page.waitForEvent('download');
    await page.locator(tid(`export-${format}`)).click();
    const exported = readFileSync(await (await download).path(), 'utf8');
    assert.ok(exported.includes(MARK.pii), `the ${format} export holds the event: ${exported.slice(0, 400)}`);
    shows(exported, `the ${format} export`);
  }

  await page.goto(w.city.url(`/ui/alerts/${w.seeded.pii.alert.id}`));
  await page.locator(tid('alert-detail')).waitFor();
  await page.locator(tid('alert-detail')).filter({ hasText: MARK.pii }).waitFor();
  shows(await page.locator(tid('alert-detail')).innerText(), 'the alert detail');
  for (const v of whole) assert.ok(!(await page.content()).includes(v), `the alert page hides ${v}`);
  await screenshot(page, 'alert');
  clean(problems);
  await context.close();
});

/**
 * Open the overview of `node` in `page` and answer the browser's performance timing: DOM
 * interactive and load end from the navigation entry, and when the alert chart's first frame
 * was painted (the frame after ECharts put its canvas in), all in ms from navigation start.
 */
async function overviewFigures(page, node) {
  await page.addInitScript(() => {
    window.__firstChart = null;
    const observer = new MutationObserver(() => {
      const chart = '[data-testid="chart-alerts"] canvas, [data-testid="chart-alerts"] svg';
      if (window.__firstChart === null && document.querySelector(chart)) {
        window.__firstChart = 0;
        observer.disconnect();
        requestAnimationFrame(() => { window.__firstChart = performance.now(); });
      }
    });
    observer.observe(document, { subtree: true, childList: true });
  });
  await page.goto(node.url('/ui/overview'));
  await page.locator(tid('overview')).waitFor();
  await page.waitForFunction(() => window.__firstChart > 0);
  return page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return {
      domInteractive: Math.round(n.domInteractive),
      loadEnd: Math.round(n.loadEventEnd),
      firstChart: Math.round(window.__firstChart),
    };
  });
}

scenario('the overview is interactive and draws its first chart (figures printed)', async (t) => {
  // The province's overview: Henan's cities as tiles, Zhengzhou's coloured by its open incidents.
  const { context, page, problems } = await newPage();
  await login(page, w.province, w.users.responder);
  const f = await overviewFigures(page, w.province);
  const line = `domInteractive ${f.domInteractive} ms, load end ${f.loadEnd} ms, first chart ${f.firstChart} ms`;
  t.diagnostic(`province overview: ${line}`);
  console.log(`figure: overview ${line}`);
  assert.ok(f.domInteractive < 5000 && f.loadEnd < 5000 && f.firstChart < 5000, JSON.stringify(f));
  const zz = page.locator(tid('tile-410100'));
  await eventually('Zhengzhou\'s tile with open incidents', async () =>
    Number(await zz.getAttribute('data-open')) >= 1, UI);
  assert.equal(await page.locator(tid('tile-410200')).getAttribute('data-open'), '0');
  await page.locator(`${tid('kpi-open-incidents')}`).waitFor();
  await screenshot(page, 'overview', { readme: true });
  clean(problems);
  await context.close();

  // Zhengzhou's own overview, as its analyst sees it.
  const city = await newPage();
  await login(city.page, w.city, w.users.analyst);
  const g = await overviewFigures(city.page, w.city);
  t.diagnostic(`city overview: domInteractive ${g.domInteractive} ms, load end ${g.loadEnd} ms, first chart ${g.firstChart} ms`);
  assert.ok(g.domInteractive < 5000 && g.firstChart < 5000, JSON.stringify(g));
  const open = await city.page.locator(tid('kpi-open-incidents')).innerText();
  assert.match(open, /[1-9]/, `Zhengzhou has open incidents: ${open}`);
  await screenshot(city.page, 'overview-city');
  clean(city.problems);
  await city.context.close();
});

scenario('the alerts, rules, federation and admin screens show what the province holds', async () => {
  const { context, page, problems } = await newPage();
  await login(page, w.province, w.users.admin);
  // Each screen, what it must show from the node, and what that must be.
  const screens = [
    ['alerts', '/ui/alerts', 'alert-row', async () => {
      const regions = await page.locator(tid('alert-row')).evaluateAll((rs) => rs.map((r) => r.dataset.region));
      assert.ok(regions.includes('410100'), `Zhengzhou's pushed alerts: ${regions}`);
    }],
    ['rules', '/ui/rules', 'rules-loaded', async () => {
      // The panel is drawn before the rules arrive (count 0): wait for them, then check.
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="rules-loaded"]')?.dataset.count) > 0,
        null,
        { timeout: 10_000 },
      ).catch(() => {});
      const n = Number(await page.locator(tid('rules-loaded')).getAttribute('data-count'));
      assert.ok(n >= 2, `the built-in rules and the fixture's are loaded: ${n}`);
    }],
    ['federation', '/ui/federation', 'child-row', async () => {
      const zz = page.locator(`${tid('child-row')}[data-region="410100"]`);
      await zz.waitFor();
      assert.notEqual(await zz.getAttribute('data-state'), 'never', 'Zhengzhou has pushed');
    }],
    ['admin-users', '/ui/admin/users', 'user-row', async () => {
      await page.locator(`${tid('user-row')}[data-name="henan.responder"]`).waitFor();
    }],
    ['admin-tokens', '/ui/admin/tokens', 'token-row', async () => {
      await page.locator(`${tid('token-row')}[data-name="zz-uplink"]`).waitFor();
    }],
    ['admin-audit', '/ui/admin/audit', 'audit-row', async () => {
      await page.locator(`${tid('audit-verify')}`).waitFor();
    }],
  ];
  for (const [name, path, hook, check] of screens) {
    await page.goto(w.province.url(path));
    await page.locator(tid(hook)).first().waitFor();
    await check();
    assert.equal(await page.locator(tid('error')).count(), 0, `${name}: no error banner`);
    await screenshot(page, name);
  }
  clean(problems);
  await context.close();
});

scenario('an analyst hunts through an .evtx and a damaged one; a viewer has no hunt page and gets 403', async (t) => {
  const corpus = new URL('../../../shared/corpus/evtx/', import.meta.url);
  const files = ['new-user-security.evtx', 'sample_with_a_bad_chunk_magic.evtx'].map((f) => new URL(f, corpus).pathname);
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.analyst);
  await page.locator(tid('nav-hunt')).click();
  await page.waitForURL(/\/ui\/hunt/);
  await page.locator(tid('hunt-file-input')).setInputFiles(files);
  for (const name of ['new-user-security.evtx', 'sample_with_a_bad_chunk_magic.evtx']) {
    const row = page.locator(`${tid('hunt-file-row')}[data-name="${name}"]`);
    await page.locator(`${tid('hunt-file-row')}[data-name="${name}"]:is([data-state="done"], [data-state="error"])`).waitFor();
    assert.equal(await row.getAttribute('data-state'), 'done', await row.innerText());
  }
  const rule = page.locator(`${tid('hunt-rule-row')}[data-rule-id="5f1e9a1c-0000-4000-8000-0000000004e0"]`);
  await rule.waitFor();
  const summary = page.locator(tid('hunt-summary'));
  const figures = await summary.evaluate((s) => ({ ...s.dataset }));
  t.diagnostic(`hunt summary: ${JSON.stringify(figures)}`);
  assert.ok(Number(figures.events) > 4, 'both files were read');
  assert.ok(Number(await rule.getAttribute('data-count')) >= 1, 'the 4720 rule hit');
  const damaged = page.locator(`${tid('hunt-read-error')}[data-file="sample_with_a_bad_chunk_magic.evtx"]`);
  assert.ok((await damaged.count()) >= 1, 'the damaged file shows its read errors');
  assert.match(await damaged.first().innerText(), /chunk/i);

  // The by-rule table filters the hits; a hit opens to its fields and raw record.
  await rule.click();
  const hits = page.locator(tid('hunt-hit-row'));
  await hits.first().waitFor();
  const ruleIds = await hits.evaluateAll((rs) => rs.map((r) => r.dataset.ruleId));
  assert.ok(ruleIds.every((id) => id === '5f1e9a1c-0000-4000-8000-0000000004e0'), ruleIds.join(','));
  await hits.first().click();
  await page.locator(tid('hunt-hit-detail')).waitFor();
  assert.ok((await page.locator(`${tid('hunt-hit-field')}[data-field="event.code"]`).innerText()).includes('4720'));
  assert.match(await page.locator(tid('hunt-hit-raw')).first().innerText(), /4720/);
  const download = page.waitForEvent('download');
  await page.locator(tid('hunt-export')).click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  assert.ok(csv.startsWith('\uFEFFtime,level,rule_id'), 'CSV with a BOM');
  assert.ok(csv.includes('new-user-security.evtx'), 'the file is named in the CSV');
  await screenshot(page, 'hunt', { readme: true, fullPage: true });
  clean(problems);
  await context.close();

  // A viewer: no hunt in the nav, and the endpoint refuses it before reading the body.
  const v = await newPage();
  await login(v.page, w.city, w.users.viewer);
  assert.equal(await v.page.locator(tid('nav-hunt')).count(), 0, 'no hunt page in the nav');
  const refused = await v.page.evaluate(async () => {
    const r = await fetch('/api/v1/hunt?name=x.log', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'Failed password for root',
    });
    return { status: r.status, body: await r.text() };
  });
  assert.equal(refused.status, 403, refused.body);
  await v.context.close();
});


/** A STIX 2.1 bundle written for the intel scenario: an AMBER and a RED address (TLP 2.0
 * markings), a GREEN domain and address, and a pattern of a shape the node refuses (with its
 * reason). */
function intelBundle(amber, red, earlier) {
  const tlp = {
    GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
    AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
    RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
  };
  const indicator = (n, pattern, marking, extra = {}) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--0e2e0000-0000-4000-8000-00000000000${n}`,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    pattern_type: 'stix',
    pattern,
    valid_from: '2026-01-01T00:00:00Z',
    object_marking_refs: [marking],
    ...extra,
  });
  return {
    type: 'bundle',
    id: 'bundle--0e2e0000-0000-4000-8000-000000000000',
    objects: [
      indicator(1, `[ipv4-addr:value = '${amber}']`, tlp.AMBER, {
        name: 'e2e C2 relay',
        description: 'Command-and-control relay seen by the province',
        confidence: 85,
        labels: ['c2', 'e2e'],
        kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'command-and-control' }],
      }),
      indicator(2, `[ipv4-addr:value = '${red}']`, tlp.RED, { description: 'a source that must not leave the province', confidence: 95 }),
      indicator(3, "[domain-name:value = 'e2e-c2.example']", tlp.GREEN, { confidence: 60 }),
      indicator(4, `[ipv4-addr:value = '${red}' AND domain-name:value = 'x.example']`, tlp.AMBER),
      indicator(5, `[ipv4-addr:value = '${earlier}']`, tlp.GREEN, { description: 'a scanner seen before this report', confidence: 70 }),
    ],
  };
}

scenario('the province imports a bundle; its AMBER indicator reaches the city, raises an intel alert there and is sighted', async (t) => {
  const AMBER = '198.51.100.77';
  const RED = '198.51.100.78';
  const EARLIER = '198.51.100.79';

  // The city holds an event from EARLIER before any indicator names it (its retro-hunt finds it).
  logger(w.city, `Failed password for admin from ${EARLIER} port 42000 ssh2`, { tag: 'sshd', priority: 'auth.info' });
  await eventually('the earlier event stored at the city', async () => {
    const r = await w.city.api('GET', `/api/v1/events?q=${encodeURIComponent(EARLIER)}&limit=1`);
    return r.status === 200 && r.body.items.length > 0;
  });

  // The province admin imports the bundle through the Import tab and sees the receipt.
  const p = await newPage();
  await login(p.page, w.province, w.users.admin);
  await p.page.locator(tid('nav-intel')).click();
  await p.page.waitForURL(/\/ui\/intel/);
  await p.page.locator(tid('intel-tab-import')).click();
  // Not a bundle: said before sending; a malformed bundle: the node's reason.
  await p.page.locator(tid('intel-import-text')).fill('{"type": "indicator"}');
  await p.page.locator(tid('intel-import-submit')).click();
  assert.match(await p.page.locator(tid('intel-import-error')).innerText(), /STIX 2\.1 bundle/);
  await p.page.locator(tid('intel-import-text')).fill('{"type": "bundle", "id": "bundle--0e2e", "objects": 5}');
  await p.page.locator(tid('intel-import-submit')).click();
  await p.page.locator(tid('intel-import-error')).filter({ hasText: /^400 · .*objects/ }).waitFor();
  await p.page.locator(tid('intel-import-text')).fill(JSON.stringify(intelBundle(AMBER, RED, EARLIER), null, 2));
  await p.page.locator(tid('intel-import-submit')).click();
  const receipt = p.page.locator(tid('intel-receipt'));
  await receipt.waitFor();
  const figures = await receipt.evaluate((r) => ({ ...r.dataset }));
  t.diagnostic(`receipt: ${JSON.stringify(figures)}`);
  assert.equal(figures.read, '4', 'four indicators read');
  assert.equal(figures.new, '4', 'all four new');
  assert.equal(figures.rejected, '1', 'the AND pattern refused');
  assert.match(await p.page.locator(tid('intel-rejected')).innerText(), /AND|unsupported|support/i);
  await p.page.locator(`${tid('intel-retro')}[data-status="done"]`).waitFor({ timeout: 30_000 });
  assert.ok(Number(await p.page.locator(tid('intel-retro')).getAttribute('data-events')) >= 0, 'events searched shown');
  await screenshot(p.page, 'intel-import');
  clean(p.problems);
  await p.context.close();

  // The city analyst: no Import tab; the Indicators tab lists the AMBER address under the
  // feed `parent` once the federation shared it, and never the RED one.
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.analyst);
  await page.locator(tid('nav-intel')).click();
  await page.waitForURL(/\/ui\/intel/);
  assert.equal(await page.locator(tid('intel-tab-import')).count(), 0, 'an analyst has no Import tab');
  await page.locator(tid('intel-filter-feed')).fill('parent');
  const amberRow = page.locator(`${tid('intel-indicator-row')}[data-value="${AMBER}"]`);
  await eventually('the AMBER indicator at the city', async () => {
    await page.locator(tid('intel-refresh')).click();
    await page.waitForTimeout(300);
    return (await amberRow.count()) > 0;
  }, 30_000, 200);
  assert.equal(await amberRow.getAttribute('data-feed'), 'parent');
  assert.equal(await amberRow.getAttribute('data-tlp'), 'AMBER');
  await page.waitForTimeout(1000); // a few more pushes: still no RED
  await page.locator(tid('intel-refresh')).click();
  await amberRow.waitFor();
  const values = await page.locator(tid('intel-indicator-row')).evaluateAll((rs) => rs.map((r) => r.dataset.value));
  t.diagnostic(`the city's parent feed: ${values.join(', ')}`);
  assert.ok(values.includes('e2e-c2.example'), 'the GREEN domain came too');
  assert.ok(!values.includes(RED), 'RED never left the province');
  await amberRow.click();
  const detail = page.locator(`${tid('intel-indicator-detail')}[data-value="${AMBER}"]`);
  assert.match(await detail.innerText(), /Command-and-control relay/);
  assert.match(await detail.innerText(), /TA0011/);

  // A local indicator: the node's reason for a bad one is shown; a good one is listed under
  // `local` with a delete button, and deleted.
  await page.locator(tid('intel-add-toggle')).click();
  await page.locator(tid('intel-add-value')).fill('not-an-address');
  await page.locator(tid('intel-add-reason')).fill('e2e incident');
  await page.locator(tid('intel-add-submit')).click();
  assert.match(await page.locator(tid('intel-add-error')).innerText(), /^400 · .*not-an-address/);
  await page.locator(tid('intel-add-value')).fill('192.0.2.200');
  await page.locator(tid('intel-add-tlp')).selectOption('RED');
  await page.locator(tid('intel-add-submit')).click();
  await page.locator(tid('intel-add-done')).waitFor();
  await page.locator(tid('intel-filter-feed')).fill('local');
  const local = page.locator(`${tid('intel-indicator-row')}[data-value="192.0.2.200"][data-feed="local"]`);
  await local.waitFor();
  assert.equal(await local.getAttribute('data-tlp'), 'RED');
  page.once('dialog', (d) => d.accept());
  await local.locator(tid('intel-indicator-delete')).click();
  await local.waitFor({ state: 'detached' });

  // The feeds: the broken one comes first, marked, with its error.
  await page.locator(tid('intel-tab-feeds')).click();
  const broken = page.locator(`${tid('intel-feed-row')}[data-name="${BROKEN_FEED}"]`);
  await broken.waitFor();
  assert.equal(await broken.getAttribute('data-broken'), 'true', await broken.innerText());
  assert.equal(await page.locator(tid('intel-feed-row')).first().getAttribute('data-name'), BROKEN_FEED);
  assert.match(await broken.locator(tid('intel-feed-error')).innerText(), /objects|bundle/i);
  await screenshot(page, 'intel-feeds');

  // A syslog line at the city from the AMBER address: an intel alert, its detail names the
  // indicator; the Sightings tab shows Zhengzhou's sighting and links to the intel alerts.
  logger(w.city, `Failed password for root from ${AMBER} port 42100 ssh2`, { tag: 'sshd', priority: 'auth.info' });
  await page.locator(tid('intel-tab-sightings')).click();
  const sighting = page.locator(`${tid('intel-sighting-row')}[data-value="${AMBER}"][data-region="410100"]`);
  await eventually('the city sighting', async () => {
    await page.locator(tid('intel-sightings-refresh')).click();
    await page.waitForTimeout(300);
    return (await sighting.count()) > 0;
  }, 30_000, 200);
  assert.ok(Number(await sighting.getAttribute('data-count')) >= 1);
  assert.match(await sighting.innerText(), /郑州/);
  await sighting.locator(tid('intel-sighting-alerts')).click();
  await page.waitForURL(/\/ui\/alerts\?rule_id=intel\.ip/);
  const marked = page.locator(tid('alert-row')).filter({ has: page.locator(`${tid('alert-intel-mark')}[data-value="${AMBER}"]`) });
  await eventually('the intel alert in the list', async () => {
    if ((await marked.count()) > 0) return true;
    await page.reload();
    await page.locator(tid('alert-row')).first().waitFor({ timeout: 2000 }).catch(() => {});
    return (await marked.count()) > 0;
  }, 30_000, 300);
  await marked.first().click();
  const block = page.locator(tid('alert-intel'));
  await block.waitFor();
  assert.equal(await block.getAttribute('data-value'), AMBER);
  assert.equal(await block.getAttribute('data-feed'), 'parent');
  assert.equal(await block.getAttribute('data-tlp'), 'AMBER');
  assert.equal(await block.getAttribute('data-retro'), 'false');
  const text = await block.innerText();
  assert.match(text, /Command-and-control relay/);
  assert.match(text, /source\.ip/);
  assert.match(text, /TLP:AMBER/);
  await screenshot(page, 'intel-alert');

  // The city's retro-hunt of the shared indicators found the earlier event: its alert is
  // marked retro in the list and in its detail.
  await page.goto(w.city.url('/ui/alerts?rule_id=intel.ip'));
  const retro = page.locator(tid('alert-row')).filter({ has: page.locator(`${tid('alert-intel-mark')}[data-value="${EARLIER}"]`) });
  await eventually('the retro-hunt alert in the list', async () => {
    if ((await retro.count()) > 0) return true;
    await page.reload();
    await page.locator(tid('alert-row')).first().waitFor({ timeout: 2000 }).catch(() => {});
    return (await retro.count()) > 0;
  }, 30_000, 300);
  assert.equal(await retro.first().locator(tid('alert-retro-mark')).count(), 1, 'marked retro in the list');
  await retro.first().click();
  await page.locator(`${tid('alert-intel')}[data-value="${EARLIER}"]`).waitFor();
  assert.equal(await page.locator(tid('alert-intel')).getAttribute('data-retro'), 'true');
  assert.match(await page.locator(tid('alert-intel-retro')).innerText(), /回溯命中/);

  // The intel screen as the README shows it: the city's indicators with their TLP tags.
  await page.goto(w.city.url('/ui/intel'));
  await page.locator(`${tid('intel-indicator-row')}[data-value="${AMBER}"]`).click();
  await page.locator(tid('intel-indicator-detail')).waitFor();
  await screenshot(page, 'intel', { readme: true });
  clean(problems);
  await context.close();

  // A viewer reads the screen but has neither the local indicator form nor the import.
  const v = await newPage();
  await login(v.page, w.city, w.users.viewer);
  await v.page.locator(tid('nav-intel')).click();
  await v.page.locator(`${tid('intel-indicator-row')}[data-value="${AMBER}"]`).waitFor();
  assert.equal(await v.page.locator(tid('intel-add')).count(), 0, 'no local indicator form');
  assert.equal(await v.page.locator(tid('intel-tab-import')).count(), 0, 'no import tab');
  clean(v.problems);
  await v.context.close();
});

/** An SSH logon of the e2e detector's user from `ip`, through the city's syslog. */
function logon(ip, port) {
  logger(w.city, `Accepted password for ${ANOMALY_USER} from ${ip} port ${port} ssh2`, { tag: 'sshd', priority: 'auth.info' });
}

scenario('a user logs in from a network new for them: the anomaly screen and the alert explain it, in Chinese and in English', async (t) => {
  const KNOWN = '198.18.0.10';
  const NEW = '198.18.77.10';
  const detectorOf = async () => {
    const r = await w.city.api('GET', '/api/v1/anomaly/detectors');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.detectors.find((d) => d.id === ANOMALY_DETECTOR);
  };
  assert.ok(await detectorOf(), `the city loaded ${ANOMALY_DETECTOR}`);

  // The user's known network, until the detector has learned it (its learning is one second of
  // event time); then a logon from a network it never saw for them.
  logon(KNOWN, 50001);
  await eventually('the known network observed', async () => (await detectorOf())?.status?.observed >= 1);
  await new Promise((r) => setTimeout(r, 2100));
  logon(KNOWN, 50002);
  await eventually('the detector done learning', async () => {
    const d = await detectorOf();
    return d?.status?.observed >= 2 && d.status.learning === false;
  });
  logon(NEW, 50003);
  const fired = await eventually('the anomaly alert', async () => {
    const r = await w.city.api('GET', `/api/v1/anomaly/alerts?detector=${ANOMALY_DETECTOR}&limit=10`);
    return r.status === 200 && r.body.items.find((a) => (a.anomaly?.observed ?? '').includes('198.18.77'));
  });
  t.diagnostic(`anomaly: ${JSON.stringify(fired.anomaly)}`);
  // The detect stage copies the detectors' state for the API within a second of a batch.
  await eventually('the alert counted in the detector status', async () => (await detectorOf())?.status?.alerts >= 1);

  // A viewer (every role reads the screen): the detector's row, its detail and the anomaly.
  const { context, page, problems } = await newPage();
  await login(page, w.city, w.users.viewer);
  await page.locator(tid('nav-anomaly')).click();
  await page.waitForURL(/\/ui\/anomaly/);
  const row = page.locator(`${tid('anomaly-detector-row')}[data-id="${ANOMALY_DETECTOR}"]`);
  await row.waitFor();
  assert.equal(await row.locator(tid('anomaly-kind')).innerText(), '首次出现');
  assert.equal(await row.getAttribute('data-learning'), 'active');
  assert.ok(Number(await row.getAttribute('data-alerts')) >= 1, 'its alert counted');
  assert.ok(Number(await row.getAttribute('data-groups')) >= 1, 'its group counted');
  assert.match(await page.locator(tid('anomaly-calendar')).innerText(), /UTC\+08:00 · .*2026/);
  // The rare detector saw the same logons but learns for a day: learning, with what is left.
  const learning = page.locator(`${tid('anomaly-detector-row')}[data-id="${LEARNING_DETECTOR}"]`);
  assert.equal(await learning.getAttribute('data-learning'), 'learning');
  assert.equal(await learning.locator(tid('anomaly-kind')).innerText(), '罕见');
  assert.match(await learning.locator(tid('anomaly-learning')).innerText(), /学习中 0%[\s\S]*剩余 23 小时 59 分钟/);

  const recent = page.locator(`${tid('anomaly-recent')} ${tid('anomaly-row')}[data-id="${fired.id}"]`);
  await recent.waitFor();
  assert.equal(await recent.getAttribute('data-detector'), ANOMALY_DETECTOR);
  const zh = await recent.locator(tid('anomaly-sentence')).innerText();
  assert.equal(zh, fired.anomaly.explanation_zh, 'the Chinese sentence first');
  assert.match(zh, /[\u4e00-\u9fff]/);
  assert.equal(await recent.locator(tid('anomaly-score')).getAttribute('data-level') !== null, true);

  await row.click();
  await page.waitForURL(new RegExp(`detector=${ANOMALY_DETECTOR}`));
  const detail = page.locator(`${tid('anomaly-detector-detail')}[data-id="${ANOMALY_DETECTOR}"]`);
  await detail.locator(tid('anomaly-row')).first().waitFor();
  assert.equal(await detail.locator(tid('anomaly-detector-group-by')).innerText(), 'user.name');
  assert.ok(Number(await detail.locator(tid('anomaly-detector-alerts')).innerText()) >= 1);
  // The README's picture: the whole screen (the table, the detail, the recent anomalies).
  await page.setViewportSize({ width: 1440, height: 1600 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'anomaly', { readme: true });
  await page.setViewportSize({ width: 1440, height: 900 });

  // The alert detail: the sentence first, then observed, band, score, baseline, group.
  await recent.click();
  await page.waitForURL(new RegExp(`/ui/alerts/${fired.id}`));
  const block = page.locator(tid('alert-anomaly'));
  await block.waitFor();
  assert.equal(await block.getAttribute('data-detector'), ANOMALY_DETECTOR);
  assert.equal(await block.getAttribute('data-kind'), 'first_seen');
  assert.equal(await block.locator(tid('alert-anomaly-sentence')).innerText(), fired.anomaly.explanation_zh);
  assert.match(await block.locator(tid('alert-anomaly-observed')).innerText(), /198\.18\.77/);
  assert.match(await block.locator(tid('alert-anomaly-group')).innerText(), new RegExp(`user\\.name=${ANOMALY_USER}`));
  assert.equal(await block.locator(tid('alert-anomaly-kind')).innerText(), '首次出现');
  const blockText = await block.innerText();
  assert.ok(blockText.indexOf(fired.anomaly.explanation_zh) < blockText.indexOf('观测值'), 'the sentence comes first');
  await screenshot(page, 'anomaly-alert');

  // English: the same alert explains itself in English; the list marks it as an anomaly.
  await page.locator(tid('lang-switch')).click();
  assert.equal(await block.locator(tid('alert-anomaly-sentence')).innerText(), fired.anomaly.explanation);
  assert.equal(await block.locator(tid('alert-anomaly-kind')).innerText(), 'First seen');
  await page.goto(w.city.url(`/ui/alerts?rule_id=${ANOMALY_DETECTOR}`));
  const mark = page.locator(`${tid('alert-row')}[data-id="${fired.id}"] ${tid('alert-anomaly-mark')}`);
  await mark.waitFor();
  assert.equal(await mark.getAttribute('data-kind'), 'first_seen');
  assert.match(await mark.innerText(), /anomaly · First seen/);
  await page.goto(w.city.url('/ui/anomaly'));
  await row.waitFor();
  assert.equal(await row.locator(tid('anomaly-kind')).innerText(), 'First seen');
  assert.equal(
    await page.locator(`${tid('anomaly-recent')} ${tid('anomaly-row')}[data-id="${fired.id}"] ${tid('anomaly-sentence')}`).innerText(),
    fired.anomaly.explanation,
  );
  await screenshot(page, 'anomaly-en');
  await page.locator(tid('lang-switch')).click();
  clean(problems);
  await context.close();
});

scenario('assets: a registry .xlsx and a findings CSV imported in the browser, findings moved, a Log4Shell alert weighed by its target, the province sees the roll-up', async (t) => {
  await assetsScenario({ w, newPage, login, clean, tid, timeline, t });
});

scenario('supervision: the province issues a rectification bulletin, Zhengzhou signs, answers and rectifies, the province returns it once and accepts; a 重保 banner, a duty shift and handover, a drill scored', async (t) => {
  await superviseScenario({ w, newPage, login, clean, tid, t });
});
