import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'readme-examples', postgres: true, testTimeout: 60_000 })
