export type { LeaseOptions, LeaseRow } from './lease'
export { AppKeyLease, LeaseLostError, leaseKeyOf, readLeases } from './lease'
export { leaseMigrations, migrateLease } from './migrations'
