// The browser tests' harness: real `onewall serve` processes on free loopback ports, fed through
// their real syslog (the `logger` tool) and HTTP listeners, and one headless Chromium (Debian's,
// driven by playwright-core) shared by every scenario. Everything started here is stopped by
// pid at the end and its temporary directory removed.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const repo = resolve(here, '..', '..');
/** Where every screen's screenshot is kept (ignored by git; CI keeps it as an artifact). */
export const artifacts = join(repo, 'target', 'console-artifacts');
/** The rule pack the nodes load besides the built-in rules. */
export const fixtureRules = join(here, 'fixtures', 'rules');
/** The anomaly detectors a node may load too (`ruleDirs`): one that fires within seconds. */
export const fixtureDetectors = join(here, 'fixtures', 'detectors');

/** The binary under test: `ONEWALL_BIN`, else cargo's debug build. */
export function binary() {
  if (process.env.ONEWALL_BIN) return resolve(process.env.ONEWALL_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? resolve(repo, process.env.CARGO_TARGET_DIR)
    : join(repo, 'target');
  return join(target, 'debug', 'onewall');
}

/** Every process and directory the harness made, for `stopAll`. */
const started = [];
const dirs = [];

/** A fresh temporary directory, removed by `stopAll`. */
export function tempDir(prefix = 'onewall-e2e-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A node config on 127.0.0.1 port 0 everywhere (as the Rust end-to-end tests write it). */
export function config({ name, region, data, syslogRegion = '', httpRegion = '', ruleDirs = [], extra = '' }) {
  return `version = 1
[node]
name = "${name}"
region = "${region}"
[syslog]
udp = "127.0.0.1:0"
tcp = "127.0.0.1:0"
region = "${syslogRegion}"
timezone = "+00:00"
[http]
listen = "127.0.0.1:0"
region = "${httpRegion}"
[flow]
netflow = ""
sflow = ""
[store]
path = "${data}"
[rules]
dirs = [${[fixtureRules, ...ruleDirs].map((d) => `"${d}"`).join(', ')}]
${extra}
`;
}

/**
 * Start `onewall serve` with `opts` (see `config`) and wait for its `onewall ready` line.
 * Answers the node: `{name, region, http, udp, tcp, token, pid, stderr(), api(), ...}`.
 */
export async function startNode(opts) {
  const dir = tempDir(`onewall-e2e-${opts.name}-`);
  const data = join(dir, 'data');
  const file = join(dir, 'onewall.toml');
  writeFileSync(file, config({ ...opts, data }));
  const child = spawn(binary(), ['serve', '--config', file], {
    env: { ...process.env, ONEWALL_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    stderr += s;
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });
  const addr = {};
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${opts.name} not ready in 60 s:\n${stderr}`)), 60_000);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      fail(new Error(`${opts.name} exited (${code ?? sig}) before ready:\n${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^onewall listening (\S+) (\S+)/.exec(line);
      if (m) addr[m[1]] = m[2];
      if (line.startsWith('onewall ready')) {
        clearTimeout(timer);
        ok();
      }
    });
  });
  await ready;
  if (!addr.http) throw new Error(`${opts.name}: no http address printed`);
  const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
  const node = {
    name: opts.name,
    region: opts.region,
    child,
    pid: child.pid,
    http: addr.http.startsWith('http') ? addr.http : `http://${addr.http}`,
    udpPort: port(addr.syslog_udp),
    tcpPort: port(addr.syslog_tcp),
    token,
    stderr: () => stderr,
  };
  node.url = (path) => `${node.http}${path}`;
  /** A JSON call with `token` as bearer (the admin's by default): `{status, body}`. */
  node.api = (method, path, body, bearer = token) => call(node.url(path), method, body, bearer);
  return node;
}

function port(addr) {
  return addr ? addr.slice(addr.lastIndexOf(':') + 1) : undefined;
}

/** One HTTP call; the body is JSON when it parses, else text. */
export async function call(url, method = 'GET', body = undefined, bearer = undefined, headers = {}) {
  const h = { ...headers };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  let payload;
  if (body !== undefined) {
    h['content-type'] ??= 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(url, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Like `node.api`, failing unless the answer is `want`. */
export async function must(node, method, path, body, want, bearer) {
  const r = await node.api(method, path, body, bearer);
  if (r.status !== want) {
    throw new Error(`${node.name} ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

/** A console user made by the node's admin through `POST /api/v1/users`. */
export async function addUser(node, { name, role, region, pii = false, password = 'e2e password 1' }) {
  await must(node, 'POST', '/api/v1/users', { name, password, role, region, pii }, 201);
  return { name, password, role, region };
}

/** An API token made by the node's admin: its secret. */
export async function addToken(node, { name, role, region, pii = false }) {
  const b = await must(node, 'POST', '/api/v1/tokens', { name, role, region, pii }, 201);
  return b.token;
}

/** One syslog line to `node` from the real `logger` (RFC 3164, UDP unless `tcp`). */
export function logger(node, message, { tag = 'app', priority = 'user.notice', tcp = false } = {}) {
  const args = [
    '--server', '127.0.0.1',
    '--port', tcp ? node.tcpPort : node.udpPort,
    tcp ? '--tcp' : '--udp',
    '--rfc3164', '-t', tag, '-p', priority, message,
  ];
  const r = spawnSync('logger', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`logger ${args.join(' ')}: ${r.error ?? r.stderr}`);
  }
}

/** Events through the node's HTTP collector (`POST /api/v1/ingest`). */
export async function ingest(node, events) {
  await must(node, 'POST', '/api/v1/ingest', events, 200);
}

/** Poll `f` until it answers something truthy or `ms` pass; throws `what` then. */
export async function eventually(what, f, ms = 40_000, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The incidents of `node` with an entity of value `value`, as `bearer` sees them. */
export async function incidentsWith(node, value, bearer) {
  const r = await node.api('GET', '/api/v1/incidents?limit=500', undefined, bearer);
  if (r.status !== 200) return [];
  return r.body.items.filter((i) => (i.entities ?? []).some((e) => e.value === value));
}

/** The alerts of `node` whose events' raw text holds `marker` (searched through the API). */
export async function alertsOfEventWith(node, marker) {
  const ev = await node.api('GET', `/api/v1/events?q=${encodeURIComponent(marker)}&limit=10`);
  if (ev.status !== 200 || ev.body.items.length === 0) return [];
  const ids = new Set(ev.body.items.map((e) => e.id));
  const al = await node.api('GET', '/api/v1/alerts?limit=500');
  return al.body.items.filter((a) => (a.event_ids ?? []).some((id) => ids.has(id)));
}

/** Chromium flags for this machine and CI (no sandbox, no network beside the nodes). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, headless, through playwright-core (never a downloaded browser). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
  });
}

/**
 * A screenshot of `page` as `name` in the artifacts directory, and in
 * `ONEWALL_SCREENSHOTS` too (the README's pictures) when `readme` is set.
 */
export async function screenshot(page, name, { readme = false, fullPage = false } = {}) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage });
  const docs = process.env.ONEWALL_SCREENSHOTS;
  if (readme && docs) {
    const out = resolve(repo, docs);
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
  }
}

/** Stop every node by its pid (TERM, then KILL after 20 s) and remove the temporary dirs. */
export async function stopAll() {
  await Promise.all(
    started.splice(0).map(
      (child) =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// A test run that dies on an exception, or is interrupted, still takes its nodes down.
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}
