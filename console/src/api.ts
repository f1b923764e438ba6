// The one way the console talks to the node: same-origin fetch with the session cookie, or
// the wall screen's bearer token when one is kept. Errors come back as `{status, code,
// message}` from the server's `{"error":{"code","message"}}`; a 401 sends the user to login.
import { ref } from 'vue'

export interface ApiError {
  status: number
  code: string
  message: string
}

export function isApiError(e: unknown): e is ApiError {
  return typeof e === 'object' && e !== null && 'status' in e && 'message' in e
}

const WALL_TOKEN_KEY = 'onewall.wall_token'

/** The wall screen's viewer token, kept for this browser tab. */
export function wallToken(): string | null {
  try {
    return sessionStorage.getItem(WALL_TOKEN_KEY)
  } catch {
    return null
  }
}

export function setWallToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(WALL_TOKEN_KEY, token)
    else sessionStorage.removeItem(WALL_TOKEN_KEY)
  } catch {
    // no storage: the token lives only in this page's memory
  }
  memoryToken = token
}

let memoryToken: string | null = null

/** Headers every request carries (the bearer when a wall token is held). */
export function authHeaders(): Record<string, string> {
  const token = wallToken() ?? memoryToken
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/** The last request that failed, for the error banner; cleared on navigation. */
export const lastError = ref<ApiError | null>(null)

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler = () => {}

/** What to do when the node answers 401 (the router sends the user to login). */
export function setUnauthorizedHandler(h: UnauthorizedHandler): void {
  onUnauthorized = h
}

export function unauthorized(): void {
  onUnauthorized()
}

export type QueryValue = string | number | boolean | null | undefined | string[]

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Record<string, QueryValue>
  body?: unknown
  /** A body sent as it is (not JSON), with its media type (a drill's YAML scenario). */
  text?: { body: string; type: string }
  /** Do not show a failure in the global banner (the caller shows it). */
  quiet?: boolean
  /** Do not send the user to login on 401 (the login form itself). */
  no401?: boolean
  signal?: AbortSignal
}

/** `path` with `query` appended; empty values are left out, arrays repeat the key. */
export function withQuery(path: string, query?: Record<string, QueryValue>): string {
  if (!query) return path
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === null || v === undefined || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x))
    else p.append(k, String(v))
  }
  const s = p.toString()
  return s ? `${path}?${s}` : path
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`
  let message = res.statusText || `HTTP ${res.status}`
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } }
    if (body?.error) {
      code = body.error.code ?? code
      message = body.error.message ?? message
    }
  } catch {
    // not JSON: keep the status line
  }
  return { status: res.status, code, message }
}

/** Call the node's API; resolves with the JSON answer or rejects with an [`ApiError`]. */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() }
  let body: string | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  } else if (opts.text) {
    headers['Content-Type'] = opts.text.type
    body = opts.text.body
  }
  let res: Response
  try {
    res = await fetch(withQuery(path, opts.query), {
      method: opts.method ?? 'GET',
      credentials: 'same-origin',
      headers,
      body,
      signal: opts.signal,
    })
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e
    const err: ApiError = { status: 0, code: 'network', message: String((e as Error)?.message ?? e) }
    if (!opts.quiet) lastError.value = err
    throw err
  }
  if (!res.ok) {
    const err = await errorOf(res)
    if (res.status === 401 && !opts.no401) {
      onUnauthorized()
    } else if (!opts.quiet) {
      lastError.value = err
    }
    throw err
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export const get = <T>(path: string, query?: Record<string, QueryValue>, opts: RequestOptions = {}) =>
  api<T>(path, { ...opts, query })

export const post = <T>(path: string, body?: unknown, opts: RequestOptions = {}) =>
  api<T>(path, { ...opts, method: 'POST', body: body ?? {} })
