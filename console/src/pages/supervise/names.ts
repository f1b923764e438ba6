// Names the supervision screens show that depend on what this node knows of the regions.
import { regionName, regions } from '../../session'
import type { Bulletin } from './supervise'

/** The issuer's region name when this node knows the region (a parent's is outside a city
 * caller's tree), else the issuing node's name. */
export function issuerName(b: Bulletin): string {
  return regions.value.has(String(b.issuer)) ? regionName(b.issuer) : b.issuer_node
}
