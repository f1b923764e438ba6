import { defineMessages } from './index'

export default defineMessages({ title: '级联与日报' }, { title: 'Federation and reports' })
