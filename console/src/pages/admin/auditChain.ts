// The audit log's chain, checked in the browser: entry n stores
// hash_n = SM3(hash_{n-1} ‖ "\n" ‖ canonical JSON of entry n), as the node writes it.

/** One audit entry as `GET /api/v1/audit` answers it. */
export interface AuditEntry {
  seq: number
  at: string
  actor: string
  role: string
  scope: string
  action: string
  target: string
  result: number
  client: string
  detail: string
  prev: string
  hash: string
}

const IV = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
]

function rotl(x: number, n: number): number {
  n %= 32
  return ((x << n) | (x >>> (32 - n))) >>> 0
}

function p0(x: number): number {
  return (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0
}

function p1(x: number): number {
  return (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0
}

function compress(v: number[], b: Uint8Array, off: number): void {
  const w = new Array<number>(68)
  const w1 = new Array<number>(64)
  for (let j = 0; j < 16; j++) {
    const i = off + j * 4
    w[j] = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0
  }
  for (let j = 16; j < 68; j++) {
    w[j] = (p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0
  }
  for (let j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0
  let [a, bb, c, d, e, f, g, h] = v
  for (let j = 0; j < 64; j++) {
    const t = j < 16 ? 0x79cc4519 : 0x7a879d8a
    const ss1 = rotl((rotl(a, 12) + e + rotl(t, j)) >>> 0, 7)
    const ss2 = (ss1 ^ rotl(a, 12)) >>> 0
    const ff = j < 16 ? a ^ bb ^ c : (a & bb) | (a & c) | (bb & c)
    const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g)
    const tt1 = ((ff >>> 0) + d + ss2 + w1[j]) >>> 0
    const tt2 = ((gg >>> 0) + h + ss1 + w[j]) >>> 0
    d = c
    c = rotl(bb, 9)
    bb = a
    a = tt1
    h = g
    g = rotl(f, 19)
    f = e
    e = p0(tt2)
  }
  const out = [a, bb, c, d, e, f, g, h]
  for (let i = 0; i < 8; i++) v[i] = (v[i] ^ out[i]) >>> 0
}

/** The SM3 digest (GB/T 32905) of `data`, as 64 lowercase hex digits. */
export function sm3(data: Uint8Array): string {
  const bits = data.length * 8
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64)
  padded.set(data)
  padded[data.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(bits / 0x100000000))
  view.setUint32(padded.length - 4, bits >>> 0)
  const v = IV.slice()
  for (let off = 0; off < padded.length; off += 64) compress(v, padded, off)
  return v.map((x) => x.toString(16).padStart(8, '0')).join('')
}

/** Nanoseconds since the epoch of an RFC 3339 time, exactly (a BigInt decimal string). */
export function nanos(at: string): string {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(at)
  if (!m) throw new Error(`not an RFC 3339 time: ${at}`)
  const secs = BigInt(Math.floor(Date.parse(m[1] + m[3]) / 1000))
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9))
  return (secs * 1000000000n + frac).toString()
}

/** The hash the node stores for `e`, recomputed from its fields and `prev`. */
export function entryHash(e: AuditEntry): string {
  const parts = [
    String(e.seq),
    nanos(e.at),
    JSON.stringify(e.actor),
    JSON.stringify(e.role),
    JSON.stringify(e.scope),
    JSON.stringify(e.action),
    JSON.stringify(e.target),
    String(e.result),
  ]
  if (e.client !== '' || e.detail !== '') {
    parts.push(JSON.stringify(e.client), JSON.stringify(e.detail))
  }
  const body = `${e.prev}\n[${parts.join(',')}]`
  return sm3(new TextEncoder().encode(body))
}

/** What checking the entries shown found. */
export interface ChainState {
  /** Entries whose hash was recomputed and held. */
  checked: number
  /** Consecutive entries whose `prev` matched the one before. */
  linked: number
  /** The first entry that does not hold, and why. */
  broken: { seq: number; why: 'hash' | 'link' } | null
}

/** Check each entry's hash and, where sequence numbers follow each other, the links. */
export function checkChain(entries: AuditEntry[]): ChainState {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq)
  const state: ChainState = { checked: 0, linked: 0, broken: null }
  let before: AuditEntry | null = null
  for (const e of sorted) {
    if (entryHash(e) !== e.hash) {
      state.broken = { seq: e.seq, why: 'hash' }
      return state
    }
    state.checked++
    if (before && before.seq + 1 === e.seq) {
      if (before.hash !== e.prev) {
        state.broken = { seq: e.seq, why: 'link' }
        return state
      }
      state.linked++
    }
    before = e
  }
  return state
}
