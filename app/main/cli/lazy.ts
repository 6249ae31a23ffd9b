// A module's functions, loaded at the first call: `locker ps` must not load (and compile) what only
// `run`, `doctor` or `equivalent` use (the CLI's start: issue 13). A function or a value of the
// module read through the returned object loads it; nothing else does.
export function lazyModule<M extends object>(load: () => M): M {
  let loaded: M | undefined;
  const get = (): M => (loaded ??= load());
  return new Proxy({} as M, {
    get(_target, name) {
      // Functions as wrappers, so `const { f } = lazyModule(…)` at the top of a file loads nothing yet.
      return (...args: unknown[]) => (get()[name as keyof M] as (...a: unknown[]) => unknown)(...args);
    },
  });
}
