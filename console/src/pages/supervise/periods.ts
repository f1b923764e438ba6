// The 重保 periods running now, for the banner across the console: loaded when the layout
// mounts, every minute after, and again when a period is declared or ended here. A node
// without supervision (404) or a refusal leaves the list empty; nothing is shown for it.
import { ref } from 'vue'
import { get } from '../../api'
import type { Period } from './supervise'

export const activePeriods = ref<Period[]>([])

export async function refreshPeriods(): Promise<void> {
  try {
    const r = await get<{ items: Period[] }>('/api/v1/periods', { active: true }, { quiet: true })
    activePeriods.value = r.items.filter((p) => p.active !== false)
  } catch {
    activePeriods.value = []
  }
}
