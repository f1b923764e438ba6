// One clock for every countdown on screen: a ref of the time in ms, ticking each second while
// a component uses it (the timer stops when the last one unmounts).
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

const now = ref(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

/** The current time, ticking each second while the calling component is mounted. */
export function useClock(): Ref<number> {
  onMounted(() => {
    users += 1
    now.value = Date.now()
    if (!timer) timer = setInterval(() => (now.value = Date.now()), 1000)
  })
  onBeforeUnmount(() => {
    users -= 1
    if (users <= 0 && timer) {
      clearInterval(timer)
      timer = undefined
      users = 0
    }
  })
  return now
}
