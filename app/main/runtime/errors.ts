/** A mistake in what the user asked for: one line naming the problem and the fix, shown as-is. */
export class LockerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockerError';
  }
}
