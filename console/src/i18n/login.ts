import { defineMessages } from './index'

export default defineMessages(
  {
    title: '登录',
    subtitle: '网络安全态势感知与事件处置',
    user: '用户名',
    password: '密码',
    submit: '登录',
    submitting: '正在登录…',
    failed: '登录失败',
    required: '请输入用户名和密码',
  },
  {
    title: 'Log in',
    subtitle: 'Security situation awareness and incident response',
    user: 'User name',
    password: 'Password',
    submit: 'Log in',
    submitting: 'Logging in…',
    failed: 'Login failed',
    required: 'Enter a user name and a password',
  },
)
