// The test kit starts PostgreSQL exactly as the runner does (one implementation, in runner code so the
// runner's build never loads the private test kit). That module imports only Node built-ins, so it
// also loads here under Node's type stripping (bench scripts, the global setup).
export {
  type EmbeddedCluster,
  EmbeddedPostgresError,
  freePort,
  type StartEmbeddedOptions,
  startEmbeddedPostgres,
} from '../../../apps/runner/src/embedded-postgres.ts'
