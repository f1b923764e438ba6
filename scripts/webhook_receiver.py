#!/usr/bin/env python3
"""A webhook receiver for onewall's playbook tests.

Checks each request the way its real receiver would and records it in DIR as NNNN.json
({"path", "query", "headers", "body", "verified", "error"}):

  /generic   X-Onewall-Signature: sha256=HEX, HMAC-SHA256 of the body under --secret
  /dingtalk  query timestamp (ms) and sign = base64(HMAC-SHA256(secret, ts + "\n" + secret)),
             URL-encoded; body {"msgtype": "text", "text": {"content": ...}}
  /wecom     query key must equal --wecom-key; body {"msgtype": "text", "text": {...}}
  /feishu    body timestamp (s) and sign = base64(HMAC-SHA256(key=ts + "\n" + secret, msg="")),
             {"msg_type": "text", "content": {"text": ...}}
  /escalate  Authorization: Bearer --token (the parent node's side)
  /fail      always answers 503 (for retry tests)
  /redirect  answers 302 to /internal on the same host, with a body holding SECRET_MARKER
  /internal  (GET or POST) answers 200 with SECRET_MARKER: an address a webhook must never
             reach by a redirect; every request to it is recorded too
  /leak      answers 500 with SECRET_MARKER and control characters in its body

A failed check is answered the way the vendor answers it (a non-zero errcode/code, or 401 for
/generic). Prints "ready PORT" once listening; stops on SIGTERM.

usage: webhook_receiver.py --port PORT --dir DIR --secret S --wecom-key K [--token T]
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
# What /redirect and /internal answer; it must never show in onewall's delivery log.
SECRET_MARKER = "internal-secret-7f3a9c"


def b64_hmac(key, msg):
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def check(path, query, headers, body):
    """Returns (verified, error, status, answer)."""
    secret = ARGS.secret.encode()
    try:
        doc = json.loads(body)
    except ValueError as e:
        return False, "body is not JSON: %s" % e, 400, {"error": "bad json"}
    if path == "/generic":
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        got = headers.get("X-Onewall-Signature", "")
        if not hmac.compare_digest(want, got):
            return False, "signature mismatch", 401, {"error": "bad signature"}
        return True, None, 200, {"ok": True}
    if path == "/dingtalk":
        ts = query.get("timestamp", [""])[0]
        sign = query.get("sign", [""])[0]
        want = b64_hmac(secret, ("%s\n%s" % (ts, ARGS.secret)).encode())
        if not ts or abs(int(ts) - time.time() * 1000) > 3600_000:
            return False, "timestamp missing or stale", 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        if not hmac.compare_digest(want, sign):
            return False, "sign mismatch", 200, {"errcode": 310000, "errmsg": "sign not match"}
        if doc.get("msgtype") != "text" or "content" not in doc.get("text", {}):
            return False, "not a text message", 200, {"errcode": 40035, "errmsg": "bad message"}
        return True, None, 200, {"errcode": 0, "errmsg": "ok"}
    if path == "/wecom":
        if query.get("key", [""])[0] != ARGS.wecom_key:
            return False, "key mismatch", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if doc.get("msgtype") != "text" or "content" not in doc.get("text", {}):
            return False, "not a text message", 200, {"errcode": 40008, "errmsg": "invalid message type"}
        return True, None, 200, {"errcode": 0, "errmsg": "ok"}
    if path == "/feishu":
        ts = str(doc.get("timestamp", ""))
        sign = doc.get("sign", "")
        want = b64_hmac(("%s\n%s" % (ts, ARGS.secret)).encode(), b"")
        if not ts or abs(int(ts) - time.time()) > 3600:
            return False, "timestamp missing or stale", 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if not hmac.compare_digest(want, sign):
            return False, "sign mismatch", 200, {"code": 19021, "msg": "sign match fail"}
        if doc.get("msg_type") != "text" or "text" not in doc.get("content", {}):
            return False, "not a text message", 200, {"code": 9499, "msg": "bad request"}
        return True, None, 200, {"code": 0, "msg": "success"}
    if path == "/fail":
        return False, "always fails", 503, {"error": "unavailable"}
    if path == "/redirect":
        return False, "redirect", 302, {"error": "moved", "secret": SECRET_MARKER}
    if path == "/internal":
        return True, None, 200, {"secret": SECRET_MARKER}
    if path == "/leak":
        return False, "leak", 500, {"secret": SECRET_MARKER, "log": "\r\nFORGED log line\x1b[31m"}
    if path == "/escalate":
        auth = headers.get("Authorization", "")
        if auth != "Bearer " + ARGS.token:
            return False, "bad token", 401, {"error": "unauthorized"}
        return True, None, 202, {"ok": True}
    return False, "unknown path", 404, {"error": "not found"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.do_POST()

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if url.path in ("/redirect", "/internal"):
            verified, error, status, answer = check(url.path, query, self.headers, b"{}")
        else:
            verified, error, status, answer = check(url.path, query, self.headers, body)
        with LOCK:
            k = len([f for f in os.listdir(ARGS.dir) if f.endswith(".json")])
            rec = {
                "path": url.path,
                "query": {k2: v[0] for k2, v in query.items()},
                "headers": {k2: v for k2, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "verified": verified,
                "error": error,
            }
            tmp = os.path.join(ARGS.dir, "%04d.tmp" % k)
            with open(tmp, "w") as f:
                json.dump(rec, f, ensure_ascii=False)
            os.rename(tmp, os.path.join(ARGS.dir, "%04d.json" % k))
        out = json.dumps(answer).encode()
        self.send_response(status)
        if status == 302:
            host = "127.0.0.1:%d" % self.server.server_address[1]
            self.send_header("Location", "http://%s/internal" % host)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--wecom-key", required=True)
    p.add_argument("--token", default="parent-token")
    ARGS = p.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
