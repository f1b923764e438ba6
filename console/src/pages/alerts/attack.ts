// ATT&CK tactics by their Sigma tag name, in Chinese and English, and technique links.
import { lang } from '../../i18n'

const TACTICS: Record<string, [string, string]> = {
  reconnaissance: ['侦察', 'Reconnaissance'],
  resource_development: ['资源开发', 'Resource Development'],
  initial_access: ['初始访问', 'Initial Access'],
  execution: ['执行', 'Execution'],
  persistence: ['持久化', 'Persistence'],
  privilege_escalation: ['权限提升', 'Privilege Escalation'],
  defense_evasion: ['防御规避', 'Defense Evasion'],
  credential_access: ['凭据访问', 'Credential Access'],
  discovery: ['发现', 'Discovery'],
  lateral_movement: ['横向移动', 'Lateral Movement'],
  collection: ['收集', 'Collection'],
  command_and_control: ['命令与控制', 'Command and Control'],
  exfiltration: ['数据渗出', 'Exfiltration'],
  impact: ['影响', 'Impact'],
}

/** A tactic's name in the current language (the tag itself when unknown). */
export function tacticName(t: string): string {
  const key = t.replace(/^attack\./, '').replace(/-/g, '_').toLowerCase()
  const names = TACTICS[key]
  if (!names) return t
  return lang.value === 'zh' ? names[0] : names[1]
}

/** The ATT&CK tactics and techniques of a rule's tags (`attack.persistence`, `attack.t1136.001`). */
export function attackOfTags(tags: string[]): { tactics: string[]; techniques: string[] } {
  const tactics: string[] = []
  const techniques: string[] = []
  for (const tag of tags) {
    const t = tag.toLowerCase()
    if (!t.startsWith('attack.')) continue
    const rest = t.slice(7)
    if (/^t\d{4}(\.\d{3})?$/.test(rest)) techniques.push(rest.toUpperCase())
    else if (TACTICS[rest.replace(/-/g, '_')]) tactics.push(rest)
  }
  return { tactics, techniques }
}
