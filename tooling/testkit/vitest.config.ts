import { vellabProject } from './src/vitest-preset.ts'

export default vellabProject({ name: 'testkit', postgres: true })
