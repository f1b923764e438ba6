import { defineMessages } from './index'

export default defineMessages({ title: '检测规则' }, { title: 'Rules' })
