import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/main.ts', 'src/cli.ts'],
  banner: { js: '#!/usr/bin/env node' },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node22',
})
