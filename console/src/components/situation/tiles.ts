// Where each child region's tile sits in the schematic map: rows and columns placed roughly
// as on the map, no boundaries. Regions not listed flow into a plain grid.

export interface TilePlace {
  col: number
  row: number
}

/** Henan (410000): the 17 prefecture cities, 济源, and 郑州航空港区. */
export const HENAN: Record<string, TilePlace> = {
  '410500': { col: 4, row: 0 }, // 安阳
  '410600': { col: 4, row: 1 }, // 鹤壁
  '410900': { col: 5, row: 1 }, // 濮阳
  '419001': { col: 1, row: 1 }, // 济源
  '410800': { col: 2, row: 1 }, // 焦作
  '410700': { col: 3, row: 1 }, // 新乡
  '411200': { col: 0, row: 2 }, // 三门峡
  '410300': { col: 1, row: 2 }, // 洛阳
  '410100': { col: 2, row: 2 }, // 郑州
  '410200': { col: 3, row: 2 }, // 开封
  '411400': { col: 5, row: 2 }, // 商丘
  '410400': { col: 1, row: 3 }, // 平顶山
  '411000': { col: 2, row: 3 }, // 许昌
  '410173': { col: 3, row: 3 }, // 航空港区
  '411600': { col: 4, row: 3 }, // 周口
  '411300': { col: 0, row: 4 }, // 南阳
  '411100': { col: 2, row: 4 }, // 漯河
  '411700': { col: 3, row: 4 }, // 驻马店
  '411500': { col: 3, row: 5 }, // 信阳
}

/** Places for `codes`: the Henan layout when they are most of Henan's tiles (a province
 * view), else `null` (a city's counties, or a node listing only itself, flow in a grid). */
export function placesFor(codes: string[]): Record<string, TilePlace> | null {
  if (codes.length < Object.keys(HENAN).length / 2) return null
  return codes.every((c) => c in HENAN) ? HENAN : null
}
