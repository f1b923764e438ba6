// Fetch a document the node makes (a 复盘, a periodic or drill report, an attachment) and save
// it under the name the node gives (`Content-Disposition`), or `fallback`. A refusal shows the
// server's message in the error banner, as every other call does.
import { authHeaders, lastError, type ApiError } from '../../api'

async function refusal(res: Response): Promise<ApiError> {
  let message = res.statusText || `HTTP ${res.status}`
  let code = `http_${res.status}`
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } }
    message = body.error?.message ?? message
    code = body.error?.code ?? code
  } catch {
    // not JSON: keep the status line
  }
  return { status: res.status, code, message }
}

/** The file name of a `Content-Disposition` header (`filename*=UTF-8''…` first). */
export function dispositionName(h: string | null): string | null {
  if (!h) return null
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(h)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim())
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(h)
  return plain ? plain[1].trim() : null
}

/** GET `url` as text (an HTML report shown inline), or `null` after showing the refusal. */
export async function fetchText(url: string): Promise<string | null> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html', ...authHeaders() } })
  if (!res.ok) {
    lastError.value = await refusal(res)
    return null
  }
  return res.text()
}

/** GET `url` and save it; answers the name saved, or `null` after showing the refusal. */
export async function download(url: string, fallback: string): Promise<string | null> {
  const res = await fetch(url, { credentials: 'same-origin', headers: authHeaders() })
  if (!res.ok) {
    lastError.value = await refusal(res)
    return null
  }
  const blob = await res.blob()
  const name = dispositionName(res.headers.get('Content-Disposition')) ?? fallback
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
  return name
}
