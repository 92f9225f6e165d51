import { vellabProject } from './src/vitest-preset'

export default vellabProject({ name: 'testkit', postgres: true })
