// The nodes every browser scenario shares, and what they hold before the browser opens:
//
// - the province of Henan (410000), expecting Zhengzhou as its child (one region is enough to
//   open a province incident, so one city suffices);
// - Zhengzhou's city node (410100), pushing to the province; its syslog listener is stamped
//   410100 and its HTTP collector 410300 (Luoyang), so it holds an incident outside Zhengzhou.
//   Its one threat intelligence feed (`BROKEN_FEED`) reads a malformed STIX file. It also
//   loads `fixtures/detectors`: a `first_seen` detector (`ANOMALY_DETECTOR`) on the SSH logons
//   of one user (`ANOMALY_USER`) that learns for a second, so a network new for that user
//   raises an anomaly alert within seconds; a `rare` one on the same logons
//   (`LEARNING_DETECTOR`) learns for a day and is still learning. It sends its asset roll-up
//   to the province every 2 s, and a critical finding is due at once (so it is overdue) (the
//   asset scenario, assets.mjs).
//
// Data arrives only through the real listeners: syslog lines from `logger`, JSON through
// `POST /api/v1/ingest`. The fixture rule fires on the word `owe2e`; the built-in rules on
// sshd's failed passwords.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  addToken,
  fixtureDetectors,
  addUser,
  alertsOfEventWith,
  eventually,
  incidentsWith,
  ingest,
  launchBrowser,
  logger,
  startNode,
  tempDir,
} from './harness.mjs';

/** The attacker whose failed passwords open an incident in the city and then the province. */
export const ATTACKER = '203.0.113.66';
/** A resident ID (checksum-valid) and a mobile number, and how a user without pii sees them. */
export const RESIDENT_ID = '11010519491231002X';
export const RESIDENT_ID_MASKED = '110105********002X';
export const MOBILE = '13812345678';
export const MOBILE_MASKED = '138****5678';

/** The city's intelligence feed whose file is not a STIX bundle: the feeds screen marks it. */
export const BROKEN_FEED = 'cert-stix';

/** `[intel]` with one STIX feed read from a file whose `objects` is not a list. */
function brokenFeed() {
  const file = join(tempDir('onewall-e2e-feed-'), 'cert.json');
  writeFileSync(file, '{"type": "bundle", "id": "bundle--0e2e", "objects": 5}');
  return `[intel]\n[[intel.feeds]]\nname = "${BROKEN_FEED}"\nformat = "stix"\npath = "${file}"\ninterval_secs = 60\n`;
}

/** The e2e detector (fixtures/detectors) and the one user whose SSH logons it watches. */
export const ANOMALY_DETECTOR = 'e2e-ssh-new-network';
/** Its second detector (`rare`, learning for a day): still learning when the scenario looks. */
export const LEARNING_DETECTOR = 'e2e-ssh-rare-host';
export const ANOMALY_USER = 'owe2e-anomaly';

/** Markers of the seeded events (each opens its own incident in Zhengzhou). */
export const MARK = {
  ack: 'owe2e-ack',
  view: 'owe2e-view',
  luoyang: 'owe2e-luoyang',
  pii: 'owe2e-pii',
};

const cityFederation = (parent, token) => `[federation]
parent_url = "${parent}"
token = "${token}"
push_interval_ms = 200
heartbeat_s = 1
retry_min_ms = 200
retry_max_ms = 1000
[correlate]
entity_windows = { host = 0 }
[assets]
rollup_secs = 2
deadline_days = { critical = 0 }
`;

/** The incident holding the alert raised on the event marked `marker`. */
async function incidentOf(node, marker) {
  return eventually(`an incident for ${marker} on ${node.name}`, async () => {
    const alerts = await alertsOfEventWith(node, marker);
    if (alerts.length === 0) return null;
    const ids = new Set(alerts.map((a) => a.id));
    const r = await node.api('GET', '/api/v1/incidents?limit=500');
    const inc = r.body.items.find((i) => (i.alert_ids ?? []).some((a) => ids.has(a)));
    return inc ? { incident: inc, alert: alerts[0] } : null;
  });
}

/** Start both nodes, make the users, send the events, wait for their incidents. */
export async function makeWorld() {
  const province = await startNode({
    name: 'henan-soc',
    region: '410000',
    extra: '[federation]\nchildren = ["410100"]\nmin_regions = 1\n',
  });
  // The uplink's collector token spans the province: the city also pushes Luoyang's alerts.
  const uplink = await addToken(province, { name: 'zz-uplink', role: 'collector', region: '410000' });
  const city = await startNode({
    name: 'zhengzhou-soc',
    region: '410100',
    httpRegion: '410300',
    ruleDirs: [fixtureDetectors],
    extra: cityFederation(province.http, uplink) + brokenFeed(),
  });

  const users = {
    analyst: await addUser(city, { name: 'zz.analyst', role: 'analyst', region: '410100' }),
    viewer: await addUser(city, { name: 'zz.viewer', role: 'viewer', region: '410100' }),
    responder: await addUser(province, { name: 'henan.responder', role: 'responder', region: '410000' }),
    admin: await addUser(province, { name: 'henan.admin', role: 'admin', region: '410000' }),
  };

  logger(city, `${MARK.ack} web-01 alarm at the gateway`, { tag: 'gw-ack' });
  logger(city, `${MARK.view} web-02 alarm at the gateway`, { tag: 'gw-view', tcp: true });
  logger(city, `${MARK.pii} 来电登记 身份证 ${RESIDENT_ID} 手机 ${MOBILE}`, { tag: 'callcenter' });
  await ingest(city, {
    message: `${MARK.luoyang} ly-web alarm`,
    host: { name: 'ly-web' },
  });
  for (let p = 41000; p < 41003; p++) {
    logger(city, `Failed password for root from ${ATTACKER} port ${p} ssh2`, {
      tag: 'sshd',
      priority: 'auth.info',
    });
  }

  const seeded = {};
  for (const [k, m] of Object.entries(MARK)) seeded[k] = await incidentOf(city, m);
  if (seeded.luoyang.incident.region !== '410300') {
    throw new Error(`the Luoyang incident is in ${seeded.luoyang.incident.region}`);
  }
  const cityAttack = await eventually('the city incident about the attacker', async () =>
    (await incidentsWith(city, ATTACKER))[0],
  );
  const provinceAttack = await eventually('the province incident about the attacker', async () =>
    (await incidentsWith(province, ATTACKER))[0],
  );
  const browser = await launchBrowser();
  return { province, city, users, seeded, cityAttack, provinceAttack, browser };
}
