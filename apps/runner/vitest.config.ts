import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'runner', postgres: true, testTimeout: 60_000 })
