import { defineMessages } from './index'

export default defineMessages(
  {
    title: '网络安全态势监测',
    feed: '实时告警',
    feed_empty: '等待新告警…',
    no_token: '缺少访问令牌：请用管理员创建的只读令牌打开 /ui/wall#token=…',
    token_refused: '访问令牌无效、已吊销或已过期：请管理员重新创建只读令牌',
    live: '实时',
    reconnecting: '重连中',
    connecting: '连接中',
  },
  {
    title: 'Security situation monitor',
    feed: 'Live alerts',
    feed_empty: 'Waiting for new alerts…',
    no_token: 'No access token: open /ui/wall#token=… with a viewer token an admin created',
    token_refused: 'The access token is invalid, revoked or expired: ask an admin for a new viewer token',
    live: 'live',
    reconnecting: 'reconnecting',
    connecting: 'connecting',
  },
)
