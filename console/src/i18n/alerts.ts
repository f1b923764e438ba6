import { defineMessages } from './index'

export default defineMessages({ title: '告警', detail: '告警详情' }, { title: 'Alerts', detail: 'Alert' })
