/** A parent id already names a different parent, or the parent cannot take the request. */
export class ParentConflictError extends Error {
  override readonly name = 'ParentConflictError'
  constructor(
    readonly parentId: string,
    detail = 'a different parent order already has this parentId',
  ) {
    super(`parent ${parentId}: ${detail}`)
  }
}

/** No parent with this id. */
export class ParentNotFoundError extends Error {
  override readonly name = 'ParentNotFoundError'
  constructor(readonly parentId: string) {
    super(`parent ${parentId}: not found`)
  }
}
