export type { AnyLeaseOptions, LeaseOptions, LeaseRow } from './lease'
export { AppKeyLease, LeaseLostError, leaseKeyOf, readLeases } from './lease'
export { leaseMigrations, migrateLease } from './migrations'
