// The real runtime, loaded on first use: importing it pulls in koffi and the native helper,
// which transport tests with a fake runtime never need.
import type { ContainerRuntime } from '../runtime/handles';

export function loadRuntime(): ContainerRuntime {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('../runtime/runtime') as typeof import('../runtime/runtime');
  // The app's Run: the next container's network is made ahead (spare.ts).
  return new mod.Runtime({ spareNetwork: true });
}
