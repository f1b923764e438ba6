import { defineMessages } from './index'

export default defineMessages(
  { users: '用户', tokens: '令牌', audit: '审计日志', deliveries: '投递记录' },
  { users: 'Users', tokens: 'Tokens', audit: 'Audit log', deliveries: 'Deliveries' },
)
