// A small typed message table: each page has its own file with `zh` and `en`, and English
// must name every key Chinese does (the compiler checks it).
import { computed, ref, type ComputedRef } from 'vue'

export type Lang = 'zh' | 'en'

const STORAGE_KEY = 'onewall.lang'

function initial(): Lang {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh'
  } catch {
    return 'zh'
  }
}

/** The language shown; zh-CN unless the user chose English. */
export const lang = ref<Lang>(initial())

export function setLang(l: Lang): void {
  lang.value = l
  try {
    localStorage.setItem(STORAGE_KEY, l)
  } catch {
    // storage may be unavailable (private mode); the choice then lasts for this page only
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en'
}

export interface Messages<K extends string> {
  zh: Record<K, string>
  en: Record<K, string>
}

/** A page's messages: `zh` first, `en` with exactly the same keys. */
export function defineMessages<K extends string>(
  zh: Record<K, string>,
  en: Record<K, string>,
): Messages<K> {
  return { zh, en }
}

/** The messages in the current language, reactive. */
export function useMessages<K extends string>(m: Messages<K>): ComputedRef<Record<K, string>> {
  return computed(() => m[lang.value])
}

/** Fill `{name}` placeholders. */
export function fmt(template: string, args: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) =>
    k in args ? String(args[k]) : all,
  )
}

/** A number with thousands separators. */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—'
  return n.toLocaleString(lang.value === 'zh' ? 'zh-CN' : 'en-US')
}

/** A time as `YYYY-MM-DD HH:MM:SS` in local time. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** A duration in seconds as `H:MM:SS` (or `Nd H:MM:SS`). */
export function duration(secs: number): string {
  const s = Math.max(0, Math.floor(secs))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const p = (n: number) => String(n).padStart(2, '0')
  const hms = `${h}:${p(m)}:${p(s % 60)}`
  return d > 0 ? `${d}d ${hms}` : hms
}
