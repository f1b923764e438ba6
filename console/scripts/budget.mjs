// First-load budget: the entry chunk and its static imports, gzip-compressed, must stay at or
// under 600 KB (charts are loaded with the pages that draw them, so they are not counted).
// Also prints what the overview page adds. Run after `npm run build`: `npm run budget`.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const DIST = new URL('../dist/', import.meta.url).pathname
const BUDGET = 600 * 1024
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8'))

/** The chunk `key` and every chunk it imports statically, transitively. */
function closure(key, seen = new Set()) {
  if (seen.has(key)) return seen
  seen.add(key)
  for (const k of manifest[key].imports ?? []) closure(k, seen)
  return seen
}

const gz = (file) => gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length
const kb = (n) => `${(n / 1024).toFixed(1)} KB`
const size = (keys) => [...keys].reduce((s, k) => s + gz(manifest[k].file), 0)

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry)
const first = closure(entry)
const firstBytes = size(first)
console.log(`first load (entry + static imports, gzip): ${kb(firstBytes)} of ${kb(BUDGET)}`)
for (const k of first) console.log(`  ${manifest[k].file}  ${kb(gz(manifest[k].file))}`)

const overview = Object.keys(manifest).find((k) => k.endsWith('pages/overview/OverviewPage.vue'))
if (overview) {
  const extra = [...closure(overview)].filter((k) => !first.has(k))
  console.log(`overview page adds (with charts, gzip): ${kb(size(extra))}`)
}
if (firstBytes > BUDGET) {
  console.error(`over budget by ${kb(firstBytes - BUDGET)}`)
  process.exit(1)
}
