// The supervision screens' browser scenario (issue 22), run by console.test.mjs with its
// shared nodes and browser: the province's responder issues a rectification bulletin to
// Zhengzhou through the form; the city's analyst finds it in the inbox with its countdown,
// signs, answers (affected) and submits the rectification with a file; the province returns
// it with a reason, the city rectifies again, the province accepts; both consoles show every
// step, and the statistics count the return. The province declares a 重保 period and the
// banner shows on both levels; the city adds a duty shift and a handover its responder signs;
// the city's responder plans a drill from a scenario and starts it, its alerts carry the 演练
// badge and the scoreboard marks the planned action detected.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { addUser, eventually, screenshot } from './harness.mjs';

/** The bulletin's title (unique to this run's nodes). */
const TITLE = '关于 Log4j2 远程代码执行漏洞（CVE-2021-44228）的整改通报';
/** The drill's attacker: its failed passwords are the planned brute-force action. */
const DRILL_SOURCE = '198.51.100.77';

/**
 * A scenario the city replays (JSON, pasted into the plan form): one action the built-in SSH
 * rule detects, one nothing detects.
 */
function drillScenario() {
  // Events as the JSON intake takes them: without a time of their own they happen when the
  // node replays them (a syslog line would keep its own time, outside the drill's window).
  const line = (p) => ({ message: `Failed password for root from ${DRILL_SOURCE} port ${50000 + p} ssh2`, 'process.name': 'sshd', 'host.name': 'drill-web' });
  return JSON.stringify({
    name: '护网演练 e2e',
    regions: ['410100'],
    start: new Date(Date.now() - 60_000).toISOString(),
    end: new Date(Date.now() + 3600_000).toISOString(),
    mode: 'scenario',
    actions: [
      {
        id: 'brute',
        name: 'SSH 暴力破解',
        at_secs: 0,
        technique: 'T1110',
        expect: { tags: ['attack.t1110'] },
        events: [line(1), line(2), line(3)],
      },
      {
        id: 'quiet',
        name: '低频探测',
        at_secs: 0,
        events: [{ message: 'drill quiet probe nothing matches', 'process.name': 'kernel', 'host.name': 'drill-web' }],
      },
    ],
  }, null, 2);
}

/** This ISO week's label (`2026-W50`) at +08:00, the offset of the nodes' reports by default. */
function thisWeek() {
  const t = new Date(Date.now() + 8 * 3600_000);
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  d.setUTCDate(d.getUTCDate() + 4 - (d.getUTCDay() || 7));
  const week = Math.ceil(((d - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The copy of `recipient` on the bulletin detail open in `page`. */
const copyOf = (page, tid, recipient) => page.locator(`${tid('bulletin-copy')}[data-recipient="${recipient}"]`);

/** Reload `page` until the copy of `recipient` is in `state` (another level moved it). */
async function copyState(page, tid, recipient, state) {
  await eventually(`the copy of ${recipient} ${state}`, async () => {
    await page.reload();
    const c = copyOf(page, tid, recipient);
    await c.waitFor({ timeout: 5_000 });
    return (await c.getAttribute('data-state')) === state;
  }, 40_000, 500);
}

/** The scenario; `s` holds the shared world and console.test.mjs's helpers. */
export async function superviseScenario(s) {
  const { w, newPage, login, clean, tid, t } = s;
  const cityResponder = await addUser(w.city, { name: 'zz.responder', role: 'responder', region: '410100' });

  // 1. The province issues a rectification bulletin to Zhengzhou through the form.
  const prov = await newPage({ width: 1440, height: 1000 });
  await login(prov.page, w.province, w.users.responder);
  await prov.page.locator(tid('nav-supervise')).click();
  await prov.page.waitForURL(/\/ui\/supervise\/bulletins/);
  await prov.page.locator(tid('bulletin-new')).click();
  await prov.page.locator(tid('bulletin-form-title')).fill(TITLE);
  await prov.page.locator(tid('bulletin-form-level')).selectOption('red');
  await prov.page.locator(tid('bulletin-form-kind')).selectOption('rectification');
  await prov.page.locator(tid('bulletin-form-body')).fill('各单位：请立即排查 Log4j2 组件版本，升级至 2.17.1 及以上，并于时限内反馈整改情况。');
  await prov.page.locator(tid('bulletin-form-cves')).fill('CVE-2021-44228');
  await prov.page.locator(tid('bulletin-form-region-410100')).check();
  await screenshot(prov.page, 'supervise-issue', { readme: true });
  await prov.page.locator(tid('bulletin-form-send')).click();
  await prov.page.locator(tid('bulletin-detail')).waitFor();
  const id = await prov.page.locator(tid('bulletin-detail')).getAttribute('data-id');
  assert.equal(await prov.page.locator(tid('bulletin-detail')).getAttribute('data-issued-here'), 'true');
  assert.equal(await copyOf(prov.page, tid, '410100').getAttribute('data-state'), 'issued');
  assert.deepEqual(await prov.page.locator(tid('bulletin-cves')).allInnerTexts(), ['CVE-2021-44228']);

  // 2. The city's analyst finds it in the inbox: red, 待签收, the signing deadline counting down.
  await eventually('the bulletin at the city', async () => {
    const r = await w.city.api('GET', '/api/v1/bulletins?box=received');
    return r.status === 200 && r.body.items.some((v) => v.bulletin.id === id);
  });
  const city = await newPage({ width: 1440, height: 1000 });
  await login(city.page, w.city, w.users.analyst);
  await city.page.goto(w.city.url('/ui/supervise/bulletins'));
  const row = city.page.locator(`${tid('bulletin-row')}[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.locator(tid('bulletin-level')).getAttribute('data-level'), 'red');
  assert.equal(await row.locator(tid('bulletin-row-state')).getAttribute('data-state'), 'issued');
  const due = row.locator(tid('deadline'));
  assert.equal(await due.getAttribute('data-kind'), 'sign');
  assert.equal(await due.getAttribute('data-overdue'), 'false');
  assert.match(await due.innerText(), /签收\s*剩余/);
  await screenshot(city.page, 'supervise-inbox', { readme: true });

  // 3. Sign, answer (affected), rectify with a file.
  await row.click();
  await city.page.locator(tid('bulletin-detail')).waitFor();
  const mine = copyOf(city.page, tid, '410100');
  await mine.locator(tid('step-sign')).click();
  await city.page.locator(`${tid('bulletin-copy')}[data-state="signed"]`).waitFor();
  await mine.locator(tid('step-answer')).click();
  await mine.locator(tid('answer-affected-yes')).check();
  await mine.locator(tid('step-text')).fill('排查发现 2 台服务器使用 Log4j2 2.14.1，已下线待升级');
  await mine.locator(tid('step-confirm')).click();
  await city.page.locator(`${tid('bulletin-copy')}[data-state="answered"]`).waitFor();
  const rectify = async (text, file) => {
    await mine.locator(tid('step-rectify')).click();
    await mine.locator(tid('step-text')).fill(text);
    await mine.locator(tid('rectify-files')).setInputFiles(file);
    await mine.locator(tid('step-confirm')).click();
    await city.page.locator(`${tid('bulletin-copy')}[data-state="submitted"]`).waitFor();
  };
  await rectify('已升级至 2.17.1，附版本截图', { name: '整改说明.txt', mimeType: 'text/plain', buffer: Buffer.from('log4j-core-2.17.1.jar\n') });
  assert.deepEqual(await mine.locator(tid('copy-step')).evaluateAll((e) => e.map((x) => x.dataset.step)), ['sign', 'answer', 'rectify']);

  // 4. The province sees the steps, returns the rectification with a reason.
  await copyState(prov.page, tid, '410100', 'submitted');
  const theirs = copyOf(prov.page, tid, '410100');
  assert.deepEqual(await theirs.locator(tid('copy-step')).evaluateAll((e) => e.map((x) => x.dataset.step)), ['sign', 'answer', 'rectify']);
  await theirs.locator(tid('copy-step-file')).first().waitFor();
  await theirs.locator(tid('step-review')).click();
  await theirs.locator(tid('review-return')).check();
  await theirs.locator(tid('review-reason')).fill('缺少升级后的版本截图');
  await theirs.locator(tid('step-confirm')).click();
  await prov.page.locator(`${tid('bulletin-copy')}[data-state="returned"]`).waitFor();

  // 5. The city sees it returned with the reason, rectifies again; the province accepts.
  await copyState(city.page, tid, '410100', 'returned');
  assert.match((await mine.locator(tid('copy-step')).last().innerText()), /退回.*缺少升级后的版本截图/);
  await screenshot(city.page, 'supervise-bulletin', { readme: true });
  await rectify('补充升级后版本截图', { name: 'version.txt', mimeType: 'text/plain', buffer: Buffer.from('2.17.1\n') });
  await copyState(prov.page, tid, '410100', 'submitted');
  await theirs.locator(tid('step-review')).click();
  await theirs.locator(tid('review-accept')).check();
  await theirs.locator(tid('step-confirm')).click();
  await prov.page.locator(`${tid('bulletin-copy')}[data-state="accepted"]`).waitFor();
  assert.equal(await theirs.getAttribute('data-returned'), '1');
  assert.deepEqual(
    await theirs.locator(tid('copy-step')).evaluateAll((e) => e.map((x) => x.dataset.step)),
    ['sign', 'answer', 'rectify', 'review', 'rectify', 'review'],
  );
  await screenshot(prov.page, 'supervise-review', { readme: true });
  // In English too.
  await prov.page.locator(tid('lang-switch')).click();
  assert.equal(await theirs.locator(tid('copy-state')).innerText(), 'Accepted');
  assert.match(await theirs.locator(tid('copy-step')).last().innerText(), /Reviewed: accepted/);
  await prov.page.locator(tid('lang-switch')).click();
  assert.equal(await theirs.locator(tid('copy-state')).innerText(), '已通过');
  await copyState(city.page, tid, '410100', 'accepted');

  // 6. The province's statistics count Zhengzhou's return.
  await prov.page.goto(w.province.url('/ui/supervise/bulletins?box=stats'));
  const stats = prov.page.locator(`${tid('stats-row')}[data-recipient="410100"]`);
  await stats.waitFor();
  assert.equal(await stats.locator(tid('stats-returned')).innerText(), '1');
  assert.equal(await stats.locator(tid('stats-signed')).innerText(), '100%');
  await prov.page.goto(w.province.url('/ui/supervise/bulletins?box=issued'));
  const issuedRow = prov.page.locator(`${tid('bulletin-row')}[data-id="${id}"]`);
  await issuedRow.waitFor();
  assert.equal(await issuedRow.locator(`${tid('bulletin-row-copy')}[data-recipient="410100"]`).getAttribute('data-state'), 'accepted');

  // 7. The weekly report of this week (the world's incidents are today's): its figures, the
  // HTML shown in a sandboxed frame, the Word document downloaded (a .docx is a zip: PK).
  await prov.page.goto(w.province.url('/ui/supervise/reports'));
  assert.match(await prov.page.locator(tid('report-label')).inputValue(), /^\d{4}-W\d{2}$/, 'the last whole week by default');
  await prov.page.locator(tid('report-label')).fill(thisWeek());
  await prov.page.locator(tid('report-view')).click();
  const figures = prov.page.locator(tid('report-figures'));
  await figures.waitFor();
  assert.equal(await figures.getAttribute('data-label'), thisWeek());
  const incidents = Number(await figures.getAttribute('data-incidents'));
  assert.ok(incidents >= 1, `the province's incident about the attacker is counted: ${incidents}`);
  const frame = prov.page.locator(tid('report-html'));
  await frame.waitFor();
  assert.equal(await frame.getAttribute('sandbox'), '', 'the report runs no script');
  const [docx] = await Promise.all([prov.page.waitForEvent('download'), prov.page.locator(tid('report-docx')).click()]);
  assert.match(docx.suggestedFilename(), /\.docx$/);
  const bytes = readFileSync(await docx.path());
  assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'a .docx (zip) came down');
  await screenshot(prov.page, 'supervise-report', { readme: true, fullPage: true });

  // 8. A 重保 period over the province: the banner on both levels.
  await prov.page.goto(w.province.url('/ui/supervise/periods'));
  await prov.page.locator(tid('period-new')).click();
  await prov.page.locator(tid('period-form-name')).fill('e2e 重保');
  await prov.page.locator(tid('period-form-every')).fill('120');
  await prov.page.locator(tid('period-form-send')).click();
  await prov.page.locator(`${tid('period-row')}[data-name="e2e 重保"][data-phase="active"]`).waitFor();
  await prov.page.locator(`${tid('period-banner')}[data-name="e2e 重保"]`).waitFor();
  assert.match(await prov.page.locator(tid('period-banner-ends')).first().innerText(), /距结束/);
  await prov.page.locator(tid('period-detail')).waitFor();
  await screenshot(prov.page, 'supervise-period', { readme: true });
  await eventually('the period at the city', async () => {
    const r = await w.city.api('GET', '/api/v1/periods?active=true');
    return r.status === 200 && r.body.items.some((p) => p.name === 'e2e 重保');
  });

  // 9. The city's analyst adds a shift; the roster and who is on duty now show it.
  await city.page.goto(w.city.url('/ui/supervise/duty'));
  await city.page.locator(`${tid('period-banner')}[data-name="e2e 重保"]`).waitFor();
  await city.page.locator(tid('shift-new')).click();
  await city.page.locator(tid('shift-form-people')).fill('王值班,13912345678,wang@zz.example.cn,leader\n李值守,13700001111,li@zz.example.cn,member');
  await city.page.locator(tid('shift-form-note')).fill('重保白班');
  await city.page.locator(tid('shift-form-send')).click();
  await city.page.locator(`${tid('shift-row')}[data-region="410100"]`).first().waitFor();
  const now = city.page.locator(`${tid('duty-now-region')}[data-region="410100"]`);
  await now.waitFor();
  assert.match(await now.innerText(), /王值班/);
  // The people's phones are personal data: an analyst without pii sees them masked.
  assert.match(await now.innerText(), /139\*{4}5678/);
  assert.doesNotMatch(await now.innerText(), /13912345678/);
  await city.page.locator(tid('handover-new')).click();
  await city.page.locator(tid('handover-form-notes')).fill('重保期间加强巡检，关注 Log4j2 通报');
  await city.page.locator(tid('handover-form-send')).click();
  await city.page.locator(`${tid('handover-row')}[data-taken="false"]`).first().waitFor();
  await screenshot(city.page, 'supervise-duty', { readme: true });

  // 10. The city's responder signs the handover as the incoming person, plans and starts a drill.
  const resp = await newPage({ width: 1440, height: 1000 });
  await login(resp.page, w.city, cityResponder);
  await resp.page.goto(w.city.url('/ui/supervise/duty'));
  await resp.page.locator(tid('handover-sign')).first().click();
  await resp.page.locator(`${tid('handover-row')}[data-taken="true"]`).first().waitFor();
  await resp.page.goto(w.city.url('/ui/supervise/drills'));
  await resp.page.locator(tid('drill-new')).click();
  await resp.page.locator(tid('drill-form-scenario')).fill(drillScenario());
  await resp.page.locator(tid('drill-form-send')).click();
  const drillRow = resp.page.locator(`${tid('drill-row')}[data-name="护网演练 e2e"]`);
  await drillRow.waitFor();
  assert.equal(await drillRow.getAttribute('data-state'), 'planned');
  await drillRow.locator(tid('drill-start')).click();
  await resp.page.locator(`${tid('drill-row')}[data-name="护网演练 e2e"][data-state="running"]`).waitFor();
  const drillId = await drillRow.getAttribute('data-id');
  const brute = resp.page.locator(`${tid('drill-action')}[data-action="brute"]`);
  await eventually('the brute-force action detected', async () => {
    await resp.page.locator(tid('drills-refresh')).click();
    await brute.waitFor({ timeout: 5_000 });
    return (await brute.getAttribute('data-verdict')) === 'detected';
  }, 40_000, 1_000);
  assert.notEqual(await brute.locator(tid('drill-detect')).innerText(), '—');
  assert.notEqual(
    await resp.page.locator(`${tid('drill-action')}[data-action="quiet"]`).getAttribute('data-verdict'),
    'detected',
    'nothing detects the quiet probe',
  );
  await screenshot(resp.page, 'supervise-drill', { readme: true });

  // 11. The drill's alerts carry the 演练 badge in the alert list.
  await resp.page.goto(w.city.url('/ui/alerts'));
  await resp.page.locator(`${tid('drill-badge')}[data-drill="${drillId}"]`).first().waitFor();
  // ... and the drill's incident in the incident list.
  await resp.page.goto(w.city.url('/ui/incidents'));
  await resp.page.locator(`${tid('drill-badge')}[data-drill="${drillId}"]`).first().waitFor();
  t.diagnostic(`bulletin ${id}: issued, signed, answered, rectified, returned, rectified, accepted; drill ${drillId} scored`);

  for (const p of [prov, city, resp]) clean(p.problems);
}
