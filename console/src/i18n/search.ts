import { defineMessages } from './index'

export default defineMessages({ title: '事件检索' }, { title: 'Event search' })
