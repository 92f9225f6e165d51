import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'execution', postgres: true })
