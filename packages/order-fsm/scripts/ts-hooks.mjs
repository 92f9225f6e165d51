// The workspace's TypeScript-source hooks live in the test kit; this path stays for the scripts
// and benches that name it.
import '../../../tooling/testkit/src/ts-hooks.mjs'
