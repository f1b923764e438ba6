// The data of the 态势 overview and the wall screen: the overview answer and the time charts,
// reloaded on demand (stream messages ask for it, at most every few seconds).
import { onBeforeUnmount, ref } from 'vue'
import { api, isApiError, lastError, type ApiError } from './api'
import type { Histogram, Overview } from './types'

export interface Situation {
  overview: Overview | null
  alerts: Histogram | null
  events: Histogram | null
  incidents: Histogram | null
}

async function quietly<T>(path: string, query: Record<string, string>): Promise<T | ApiError> {
  try {
    return await api<T>(path, { query, quiet: true })
  } catch (e) {
    if (isApiError(e)) return e
    throw e
  }
}

/** The time ranges the overview offers: span and the charts' bucket widths. */
export const RANGES = {
  '1h': { hours: 1, interval: '1m' },
  '24h': { hours: 24, interval: '15m' },
  '7d': { hours: 168, interval: '1h' },
} as const

export type RangeKey = keyof typeof RANGES

/** Load and keep the situation of `region` (the caller's own when empty) over `range`. */
export function useSituation(
  region: () => string | undefined,
  minGapMs = 3000,
  range: () => RangeKey = () => '24h',
) {
  const data = ref<Situation>({ overview: null, alerts: null, events: null, incidents: null })
  const unavailable = ref<ApiError | null>(null)
  const loading = ref(false)
  let last = 0
  let timer: ReturnType<typeof setTimeout> | null = null

  async function load(): Promise<void> {
    loading.value = true
    last = Date.now()
    const span = RANGES[range()]
    const to = new Date()
    const from = new Date(to.getTime() - span.hours * 3600 * 1000)
    const q: Record<string, string> = { from: from.toISOString(), to: to.toISOString() }
    const r = region()
    if (r) q.region = r
    const [ov, al, ev, inc] = await Promise.all([
      quietly<Overview>('/api/v1/stats/overview', q),
      quietly<Histogram>('/api/v1/stats/histogram', { ...q, kind: 'alerts', interval: span.interval }),
      quietly<Histogram>('/api/v1/stats/histogram', { ...q, kind: 'events', interval: span.interval }),
      quietly<Histogram>('/api/v1/stats/histogram', { ...q, kind: 'incidents', interval: span.interval }),
    ])
    const ok = <T,>(x: T | ApiError): T | null => (isApiError(x) ? null : x)
    const failed = [ov, al, ev, inc].find(isApiError) as ApiError | undefined
    unavailable.value = failed ?? null
    if (failed && failed.status !== 404 && failed.status !== 401) lastError.value = failed
    data.value = { overview: ok(ov), alerts: ok(al), events: ok(ev), incidents: ok(inc) }
    loading.value = false
  }

  /** Reload soon: at once when the last load is old enough, else once the gap has passed. */
  function refresh(): void {
    if (timer) return
    const wait = Math.max(0, minGapMs - (Date.now() - last))
    timer = setTimeout(() => {
      timer = null
      void load()
    }, wait)
  }

  onBeforeUnmount(() => {
    if (timer) clearTimeout(timer)
  })
  return { data, unavailable, loading, load, refresh }
}

/** A clock that ticks every second (for SLA countdowns and the wall's clock). */
export function useNow() {
  const now = ref(Date.now())
  const t = setInterval(() => (now.value = Date.now()), 1000)
  onBeforeUnmount(() => clearInterval(t))
  return now
}
