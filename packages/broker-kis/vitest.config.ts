import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'broker-kis', postgres: true })
