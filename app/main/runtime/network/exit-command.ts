// A detached container's teardown when it ends with no CLI around: its monitor becomes this script
// once the exit is recorded (native/src/monitor.c, exit-command=, as conmon's --exit-command),
// which runs teardown-cli.js for the container's id in a fresh Node: its network, and with
// run -d --rm everything else of it (cgroup, container dir).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_COMMAND } from '../detach/launch';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The compiled teardown-cli.js: beside this file, or in build/ when the CLI runs from a bundle. */
function teardownScript(): string | undefined {
  const candidates = [join(__dirname, 'teardown-cli.js'), join(__dirname, '..', 'build', 'app', 'main', 'runtime', 'network', 'teardown-cli.js')];
  return candidates.find((c) => existsSync(c));
}

export function writeExitCommand(dir: string, id: string, what: { network: boolean; remove: boolean }): boolean {
  const script = teardownScript();
  if (!script) return false;
  const flags = [...(what.network ? ['--network'] : []), ...(what.remove ? ['--rm'] : [])].map((f) => ` ${f}`).join('');
  const says = what.remove ? 'Everything of the container (network, cgroup, this dir) goes' : 'The container\'s NAT rules, port locks and address go';
  const env = process.env.LOCKER_NET_RUN_DIR ? `LOCKER_NET_RUN_DIR=${q(process.env.LOCKER_NET_RUN_DIR)} ` : '';
  writeFileSync(join(dir, EXIT_COMMAND), `#!/bin/sh\n# ${says} when it ends (its monitor runs this).\nexec /usr/bin/env -i ${env}${q(process.execPath)} ${q(script)} ${q(id)} ${q(dir)}${flags}\n`, { mode: 0o700 });
  return true;
}

/** What the monitor becomes once a stop has taken the teardown over: nothing left to do. */
const DONE_BY_STOP = '#!/bin/sh\n# The locker stop that ended this container gives back what it held, in its own process.\nexit 0\n';

/** Puts text in place of the exit command in one rename: a monitor exec'ing it gets the old one or the new one, whole. */
function replaceExitCommand(dir: string, text: string): void {
  const path = join(dir, EXIT_COMMAND);
  const next = `${path}.${process.pid}.new`;
  writeFileSync(next, text, { mode: 0o700 });
  renameSync(next, path);
}

/**
 * Before a stop signals the container: its monitor's exit command becomes a no-op, and the caller
 * gives back what the container held itself once it has ended (after-exit.ts). Returns the old
 * command (for handBackExitCommand), or undefined when the container has none.
 */
export function takeOverExitCommand(dir: string): string | undefined {
  let old: string;
  try {
    old = readFileSync(join(dir, EXIT_COMMAND), 'utf8');
  } catch {
    return undefined;
  }
  if (old === DONE_BY_STOP) return undefined; // another stop has it already
  replaceExitCommand(dir, DONE_BY_STOP);
  return old;
}

/** Undoes takeOverExitCommand: the monitor runs old once the container ends, as before. */
export function handBackExitCommand(dir: string, old: string): void {
  replaceExitCommand(dir, old);
}
