import { createApp, watchEffect } from 'vue'
import App from './App.vue'
import { router } from './router'
import { lang } from './i18n'
import common from './i18n/common'
import './style.css'

watchEffect(() => {
  document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en'
  document.title = common[lang.value].product
})
createApp(App).use(router).mount('#app')
