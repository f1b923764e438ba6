// Incident grades under GB/T 20986-2023 and alert severities, as the console shows them.
import { lang } from './i18n'

export type GradeCode = 'I' | 'II' | 'III' | 'IV'
export type SeverityName = 'informational' | 'low' | 'medium' | 'high' | 'critical'

export const GRADES: GradeCode[] = ['I', 'II', 'III', 'IV']
export const SEVERITIES: SeverityName[] = ['critical', 'high', 'medium', 'low', 'informational']

const NUMERAL: Record<GradeCode, string> = { I: 'Ⅰ', II: 'Ⅱ', III: 'Ⅲ', IV: 'Ⅳ' }
const GRADE_ZH: Record<GradeCode, string> = { I: '特别重大', II: '重大', III: '较大', IV: '一般' }
const GRADE_EN: Record<GradeCode, string> = {
  I: 'Critical',
  II: 'Major',
  III: 'Significant',
  IV: 'General',
}
const SEVERITY_ZH: Record<SeverityName, string> = {
  critical: '严重',
  high: '高',
  medium: '中',
  low: '低',
  informational: '信息',
}

export function isGrade(g: unknown): g is GradeCode {
  return g === 'I' || g === 'II' || g === 'III' || g === 'IV'
}

/** `Ⅰ 特别重大` in Chinese, `I Critical` in English. */
export function gradeLabel(g: string | null | undefined): string {
  if (!isGrade(g)) return '—'
  return lang.value === 'zh' ? `${NUMERAL[g]} ${GRADE_ZH[g]}` : `${g} ${GRADE_EN[g]}`
}

/** Just the numeral: Ⅰ Ⅱ Ⅲ Ⅳ. */
export function gradeNumeral(g: string | null | undefined): string {
  return isGrade(g) ? NUMERAL[g] : '—'
}

/** The grade a severity maps to (as the node's grading does when no policy applies). */
export function gradeOfSeverity(s: string | null | undefined): GradeCode | null {
  switch (s) {
    case 'critical':
      return 'I'
    case 'high':
      return 'II'
    case 'medium':
      return 'III'
    case 'low':
    case 'informational':
      return 'IV'
    default:
      return null
  }
}

export function severityLabel(s: string | null | undefined): string {
  if (!s) return '—'
  return lang.value === 'zh' ? (SEVERITY_ZH[s as SeverityName] ?? s) : s
}

/** The CSS colour of a grade (Ⅰ red … Ⅳ blue). */
export function gradeColor(g: string | null | undefined): string {
  switch (g) {
    case 'I':
      return '#d83b3b'
    case 'II':
      return '#e8743b'
    case 'III':
      return '#e0b028'
    case 'IV':
      return '#3d8fd1'
    default:
      return '#6b7785'
  }
}

export function severityColor(s: string | null | undefined): string {
  return gradeColor(gradeOfSeverity(s))
}
