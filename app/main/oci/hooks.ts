// OCI hooks run by the runtime on the host: prestart/createRuntime while the created init waits
// (its namespaces exist, nothing of the container runs yet), poststart after `start`, poststop at
// `delete`. Each gets the container's state as JSON on stdin, as the runtime spec says. A failing
// prestart/createRuntime hook fails `create`; a failing poststart/poststop hook is a warning and
// the hooks after it still run (runtime.md, lifecycle).
import { spawnSync } from 'node:child_process';
import type { OciHook } from './config';
import type { OciLog } from './log';
import type { OciState } from './state';

export class HookError extends Error {}

function runHook(kind: string, h: OciHook, i: number, state: OciState): void {
  const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), {
    argv0: h.args?.[0] ?? h.path,
    env: h.env ? Object.fromEntries(h.env.map((e) => [e.split('=', 1)[0], e.slice(e.indexOf('=') + 1)])) : {},
    input: JSON.stringify(state),
    timeout: (h.timeout ?? 60) * 1000,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A hook that exits without reading its stdin gives EPIPE: its exit status still decides.
  const error = r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE' ? r.error : undefined;
  if (error || r.status !== 0) {
    const why = error ? error.message : `exit status ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n').pop() ?? ''}`;
    throw new HookError(`${kind} hook ${i} (${h.path}) failed: ${why}`);
  }
}

/** Runs the hooks in order; the first failure is thrown. */
export function runHooks(kind: string, hooks: OciHook[], state: OciState): void {
  hooks.forEach((h, i) => runHook(kind, h, i, state));
}

/** Runs every hook in order; each failure is a warning in the runtime's log. */
export function runHooksWarning(kind: string, hooks: OciHook[], state: OciState, log: OciLog): void {
  hooks.forEach((h, i) => {
    try {
      runHook(kind, h, i, state);
    } catch (e) {
      log.write('warning', (e as Error).message);
    }
  });
}
