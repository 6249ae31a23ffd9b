// The one place every libc call of the runtime is reported, so a UI or `--trace` can show them live.

export interface SyscallEntry {
  /** Which process made the call: 'host' for the runtime itself, 'child' for the pre-exec step. */
  where: 'host' | 'child';
  name: string;
  args: string;
  result: number | bigint;
  errno?: string;
  /** Milliseconds since the Unix epoch (host) or since boot for child records, see `t`. */
  t: number;
  /** Not reported by the process but inferred: 'eof' is execve's success, seen as the report pipe's EOF. */
  inferred?: 'eof';
  /** Context (a container id) when the caller set one. */
  container?: string;
}

type Listener = (entry: SyscallEntry) => void;
const listeners = new Set<Listener>();
let context: string | undefined;

export const syscallLog = {
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  get active(): boolean {
    return listeners.size > 0;
  },
  record(entry: Omit<SyscallEntry, 'container'>): void {
    if (listeners.size === 0) return;
    const full: SyscallEntry = { ...entry, container: context };
    for (const l of listeners) l(full);
  },
  /** Runs fn with every record tagged with container id. */
  within<T>(container: string, fn: () => T): T {
    const previous = context;
    context = container;
    try {
      return fn();
    } finally {
      context = previous;
    }
  },
};
