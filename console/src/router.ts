// Every console route (the console contract's table), history mode under /ui/.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { lastError, setUnauthorizedHandler } from './api'
import { loadWhoami, me } from './session'
import AppLayout from './components/AppLayout.vue'

const inLayout: RouteRecordRaw[] = [
  { path: '', redirect: '/overview' },
  { path: 'overview', name: 'overview', component: () => import('./pages/overview/OverviewPage.vue') },
  { path: 'incidents', name: 'incidents', component: () => import('./pages/incidents/IncidentList.vue') },
  {
    path: 'incidents/:id',
    name: 'incident',
    component: () => import('./pages/incidents/IncidentDetail.vue'),
    props: true,
  },
  { path: 'search', name: 'search', component: () => import('./pages/search/SearchPage.vue') },
  { path: 'alerts', name: 'alerts', component: () => import('./pages/alerts/AlertsPage.vue') },
  {
    path: 'alerts/:id',
    name: 'alert',
    component: () => import('./pages/alerts/AlertDetail.vue'),
    props: true,
  },
  { path: 'rules', name: 'rules', component: () => import('./pages/rules/RulesPage.vue') },
  { path: 'hunt', name: 'hunt', component: () => import('./pages/hunt/HuntPage.vue') },
  { path: 'intel', name: 'intel', component: () => import('./pages/intel/IntelPage.vue') },
  { path: 'anomaly', name: 'anomaly', component: () => import('./pages/anomaly/AnomalyPage.vue') },
  { path: 'assets', redirect: '/assets/systems' },
  {
    path: 'assets/systems/:id',
    name: 'asset-system',
    component: () => import('./pages/assets/AssetsPage.vue'),
    props: (r) => ({ tab: 'systems', id: String(r.params.id) }),
  },
  {
    path: 'assets/:tab(systems|hosts|findings|exposure)',
    name: 'assets',
    component: () => import('./pages/assets/AssetsPage.vue'),
    props: true,
  },
  { path: 'supervise', redirect: '/supervise/bulletins' },
  {
    path: 'supervise/bulletins/:id',
    name: 'bulletin',
    component: () => import('./pages/supervise/SupervisePage.vue'),
    props: (r) => ({ tab: 'bulletins', id: String(r.params.id) }),
  },
  {
    path: 'supervise/:tab(bulletins|periods|duty|reports|drills)',
    name: 'supervise',
    component: () => import('./pages/supervise/SupervisePage.vue'),
    props: true,
  },
  {
    path: 'federation',
    name: 'federation',
    component: () => import('./pages/federation/FederationPage.vue'),
  },
  { path: 'admin', redirect: '/admin/users' },
  { path: 'admin/users', name: 'admin-users', component: () => import('./pages/admin/UsersPage.vue') },
  { path: 'admin/tokens', name: 'admin-tokens', component: () => import('./pages/admin/TokensPage.vue') },
  { path: 'admin/audit', name: 'admin-audit', component: () => import('./pages/admin/AuditPage.vue') },
  {
    path: 'admin/deliveries',
    name: 'admin-deliveries',
    component: () => import('./pages/admin/DeliveriesPage.vue'),
  },
  { path: ':rest(.*)*', name: 'not-found', component: () => import('./pages/NotFound.vue') },
]

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('./pages/login/LoginPage.vue'),
    meta: { public: true },
  },
  {
    path: '/wall',
    name: 'wall',
    component: () => import('./pages/wall/WallPage.vue'),
    meta: { public: true },
  },
  { path: '/', component: AppLayout, children: inLayout },
]

export const router = createRouter({
  history: createWebHistory('/ui/'),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

router.beforeEach(async (to) => {
  lastError.value = null
  if (to.meta.public) return true
  if (!me.value && !(await loadWhoami())) {
    return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  }
  return true
})

setUnauthorizedHandler(() => {
  const current = router.currentRoute.value
  if (current.name === 'login' || current.name === 'wall') return
  me.value = null
  void router.push({ name: 'login', query: { next: current.fullPath } })
})
