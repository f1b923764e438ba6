// Alerts as the API answers them, and the rule list the filters offer.
import { get } from '../../api'
import type { AlertAnomaly } from '../anomaly/anomaly'
import type { AlertTarget } from '../assets/assets'
import type { AlertIntel } from '../intel/intel'

export interface Matched {
  field: string
  value: string
  selection?: string
}

export interface AlertRecord {
  id: string
  time: string
  created: string
  rule: {
    id: string
    title: string
    level: string
    status?: string | null
    tags: string[]
    attack?: { tactics?: string[]; techniques?: string[] }
  }
  severity: string
  event_ids: string[]
  entities: { kind: string; value: string }[]
  region: string
  matched?: Matched[]
  /** What an indicator raised it with (threat intelligence alerts). */
  intel?: AlertIntel | null
  /** Why a detector raised it (anomaly alerts). */
  anomaly?: AlertAnomaly | null
  /** What it hit, when the registry knows the target. */
  target?: AlertTarget | null
  /** The drill (演练) and planned action it was raised in. */
  drill?: { drill: string; action?: string | null } | null
}

export interface RuleSummary {
  id: string
  title: string
  level: string
  status?: string | null
  tags: string[]
  path: string
  description?: string | null
  author?: string | null
  falsepositives?: string[]
  logsource?: Record<string, string | null>
}

export interface CorrelationSummary extends RuleSummary {
  type: string
  rules: { reference: string; id: string | null; kind: string }[]
  group_by: string[]
  timespan_secs: number
  condition: string
  field?: string | null
  generate: boolean
}

export interface RulesView {
  rules: RuleSummary[]
  correlations: CorrelationSummary[]
  errors: string[]
}

export function loadRules() {
  return get<RulesView>('/api/v1/rules')
}

/** The tactics of an alert: its rule's `attack`, else read from the tags. */
export function tacticsOf(a: AlertRecord): string[] {
  if (a.rule.attack?.tactics?.length) return a.rule.attack.tactics
  return a.rule.tags.filter((t) => t.startsWith('attack.') && !/^attack\.t\d/.test(t)).map((t) => t.slice(7))
}

/** The search route showing the events around `time` (± 5 minutes). */
export function searchAround(time: string, extra: Record<string, string | string[]> = {}) {
  const t = Date.parse(time)
  return {
    path: '/search',
    query: {
      ...extra,
      from: new Date(t - 300_000).toISOString(),
      to: new Date(t + 300_000).toISOString(),
    },
  }
}
