// Where `locker oci` keeps its containers: one directory per id under --root (default
// /run/locker-oci for root, $XDG_RUNTIME_DIR/locker-oci otherwise) holding state.json, the
// exec.fifo the created init waits on, and the syscall log of the launch (syscalls.jsonl).
// The status is read from the kernel each time: the recorded init (pid + start time, so a reused
// PID is not mistaken for it) alive with exec.fifo present is `created`, alive without it
// `running`, otherwise `stopped`.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getuid } from '../../../native/libc';
import { processStartTime } from '../runtime/records';
import type { OciHook } from './config';

export const OCI_VERSION = '1.0.2';
export type OciStatus = 'creating' | 'created' | 'running' | 'stopped';

/** The state the runtime spec defines (what `state` prints and hooks read on stdin). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

export interface SavedState extends OciState {
  /** Field 22 of /proc/PID/stat when the init was made. */
  pidStartTime: string;
  created: string;
  /** The `locker/<id>` cgroup was made for it. */
  cgroup: boolean;
  poststop: OciHook[];
  poststart: OciHook[];
  /** Config fields taken differently from what the config may expect (also in --log). */
  notes: string[];
}

export function defaultRoot(): string {
  if (getuid() === 0) return '/run/locker-oci';
  const xdg = process.env.XDG_RUNTIME_DIR;
  return join(xdg && xdg.startsWith('/') ? xdg : `/run/user/${getuid()}`, 'locker-oci');
}

export const FIFO = 'exec.fifo';
export const SYSCALL_LOG = 'syscalls.jsonl';

export class OciError extends Error {}

export function checkId(id: string | undefined): string {
  if (!id) throw new OciError('a container id is needed; e.g. locker oci state ID');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/.test(id)) throw new OciError(`invalid container id ${JSON.stringify(id)}: letters, digits, _ . + - only`);
  return id;
}

export const stateDir = (root: string, id: string): string => join(root, id);

export function saveState(root: string, s: SavedState): void {
  const dir = stateDir(root, s.id);
  const tmp = join(dir, 'state.json.tmp');
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, join(dir, 'state.json'));
}

export function loadState(root: string, id: string): SavedState {
  const file = join(stateDir(root, checkId(id)), 'state.json');
  let s: SavedState;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
  } catch {
    throw new OciError(`container "${id}" does not exist (no ${file})`);
  }
  return s;
}

/** Alive and not a zombie: the same process that was recorded. */
export function initAlive(s: Pick<SavedState, 'pid' | 'pidStartTime'>): boolean {
  if (s.pid <= 0 || processStartTime(s.pid) !== s.pidStartTime) return false;
  try {
    const stat = readFileSync(`/proc/${s.pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export function currentStatus(root: string, s: SavedState): OciStatus {
  if (!initAlive(s)) return 'stopped';
  return existsSync(join(stateDir(root, s.id), FIFO)) ? 'created' : 'running';
}

export function publicState(root: string, s: SavedState): OciState {
  return { ociVersion: s.ociVersion, id: s.id, status: currentStatus(root, s), pid: s.pid, bundle: s.bundle, annotations: s.annotations };
}

/** Every container under root (for discovery: init pid → id). */
export function listStates(root: string): SavedState[] {
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  const out: SavedState[] = [];
  for (const id of ids) {
    try {
      out.push(loadState(root, id));
    } catch {
      // a container being created or deleted right now
    }
  }
  return out;
}

export function makeStateDir(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const dir = stateDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new OciError(`container "${id}" already exists (${dir}); delete it first (locker oci delete ${id})`);
    throw e;
  }
  return dir;
}

export const removeStateDir = (root: string, id: string): void => rmSync(stateDir(root, id), { recursive: true, force: true });
