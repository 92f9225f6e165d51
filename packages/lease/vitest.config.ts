import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'lease', postgres: true })
