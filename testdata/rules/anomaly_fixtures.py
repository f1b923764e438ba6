#!/usr/bin/env python3
"""The sample event streams of the built-in anomaly detectors (rules/packs/builtin/anomaly_*.yml).

Run it from anywhere: `python3 testdata/rules/anomaly_fixtures.py`. It rewrites
`builtin/anomaly_<name>/match.ndjson` and `builtin/anomaly_<name>/nomatch.ndjson` beside
this file (`onewall rules test rules/packs/builtin --samples testdata/rules/builtin` runs
them); the random numbers come from a fixed seed per stream, so re-running it writes the same bytes.
Python's standard library only.

A stream line is one event, or a run of equal events:
`{"time": RFC3339, "repeat": N, "every_s": S, "fields": {...}}` (N events, S seconds apart,
the first at `time`). Lines are written so that the events they expand to are in time order.
The fields are those the node's parsers set (the linux_auth, windows, hillstone, pgaudit,
mysql_audit and http_access bodies, and flow records).

Each detector learns for 7 days, and a volume baseline judges an hour of the week once it has
two weeks of it, so every stream holds two weeks of ordinary traffic before the moment it
tests: `match` ends with the anomaly the detector is for, `nomatch` with ordinary traffic of
the same kind. The firewall volume detector's streams are seven weeks across the National Day
holiday of 2026 (1-7 October off, 20 September and 10 October worked): its `nomatch` must
stay quiet on the quiet holiday and on the busier first working day after it, its `match`
adds a flood on 13 October.
"""

import datetime as dt
import json
import os
import random

TZ = dt.timezone(dt.timedelta(hours=8))
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin")

# November 2026 has no holiday: the streams start on Monday 2 November.
START = dt.datetime(2026, 11, 2, tzinfo=TZ)
# The last day of ordinary traffic, Tuesday 17 November; the next day is tested.
TEST_DAY = 15

# China's 2026 calendar around National Day (State Council notice): days off and the weekend
# days worked in exchange (调休).
HOLIDAYS = {dt.date(2026, 9, 25)} | {dt.date(2026, 10, d) for d in range(1, 8)}
MAKE_UP_WORKDAYS = {dt.date(2026, 9, 20), dt.date(2026, 10, 10)}


def is_working(day):
    if day in MAKE_UP_WORKDAYS:
        return True
    if day in HOLIDAYS:
        return False
    return day.weekday() < 5


def at(day, hour, minute=0, second=0):
    """Local time `hour:minute:second` on day number `day` from the start."""
    return START + dt.timedelta(days=day, hours=hour, minutes=minute, seconds=second)


class Stream:
    def __init__(self):
        self.lines = []

    def add(self, time, fields, repeat=1, every_s=0):
        """`repeat` events from `time`, `every_s` seconds apart."""
        line = {"time": time.isoformat()}
        if repeat > 1:
            line["repeat"] = repeat
            line["every_s"] = every_s
        line["fields"] = fields
        self.lines.append((time, len(self.lines), line))

    def write(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for _, _, line in sorted(self.lines, key=lambda x: (x[0], x[1])):
                f.write(json.dumps(line, ensure_ascii=False) + "\n")


def workdays():
    """The working days up to the last ordinary day, by number."""
    return [d for d in range(TEST_DAY + 1) if (START + dt.timedelta(days=d)).weekday() < 5]


# --- the fields each parser sets ------------------------------------------------------------


def ssh_login(rng, host, user, ip, ok=True):
    method = rng.choice(["publickey", "password"])
    port = rng.randrange(40000, 60000)
    verb = "Accepted" if ok else "Failed"
    return {
        "host.name": host,
        "process.name": "sshd",
        "process.pid": rng.randrange(2000, 60000),
        "message": f"{verb} {method} for {user} from {ip} port {port} ssh2",
        "log.format": "linux_auth",
        "event.action": "ssh_login",
        "event.outcome": "success" if ok else "failure",
        "ssh.method": method,
        "user.name": user,
        "source.ip": ip,
        "source.port": port,
    }


def windows_logon(host, user, ip, logon_type="3", code="4624"):
    return {
        "host.name": host,
        "log.format": "windows",
        "event.code": code,
        "event.provider": "Microsoft-Windows-Security-Auditing",
        "winlog.channel": "Security",
        "TargetUserName": user,
        "TargetDomainName": "CORP",
        "LogonType": logon_type,
        "IpAddress": ip,
        "user.name": user,
        "user.domain": "CORP",
        "winlog.logon.type": logon_type,
        "source.ip": ip,
    }


def process_start(host, image, user="alice"):
    return {
        "host.name": host,
        "log.format": "windows",
        "event.code": "1",
        "event.provider": "Microsoft-Windows-Sysmon",
        "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
        "Image": image,
        "process.executable": image,
        "process.name": image.rsplit("\\", 1)[-1],
        "user.name": user,
        "user.domain": "CORP",
    }


def firewall_session(device, src, dst, dport):
    return {
        "host.name": device,
        "log.format": "hillstone",
        "observer.vendor": "Hillstone",
        "observer.product": "StoneOS",
        "event.action": "session",
        "source.ip": src,
        "destination.ip": dst,
        "destination.port": dport,
    }


def flow(src, dst, dport, nbytes):
    return {
        "event.kind": "event",
        "event.category": "network",
        "event.action": "netflow_flow",
        "network.transport": "tcp",
        "network.iana_number": 6,
        "source.ip": src,
        "destination.ip": dst,
        "destination.port": dport,
        "network.bytes": nbytes,
        "network.packets": max(1, nbytes // 1400),
        "observer.ip": "10.20.0.1",
    }


def mysql_query(user, rows):
    return {
        "log.format": "mysql_audit",
        "observer.vendor": "Oracle",
        "observer.product": "MySQL",
        "host.name": "db01",
        "event.action": "status",
        "event.outcome": "success",
        "account.user": user,
        "user.name": user,
        "general_data.command": "Query",
        "general_data.status": 0,
        "query_statistics.rows_sent": rows,
    }


def pgaudit(user, command, klass):
    return {
        "log.format": "pgaudit",
        "observer.vendor": "PostgreSQL",
        "observer.product": "pgAudit",
        "host.name": "pg01",
        "log.level": "log",
        "pgaudit.audit_type": "SESSION",
        "pgaudit.class": klass,
        "pgaudit.command": command,
        "event.action": command.lower(),
        "user.name": user,
    }


def http_access(server, client, status, url="/index.html"):
    return {
        "host.name": server,
        "log.format": "http_access",
        "source.ip": client,
        "http.request.method": "GET",
        "url.original": url,
        "http.version": "1.1",
        "http.response.status_code": status,
        "http.response.body.bytes": 512 if status >= 400 else 18000,
    }


# --- the streams ----------------------------------------------------------------------------

SSH_USERS = {
    "alice": ["10.20.0.", "10.30.5."],
    "bob": ["10.20.0."],
    "zhangsan": ["10.30.5.", "172.16.8."],
}


def ssh_new_network(anomaly):
    rng = random.Random(101)
    s = Stream()
    for d in workdays():
        for user, nets in SSH_USERS.items():
            for h in (9, 14):
                net = nets[(d + h) % len(nets)]
                ip = net + str(rng.randrange(2, 250))
                s.add(at(d, h, rng.randrange(60)), ssh_login(rng, "app01", user, ip))
    day = TEST_DAY + 1
    if anomaly:
        s.add(at(day, 21, 7), ssh_login(rng, "app01", "zhangsan", "203.0.113.45"))
    else:
        # A new address in a network the user came from before.
        s.add(at(day, 21, 7), ssh_login(rng, "app01", "zhangsan", "172.16.8.201"))
    return s


WIN_USERS = {"alice": ["ws-alice", "fs01"], "bob": ["ws-bob", "fs01", "mail01"]}


def windows_new_host(anomaly):
    rng = random.Random(102)
    s = Stream()
    for d in workdays():
        for user, hosts in WIN_USERS.items():
            ip = "10.20.3." + str(11 if user == "alice" else 12)
            for n, host in enumerate(hosts):
                s.add(at(d, 8 + n, rng.randrange(60)), windows_logon(host, user, ip))
    day = TEST_DAY + 1
    host = "dc01" if anomaly else "mail01"
    s.add(at(day, 16, 20), windows_logon(host, "bob", "10.20.3.12"))
    # Machine accounts and service logons are not looked at.
    s.add(at(day, 16, 25), windows_logon("dc02", "WS-ALICE$", "10.20.3.11"))
    s.add(at(day, 16, 26), windows_logon("sql01", "alice", "10.20.3.11", logon_type="5"))
    return s


def failed_logon_volume(anomaly):
    rng = random.Random(103)
    s = Stream()
    for d in workdays():
        # A mistyped password or two a day.
        for _ in range(rng.randrange(0, 3)):
            s.add(at(d, rng.randrange(8, 18), rng.randrange(60)),
                  ssh_login(rng, "app01", "alice", "10.20.0.31", ok=False))
        s.add(at(d, 9, rng.randrange(60)), windows_logon("ws-bob", "bob", "10.20.3.12",
                                                       code="4625"))
    day = TEST_DAY + 1
    if anomaly:
        # Password guessing against one account: 120 failures within the hour.
        s.add(at(day, 14, 0, 5), ssh_login(rng, "app01", "alice", "198.51.100.23", ok=False),
              repeat=120, every_s=25)
    else:
        for m in (3, 4, 6):
            s.add(at(day, 14, m), ssh_login(rng, "app01", "alice", "10.20.0.31", ok=False))
    # The next hour closes the one tested.
    s.add(at(day, 15, 30), ssh_login(rng, "app01", "alice", "10.20.0.31", ok=False))
    return s


def logon_hours(anomaly):
    rng = random.Random(104)
    s = Stream()
    for d in workdays():
        s.add(at(d, 8, 40 + rng.randrange(15)),
              ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
        s.add(at(d, 13, rng.randrange(60)), ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
        s.add(at(d, 17, rng.randrange(40)), ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
        s.add(at(d, 9, rng.randrange(60)), windows_logon("ws-alice", "alice", "10.20.3.11",
                                                       logon_type="2"))
    day = TEST_DAY + 1
    if anomaly:
        s.add(at(day, 3, 12), ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
    else:
        s.add(at(day, 9, 5), ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
        s.add(at(day, 16, 50), ssh_login(rng, "app01", "zhangsan", "10.30.5.17"))
    return s


def rare_process(anomaly):
    rng = random.Random(105)
    s = Stream()
    common = [
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\conhost.exe",
    ]
    for d in range(TEST_DAY + 1):
        # Two hours of each usual program in turn, a start every 3 minutes.
        for k, image in enumerate(common + common[:1]):
            s.add(at(d, 8 + 2 * k, rng.randrange(3)), process_start("ws01", image), repeat=40,
                  every_s=177)
    # Once, a week before: an administrator's tool.
    s.add(at(1, 11, 59, 30), process_start("ws01", "C:\\Tools\\PsExec64.exe", user="admin"))
    day = TEST_DAY + 1
    s.add(at(day, 9, 0), process_start("ws01", common[0]), repeat=4, every_s=60)
    if anomaly:
        s.add(at(day, 10, 30), process_start("ws01", "C:\\Tools\\PsExec64.exe"))
    else:
        s.add(at(day, 10, 30), process_start("ws01", common[2]))
    return s


def flow_bytes(anomaly):
    rng = random.Random(106)
    s = Stream()
    src = "10.20.1.50"
    for d in range(TEST_DAY + 1):
        working = (START + dt.timedelta(days=d)).weekday() < 5
        for h, end, busy in ((0, 8, False), (8, 18, working), (18, 24, False)):
            # A flow every 10 minutes: a few MB in working hours, less otherwise.
            size = rng.randrange(2_000_000, 5_000_000) if busy else rng.randrange(50_000, 400_000)
            s.add(at(d, h, 1), flow(src, "10.20.9.10", 443, size), repeat=(end - h) * 6,
                  every_s=600)
    day = TEST_DAY + 1
    s.add(at(day, 0, 1), flow(src, "10.20.9.10", 443, 120_000), repeat=13, every_s=600)
    if anomaly:
        # 4 GB to an outside address in the night, in flows of 400 MB.
        s.add(at(day, 2, 15), flow(src, "203.0.113.99", 443, 400_000_000), repeat=10,
              every_s=150)
    else:
        s.add(at(day, 2, 15), flow(src, "10.20.9.10", 443, 300_000))
    # The next hours close the one tested.
    s.add(at(day, 3, 1), flow(src, "10.20.9.10", 443, 150_000), repeat=12, every_s=600)
    return s


def db_rows(anomaly):
    rng = random.Random(107)
    s = Stream()
    for d in workdays():
        for h in range(8, 18, 2):
            rows = rng.randrange(20, 200)
            s.add(at(d, h, 2), mysql_query("report", rows), repeat=24, every_s=300)
    day = TEST_DAY + 1
    if anomaly:
        # The whole customer table, in the lunch hour.
        s.add(at(day, 12, 10), mysql_query("report", 250_000), repeat=8, every_s=120)
    else:
        s.add(at(day, 12, 10), mysql_query("report", 150), repeat=8, every_s=120)
    s.add(at(day, 14, 5), mysql_query("report", 100))
    return s


def db_audit_volume(anomaly):
    rng = random.Random(108)
    s = Stream()
    for d in workdays():
        for h in range(9, 18):
            n = rng.randrange(8, 14)
            s.add(at(d, h, 0, 30), pgaudit("app_rw", "SELECT", "READ"), repeat=n,
                  every_s=3600 // n - 1)
    day = TEST_DAY + 1
    for h in range(9, 11):
        s.add(at(day, h, 0, 30), pgaudit("app_rw", "SELECT", "READ"), repeat=10, every_s=300)
    if anomaly:
        # A dump: 2,000 statements in the hour.
        s.add(at(day, 11, 0, 30), pgaudit("app_rw", "SELECT", "READ"), repeat=2000,
              every_s=1.75)
    else:
        s.add(at(day, 11, 0, 30), pgaudit("app_rw", "SELECT", "READ"), repeat=12,
              every_s=290)
    s.add(at(day, 12, 5), pgaudit("app_rw", "SELECT", "READ"))
    return s


def web_errors(status_low, seed, anomaly):
    rng = random.Random(seed)
    s = Stream()
    for d in range(TEST_DAY + 1):
        working = (START + dt.timedelta(days=d)).weekday() < 5
        for h in range(0, 24, 4):
            busy = working and 8 <= h < 20
            # One to four errors an hour in working hours, none to one otherwise.
            per_hour = rng.randrange(1, 5) if busy else rng.randrange(0, 2)
            if per_hour:
                status = status_low + rng.choice([0, 2, 3, 4])
                client = "10.20.7." + str(rng.randrange(2, 200))
                m = rng.randrange(30)
                s.add(at(d, h, m), http_access("web01", client, status, "/api/orders"),
                      repeat=4 * per_hour, every_s=(4 * 3600 - m * 60) // (4 * per_hour))
    day = TEST_DAY + 1
    if anomaly:
        status = 502 if status_low == 500 else 404
        s.add(at(day, 15, 0, 10), http_access("web01", "198.51.100.77", status, "/admin.php"),
              repeat=300, every_s=1.5)
    else:
        status = 500 if status_low == 500 else 404
        s.add(at(day, 15, 0, 10), http_access("web01", "10.20.7.5", status), repeat=3,
              every_s=40)
    # A later bucket closes the one tested.
    s.add(at(day, 15, 40), http_access("web01", "10.20.7.9", status_low + 3))
    return s


# --- the firewall month across National Day ------------------------------------------------

FW_FIRST = dt.date(2026, 8, 24)
FW_LAST = dt.date(2026, 10, 13)
# Events per 10 minutes, working hours (08–18) and otherwise.
FW_BUSY = (45, 55)
FW_QUIET = (1, 2)
# The parts of a day with one rate each (start and end hour).
FW_SEGMENTS = [(0, 8), (8, 10), (10, 12), (12, 14), (14, 16), (16, 18), (18, 24)]


def firewall_volume(anomaly):
    rng = random.Random(109)
    s = Stream()
    day = FW_FIRST
    while day <= FW_LAST:
        working = is_working(day)
        first_after_holiday = day == dt.date(2026, 10, 8)
        for h, end in FW_SEGMENTS:
            start = dt.datetime(day.year, day.month, day.day, h, tzinfo=TZ)
            busy = working and 8 <= h < 18
            lo, hi = FW_BUSY if busy else FW_QUIET
            per10 = rng.randrange(lo, hi + 1)
            if busy and first_after_holiday:
                # The backlog of a week off: a busier day than usual.
                per10 = per10 * 5 // 4
            if anomaly and day == FW_LAST and h == 10:
                # Twenty minutes of a flood: 600 events in 10 minutes, then back to normal.
                s.add(start, firewall_session("fw01", "198.51.100.66", "10.20.1.10", 445),
                      repeat=1200, every_s=1)
                start += dt.timedelta(minutes=20)
            seconds = (end - h) * 3600 - (start.minute * 60)
            n = seconds * per10 // 600
            src = "10.20.%d.%d" % (rng.randrange(1, 9), rng.randrange(2, 250))
            s.add(start, firewall_session("fw01", src, "203.0.113.80", 443), repeat=n,
                  every_s=round(seconds / n, 3))
        day += dt.timedelta(days=1)
    return s


STREAMS = {
    "anomaly_ssh_new_network": ssh_new_network,
    "anomaly_windows_logon_new_host": windows_new_host,
    "anomaly_failed_logon_volume": failed_logon_volume,
    "anomaly_logon_hours": logon_hours,
    "anomaly_rare_process": rare_process,
    "anomaly_flow_bytes": flow_bytes,
    "anomaly_db_rows_sent": db_rows,
    "anomaly_db_audit_volume": db_audit_volume,
    "anomaly_web_server_errors": lambda a: web_errors(500, 110, a),
    "anomaly_web_client_errors": lambda a: web_errors(400, 111, a),
    "anomaly_firewall_volume": firewall_volume,
}


def main():
    for name, make in STREAMS.items():
        for anomaly, file in ((True, "match.ndjson"), (False, "nomatch.ndjson")):
            make(anomaly).write(os.path.join(HERE, name, file))


if __name__ == "__main__":
    main()
