// Event search: the query kept in the URL, the calls behind the screen, and the export.
import { authHeaders, get, lastError, withQuery, type ApiError, type QueryValue } from '../../api'
import type { Page } from '../../types'
import { queryAll, queryOne } from '../../util/timeRange'

/** One stored event as `GET /api/v1/events` answers it. */
export interface EventRecord {
  id: string
  time: string
  received: string
  region: string
  format: string
  source: { collector?: string; peer?: string; [k: string]: unknown }
  fields: Record<string, unknown>
  raw: string
  parse_error: string | null
}

/** What is searched: the parameters the lists, the histogram and the export share. */
export interface SearchQuery {
  q: string
  filters: string[]
  from: string
  to: string
}

export function queryOfRoute(query: Record<string, unknown>): SearchQuery {
  return {
    q: queryOne(query.q),
    filters: queryAll(query.filter),
    from: queryOne(query.from),
    to: queryOne(query.to),
  }
}

/** The route query of `s` (empty parts left out). */
export function routeOfQuery(s: SearchQuery): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (s.q) out.q = s.q
  if (s.filters.length) out.filter = s.filters
  if (s.from) out.from = s.from
  if (s.to) out.to = s.to
  return out
}

/** The API parameters of `s`. */
export function params(s: SearchQuery): Record<string, QueryValue> {
  return { q: s.q, filter: s.filters, from: s.from, to: s.to }
}

/** A field's value as text (what a filter compares). */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** `field:value`, the API's filter syntax. */
export function filterOf(field: string, value: unknown): string {
  return `${field}:${valueText(value)}`
}

export function searchEvents(s: SearchQuery, cursor: string | null, limit: number) {
  return get<Page<EventRecord>>('/api/v1/events', { ...params(s), cursor, limit })
}

/**
 * Download the export of `s` as `format`. A refusal (too many rows, a count that took too
 * long) shows the server's message in the error banner.
 */
export async function exportEvents(s: SearchQuery, format: 'ndjson' | 'csv', limit: number | null): Promise<string | null> {
  const url = withQuery('/api/v1/export/events', { ...params(s), format, limit })
  const res = await fetch(url, { credentials: 'same-origin', headers: authHeaders() })
  if (!res.ok) {
    let message = res.statusText || `HTTP ${res.status}`
    let code = `http_${res.status}`
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } }
      message = body.error?.message ?? message
      code = body.error?.code ?? code
    } catch {
      // not JSON: keep the status line
    }
    const err: ApiError = { status: res.status, code, message }
    lastError.value = err
    return null
  }
  const blob = await res.blob()
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
  const file = `onewall-events-${stamp}.${format}`
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = file
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
  return file
}
