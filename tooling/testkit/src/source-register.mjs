// `node --experimental-transform-types --import <this file> app.ts`: see source-hooks.mjs.
import { register } from 'node:module'

register('./source-hooks.mjs', import.meta.url)
