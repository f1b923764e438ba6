#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chdb (ClickHouse 26.x in-process, PyPI `chdb-core`),
for the store's modern-server test tier: the real `ClickHouseStore` talks to it as to a server.

    python3 scripts/chdb_server.py DATA_DIR

prints `port N` on stdout once it listens on 127.0.0.1 (a free port) and serves until killed.
Covers what the `clickhouse` crate sends: the SQL in the body (queries) or in `query=` (inserts,
RowBinary rows in the body in ClickHouse's LZ4 block framing with `decompress=1`), `database=`,
settings as URL parameters. Answers uncompressed; errors as ClickHouse does (status 500, the
exception text). Only for tests: one chdb session, one statement at a time.
"""

import http.server
import os
import re
import sys
import tempfile
import threading
import urllib.parse

from chdb import session as chs

LOCK = threading.Lock()
SESSION = None
TMP = None

# Settings the crate may pass that are not for chdb (they change nothing for one process).
IGNORED = {"query", "database", "decompress", "compress", "default_format", "query_id",
           "insert_distributed_sync", "wait_end_of_query"}


def lz4_block(src, size):
    """Decompress one LZ4 block (the raw block format) of `size` bytes."""
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        token = src[i]
        i += 1
        lit = token >> 4
        if lit == 15:
            while True:
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        out += src[i:i + lit]
        i += lit
        if i >= n:
            break
        off = src[i] | (src[i + 1] << 8)
        i += 2
        m = token & 15
        if m == 15:
            while True:
                b = src[i]
                i += 1
                m += b
                if b != 255:
                    break
        m += 4
        start = len(out) - off
        if off <= 0 or start < 0:
            raise ValueError("lz4: bad offset")
        for k in range(m):
            out.append(out[start + k])
    if len(out) != size:
        raise ValueError(f"lz4: {len(out)} bytes, expected {size}")
    return bytes(out)


def unframe(body):
    """ClickHouse's compression framing: 16-byte checksum, method, sizes, LZ4 block; repeated."""
    out = bytearray()
    i = 0
    while i < len(body):
        method = body[i + 16]
        csize = int.from_bytes(body[i + 17:i + 21], "little")
        usize = int.from_bytes(body[i + 21:i + 25], "little")
        block = body[i + 25:i + 16 + csize]
        if method == 0x82:
            out += lz4_block(block, usize)
        elif method == 0x02:
            out += block
        else:
            raise ValueError(f"compression method {method:#x} not supported")
        i += 16 + csize
    return bytes(out)


INSERT = re.compile(r"^\s*INSERT\s+INTO\s+([\w.`]+)\s*\(([^)]*)\)\s*FORMAT\s+RowBinary\s*$",
                    re.IGNORECASE | re.DOTALL)


def run(sql, database, settings):
    if database:
        SESSION.query(f"USE {database}")
    for k, v in settings.items():
        SESSION.query(f"SET {k} = {quote(v)}")
    res = SESSION.query(sql, "RowBinary")
    return res.bytes() if res is not None else b""


def quote(v):
    return v if re.fullmatch(r"-?\d+", v) else "'" + v.replace("'", "\\'") + "'"


def insert(sql, rows, database):
    m = INSERT.match(sql)
    if not m:
        raise ValueError(f"insert not understood: {sql}")
    table = m.group(1).replace("`", "")
    cols = [c.strip().strip("`") for c in m.group(2).split(",")]
    db, _, name = table.rpartition(".")
    db = db or database
    text = SESSION.query(f"SELECT name, type FROM system.columns WHERE database = '{db}' "
                         f"AND table = '{name}'", "TSV").bytes().decode()
    types = dict(line.split("\t", 1) for line in text.splitlines() if line)
    missing = [c for c in cols if c not in types]
    if missing:
        raise ValueError(f"{db}.{name} has no column {missing[0]!r} (columns: {sorted(types)})")
    structure = ", ".join(f"`{c}` {types[c]}" for c in cols)
    path = os.path.join(TMP, "insert.bin")
    with open(path, "wb") as f:
        f.write(rows)
    SESSION.query(f"INSERT INTO `{db}`.`{name}` ({', '.join('`' + c + '`' for c in cols)}) "
                  f"SELECT * FROM file('{path}', 'RowBinary', '{structure}')")
    return b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b"Ok.\n")

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = read_chunked(self.rfile)
        database = params.get("database", "")
        settings = {k: v for k, v in params.items() if k not in IGNORED}
        try:
            with LOCK:
                if "query" in params:
                    rows = unframe(body) if params.get("decompress") == "1" else body
                    out = insert(params["query"], rows, database)
                else:
                    out = run(body.decode(), database, settings)
            self.answer(200, out)
        except Exception as e:  # the store reads the text, as from a server
            self.answer(500, f"Code: 1000. DB::Exception: {e}".encode())


def read_chunked(f):
    out = bytearray()
    while True:
        size = int(f.readline().strip() or b"0", 16)
        if size == 0:
            f.readline()
            return bytes(out)
        out += f.read(size)
        f.readline()


def main():
    global SESSION, TMP
    data = sys.argv[1]
    os.makedirs(data, exist_ok=True)
    TMP = tempfile.mkdtemp(dir=data)
    SESSION = chs.Session(os.path.join(data, "chdb"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
