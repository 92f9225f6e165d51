import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'order-fsm', postgres: true })
