// A Server-Sent Events parser (the WHATWG event-stream format): bytes in as text chunks,
// whole messages out. No imports, so it is tested on its own (test/sse.test.mjs).

export interface Message {
  id: string | null
  event: string
  data: string
}

/** Splits an SSE byte stream into messages (comments and unknown fields ignored). */
export class SseParser {
  private buf = ''
  private data: string[] = []
  private event = ''
  /** The last `id:` seen (a message without one carries it, as in the WHATWG format). */
  lastId: string | null = null
  retryMs: number | null = null

  push(chunk: string): Message[] {
    this.buf += chunk
    const out: Message[] = []
    let nl: number
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the chunk may be the first half of a CRLF: wait for the next chunk.
      if (nl === this.buf.length - 1 && this.buf[nl] === '\r') break
      const line = this.buf.slice(0, nl)
      const width = this.buf.startsWith('\r\n', nl) ? 2 : 1
      this.buf = this.buf.slice(nl + width)
      if (line === '') {
        if (this.data.length > 0) {
          out.push({ id: this.lastId, event: this.event || 'message', data: this.data.join('\n') })
        }
        this.data = []
        this.event = ''
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') this.data.push(value)
      else if (field === 'event') this.event = value
      else if (field === 'id') this.lastId = value
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
    }
    return out
  }
}
