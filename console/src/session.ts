// Who is logged in, and the regions they see (names for codes).
import { computed, ref } from 'vue'
import { api, lastError, post, setWallToken } from './api'
import { lang } from './i18n'
import type { Grant, Region } from './types'

export const me = ref<Grant | null>(null)
export const regions = ref<Map<string, Region>>(new Map())

/** Load the caller's grant; `null` when not logged in (401). */
export async function loadWhoami(): Promise<Grant | null> {
  try {
    me.value = await api<Grant>('/api/v1/whoami', { no401: true, quiet: true })
  } catch {
    me.value = null
  }
  if (me.value) void loadRegions()
  return me.value
}

export async function loadRegions(): Promise<void> {
  try {
    const r = await api<{ items: Region[] }>('/api/v1/regions', { quiet: true })
    regions.value = new Map(r.items.map((x) => [String(x.code), x]))
  } catch {
    // names stay codes
  }
}

/** A region's name (its code when unknown). */
export function regionName(code: string | null | undefined): string {
  if (!code) return '—'
  const r = regions.value.get(String(code))
  if (!r) return String(code)
  return lang.value === 'en' && r.name_en ? r.name_en : r.name
}

/** A region's name in the current language: the node's English name when it has one, else
 * `name` (as an answer carried it), else the code. */
export function regionLabel(code: string, name?: string | null): string {
  const r = regions.value.get(String(code))
  if (lang.value === 'en' && r?.name_en) return r.name_en
  return name || r?.name || String(code)
}

export async function login(name: string, password: string): Promise<Grant | null> {
  await post('/api/v1/login', { name, password }, { quiet: true, no401: true })
  lastError.value = null
  return loadWhoami()
}

export async function logout(): Promise<void> {
  try {
    await post('/api/v1/logout', {}, { quiet: true, no401: true })
  } finally {
    me.value = null
    setWallToken(null)
  }
}

const role = computed(() => me.value?.role)

/** What the caller's role lets it do (store/src/auth/role.rs); the server still decides. */
export const can = {
  /** comment, acknowledge, change status, link and unlink alerts */
  work: computed(() => role.value === 'analyst' || role.value === 'responder' || role.value === 'admin'),
  /** assign, override the grade, dispatch to a child region */
  direct: computed(() => role.value === 'responder' || role.value === 'admin'),
  admin: computed(() => role.value === 'admin'),
}
