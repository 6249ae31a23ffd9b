/** A mistake in what the user asked for: one line naming the problem and the fix, shown as-is. */
export class LockerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockerError';
  }
}

/** A user value quoted in an error line, cut so the line stays readable. */
export function quote(value: string, max = 80): string {
  const cut = value.length > max ? value.slice(0, max) + `…(${value.length} chars)` : value;
  return JSON.stringify(cut);
}
