// What an admin may hand out (store/src/auth/role.rs `may_grant`): the server decides, the
// form offers only what it would accept.
import { computed } from 'vue'
import { me, regions } from '../../session'
import type { Role } from '../../types'

const ORDER: Role[] = ['viewer', 'analyst', 'responder', 'admin', 'collector']

/** Roles the caller may grant: an admin holds every role. */
export const grantableRoles = computed<Role[]>(() => (me.value?.role === 'admin' ? ORDER : []))

/** Regions of the caller's subtree, by code. */
export const regionChoices = computed(() =>
  [...regions.value.values()].sort((a, b) => String(a.code).localeCompare(String(b.code))),
)

export interface TokenInfo {
  id: string
  name: string
  role: Role
  region: string
  department: string | null
  pii: boolean
  created: string
  expires: string | null
}

export interface UserInfo {
  name: string
  role: Role
  region: string
  department: string | null
  pii: boolean
  created: string
}
