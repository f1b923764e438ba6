// The live stream `/api/v1/stream` (Server-Sent Events) read with fetch and a stream reader,
// so the wall's bearer token can be sent. Reconnects with `Last-Event-ID` and says whether it
// is live or reconnecting.
import { ref, type Ref } from 'vue'
import { authHeaders, unauthorized } from './api'
import type { Alert, Incident, TimelineEntry } from './types'
import { SseParser, type Message } from './sse'

export type StreamStatus = 'connecting' | 'live' | 'reconnecting'

/** An incident as its change is streamed: without the lists that grow with it (alert ids,
 * timeline), with their counts and the newest timeline entry. Fetch the incident for the rest. */
export type IncidentBrief = Omit<Incident, 'alert_ids' | 'timeline'> & {
  grade: string
  alert_count: number
  entity_count: number
  last_change: TimelineEntry | null
}

export interface IncidentChange {
  change: 'opened' | 'changed'
  actor: string
  incident: IncidentBrief
}

export interface StreamHandlers {
  alert?: (a: Alert, id: string | null) => void
  incident?: (c: IncidentChange, id: string | null) => void
  /** Messages were lost (the node no longer holds them): refetch lists. */
  gap?: (from: number) => void
  /** Alerts past the node's per-connection rate were skipped (default: refetch as on a gap,
   * throttled). */
  skipped?: (from: number) => void
  /** The node refused the credential (401); the stream stops. */
  denied?: () => void
}

export interface Stream {
  status: Ref<StreamStatus>
  close: () => void
}

function dispatch(m: Message, h: StreamHandlers): void {
  let data: unknown
  try {
    data = JSON.parse(m.data)
  } catch {
    return
  }
  if (m.event === 'alert') h.alert?.(data as Alert, m.id)
  else if (m.event === 'incident') h.incident?.(data as IncidentChange, m.id)
  else if (m.event === 'gap') h.gap?.(Number((data as { from?: number }).from ?? 0))
  else if (m.event === 'skipped') h.skipped?.(Number((data as { from?: number }).from ?? 0))
}

/** Skipped alerts (past the node's per-connection rate) are refetched like a gap, at most
 * once every `SKIPPED_REFETCH_MS` while they keep coming. */
export const SKIPPED_REFETCH_MS = 2000

/** Open the stream; it reconnects until `close()` is called. */
export function openStream(h: StreamHandlers): Stream {
  const status = ref<StreamStatus>('connecting')
  const abort = new AbortController()
  let lastId: string | null = null
  let delay = 1000
  let closed = false
  let refetch: ReturnType<typeof setTimeout> | null = null
  const handlers: StreamHandlers = {
    ...h,
    skipped:
      h.skipped ??
      ((from) => {
        if (refetch || !h.gap) return
        refetch = setTimeout(() => {
          refetch = null
          if (!closed) h.gap?.(from)
        }, SKIPPED_REFETCH_MS)
      }),
  }

  const run = async (): Promise<void> => {
    while (!closed) {
      const parser = new SseParser()
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() }
        if (lastId !== null) headers['Last-Event-ID'] = lastId
        const res = await fetch('/api/v1/stream', {
          credentials: 'same-origin',
          headers,
          signal: abort.signal,
          cache: 'no-store',
        })
        if (res.status === 401) {
          status.value = 'reconnecting'
          if (h.denied) h.denied()
          else unauthorized()
          return
        }
        if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`)
        status.value = 'live'
        delay = 1000
        const reader = res.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          for (const m of parser.push(decoder.decode(value, { stream: true }))) dispatch(m, handlers)
          if (parser.lastId !== null) lastId = parser.lastId
        }
      } catch {
        if (closed) return
      }
      if (parser.retryMs !== null) delay = parser.retryMs
      if (closed) return
      status.value = 'reconnecting'
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 10000)
    }
  }
  void run()
  return {
    status,
    close: () => {
      closed = true
      if (refetch) clearTimeout(refetch)
      abort.abort()
    },
  }
}
