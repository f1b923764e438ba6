import { defineMessages } from './index'

/** ATT&CK enterprise tactics in kill-chain order. */
export const TACTICS = [
  'reconnaissance',
  'resource_development',
  'initial_access',
  'execution',
  'persistence',
  'privilege_escalation',
  'defense_evasion',
  'credential_access',
  'discovery',
  'lateral_movement',
  'collection',
  'command_and_control',
  'exfiltration',
  'impact',
] as const

export type Tactic = (typeof TACTICS)[number]

export default defineMessages<Tactic>(
  {
    reconnaissance: '侦察',
    resource_development: '资源开发',
    initial_access: '初始访问',
    execution: '执行',
    persistence: '持久化',
    privilege_escalation: '权限提升',
    defense_evasion: '防御规避',
    credential_access: '凭据访问',
    discovery: '发现',
    lateral_movement: '横向移动',
    collection: '收集',
    command_and_control: '命令与控制',
    exfiltration: '数据渗出',
    impact: '影响',
  },
  {
    reconnaissance: 'Reconnaissance',
    resource_development: 'Resource development',
    initial_access: 'Initial access',
    execution: 'Execution',
    persistence: 'Persistence',
    privilege_escalation: 'Privilege escalation',
    defense_evasion: 'Defense evasion',
    credential_access: 'Credential access',
    discovery: 'Discovery',
    lateral_movement: 'Lateral movement',
    collection: 'Collection',
    command_and_control: 'Command and control',
    exfiltration: 'Exfiltration',
    impact: 'Impact',
  },
)
