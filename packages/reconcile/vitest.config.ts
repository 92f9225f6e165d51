import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'reconcile', postgres: true })
