import { vellabProject } from '@vellab/testkit/vitest'

export default vellabProject({ name: 'risk-kr', postgres: true })
