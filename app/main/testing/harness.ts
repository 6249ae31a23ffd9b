// Test helpers: run the real CLI in a throwaway data dir and compare the host before and after.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { ourProcesses } from './processes';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..', '..');
export const CLI = join(REPO, 'bin', 'locker');
export const TEST_USER = 'lockertest';
/** Multiplies the default waits: the VM lane's guest runs 10–50× slower under QEMU's TCG (scripts/vm/guest.sh sets it). */
export const TIME_SCALE = Number(process.env.LOCKER_TEST_TIME_SCALE) || 1;

export interface Sandbox {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): SpawnSyncReturns<string>;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dataDir = mkdtempSync(join(tmpdir(), 'locker-test-'));
  chmodSync(dataDir, 0o755);
  const env = { ...process.env, LOCKER_DATA_DIR: dataDir };
  return {
    dataDir,
    env,
    run: (args, opts = {}) =>
      spawnSync(CLI, args, { env, encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeoutMs ?? 20000 * TIME_SCALE }),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** `locker run -d ARGS…` in the sandbox: the container's id (the run must succeed). */
export function runDetached(sb: Sandbox, args: string[]): string {
  const r = sb.run(['run', '-d', ...args]);
  if (r.status !== 0) throw new Error(`locker run -d exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A container of the sandbox as locker ps --json shows it (running or exited), undefined when gone. */
export function containerState(sb: Sandbox, id: string): { state: string; pid: number; exitCode?: number } | undefined {
  return (JSON.parse(sb.run(['ps', '--json']).stdout) as Array<{ id: string; state: string; pid: number; exitCode?: number }>).find((c) => c.id === id);
}

/** For after(): every container of the sandbox removed (rm -f), then the sandbox itself. */
export function removeSandbox(sb: Sandbox): void {
  for (const id of sb.run(['ps', '-a', '-q']).stdout.split('\n').filter(Boolean)) sb.run(['rm', '-f', id]);
  sb.cleanup();
}

/** Starts the CLI without waiting (for stop/exec tests); output is collected. */
export function startCli(sb: Sandbox, args: string[]) {
  const child = spawn(CLI, args, { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, err })),
  );
  return { child, done, output: () => out };
}

export async function until<T>(probe: () => T | undefined | false, timeoutMs = 5000 * TIME_SCALE): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What must be the same before and after a container: mounts, hostname, our children, the data dir. */
export interface HostState {
  mounts: string[];
  hostname: string;
  children: string[];
  containers: string[];
}

export function hostState(dataDir: string, ...ownDirs: string[]): HostState {
  // Another test file's own temp dir (two run at once) is not this test's host: faults.test mounts a
  // "leak" there on purpose. A mount anywhere else, or in this data dir or ownDirs, is this test's.
  const own = [dataDir, ...ownDirs];
  const othersTemp = (mountpoint: string): boolean =>
    mountpoint.startsWith(join(tmpdir(), 'locker-')) && !own.some((d) => mountpoint === d || mountpoint.startsWith(d + '/'));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').slice(3, 5))
    .filter(([, mountpoint]) => !othersTemp(mountpoint)).map((f) => f.join(' ')).sort();
  let containers: string[] = [];
  try {
    containers = readdirSync(join(dataDir, 'containers'));
  } catch {
    /* none yet */
  }
  // every descendant and every orphaned container: a leaked container is no direct child of ours
  const children = ourProcesses();
  return { mounts, hostname: hostname(), children, containers };
}

/**
 * Creates the unprivileged test user when missing (tests run as root). Every helper that needs the
 * user calls it, so no test depends on another file having run first. Idempotent and safe when
 * test files run concurrently: a useradd that loses the race (user exists, passwd locked) is
 * answered by checking again. A group left behind by a half-done userdel is reused.
 */
export function ensureTestUser(): void {
  if (testUserExists()) return;
  let last = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    const groupLeft = spawnSync('getent', ['group', TEST_USER]).status === 0;
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ...(groupLeft ? ['-g', TEST_USER] : []), TEST_USER], { encoding: 'utf8' });
    if (testUserExists()) return;
    last = r.stderr || r.error?.message || `useradd exited with ${r.status}`;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // another useradd holds /etc/passwd's lock
  }
  throw new Error(`cannot create the test user ${TEST_USER}: ${last}`);
}

const testUserExists = (): boolean => spawnSync('id', ['-u', TEST_USER]).status === 0;

/** The test user's uid (created first when missing). */
export function testUserUid(): number {
  ensureTestUser();
  return Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim());
}

let userCli: string | undefined;
/**
 * The CLI path the test user can reach. A checkout under a private home (/root) is not
 * traversable by other users, so the runtime's files are then copied to a world-readable temp dir.
 */
export function cliForTestUser(): string {
  if (userCli) return userCli;
  ensureTestUser();
  if (spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', join(REPO, 'native', 'build', 'libnsexec.so')]).status === 0) return (userCli = CLI);
  const copy = mkdtempSync(join(tmpdir(), 'locker-rootless-'));
  for (const part of ['bin', 'package.json', 'build/app', 'build/renderer', 'build/native', 'native/build', 'node_modules/koffi', 'node_modules/@koromix', 'node_modules/node-pty', 'node_modules/node-addon-api', 'node_modules/ws']) {
    const r = spawnSync('cp', ['-a', '--parents', part, copy], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0 && !/No such file/.test(r.stderr)) throw new Error(`copying ${part}: ${r.stderr}`);
  }
  spawnSync('chmod', ['-R', 'a+rX', copy]);
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  return (userCli = join(copy, 'bin', 'locker'));
}

/** A data dir the test user owns. */
export function userDataDir(): string {
  ensureTestUser();
  const dir = mkdtempSync(join(tmpdir(), 'locker-user-data-'));
  const r = spawnSync('chown', [TEST_USER, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot give ${dir} to ${TEST_USER}: ${r.stderr}`);
  return dir;
}

/** Runs the CLI as the unprivileged test user, with its own data dir. */
export function runAsUser(dataDir: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync('runuser', ['-u', TEST_USER, '--', 'env', `LOCKER_DATA_DIR=${dataDir}`, 'HOME=/tmp', cliForTestUser(), ...args], {
    encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeoutMs ?? 20000 * TIME_SCALE, cwd: '/tmp',
  });
}
