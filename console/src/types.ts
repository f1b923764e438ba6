// The shapes of the node's answers the console reads (see the API and the console contract).
import type { AlertTarget } from './pages/assets/assets'

export type Role = 'viewer' | 'analyst' | 'responder' | 'admin' | 'collector'

export interface Grant {
  subject: string
  kind: 'user' | 'token'
  role: Role
  region: string
  department: string | null
  pii: boolean
}

export interface Region {
  code: string
  parent: string | null
  level: string
  name: string
  name_en: string | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface Entity {
  kind: string
  value: string
}

export interface TimelineEntry {
  at: string
  actor: string
  kind: string
  [k: string]: unknown
}

export interface Incident {
  id: string
  title: string
  status: string
  severity: string
  region: string
  regions: string[]
  assignee: string | null
  team: string | null
  entities: Entity[]
  alert_ids: string[]
  rule_ids: string[]
  first_seen: string
  last_seen: string
  created: string
  updated: string
  parent: string | null
  children: string[]
  timeline: TimelineEntry[]
  classification?: { category?: string; subcategory?: string; grade?: string; tactics?: string[] }
  remote_children?: { region: string; node?: string; incident: string; status?: string }[]
  dispatches?: { region: string; at: string; by: string; note: string; team?: string | null; status?: string }[]
  remote_parent?: { region: string; node?: string; incident: string; dispatched_at?: string } | null
  /** What its alerts hit, as the asset registry knows it. */
  targets?: AlertTarget[]
  /** The drill (演练) its alerts came from. */
  drill?: string | null
}

export interface Alert {
  id: string
  time: string
  created: string
  rule: { id: string; title: string; level: string; status?: string; tags: string[] }
  severity: string
  event_ids: string[]
  entities: Entity[]
  region: string
  matched?: unknown[]
  /** The drill (演练) and planned action it was raised in. */
  drill?: { drill: string; action?: string | null } | null
  [k: string]: unknown
}

export interface Bucket {
  time: string
  count: number
}

export interface Histogram {
  kind: string
  interval: string
  from: string
  to: string
  total: number
  buckets: Bucket[]
}

export interface TopItem {
  value: string
  count: number
  title?: string
  name?: string
}

export interface SlaClock {
  id: string
  title: string
  grade: string
  status: string
  region: string
  due: string
  state: 'ok' | 'due_soon' | 'breached'
}

export interface Overview {
  region: string
  from: string
  to: string
  generated: string
  incidents: {
    open: number
    by_grade: Record<string, number>
    by_status: Record<string, number>
    sla: { due_soon: number; breached: number; clocks: SlaClock[] }
  }
  alerts: { total: number; by_severity: Record<string, number> }
  events: {
    total: number
    parse_errors: number
    by_source: { source: string; count: number; parse_errors: number; last_seen: string }[]
  }
  regions: { code: string; name: string; open_incidents: number; max_grade: string | null }[]
  top: { attackers: TopItem[]; targets: TopItem[]; rules: TopItem[]; tactics: TopItem[] }
  sources: { silent: { source: string; region: string; last_seen: string; silent_hours: number }[] }
  federation: { children: { region: string; name: string; state: string; last_seen: string | null }[] }
  reports: { date: string; children: { region: string; name: string; state: string; zero: boolean }[] }
  ingest: { status: string; problems: unknown[] }
}
