// Container records under <data>/containers/<id>, so a second terminal sees what the first started.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo, RunSpec, SeccompMode } from '../../shared/types';
import type { CapName } from './security/capabilities';
import type { Layer } from './plan';
import { containersDir, dataDirError, ensureWritableDir, isDataDirProblem } from './data-dir';

export interface ContainerRecord extends ContainerInfo {
  /** Start time of the init process (field 22 of /proc/PID/stat), to tell it from a reused PID. */
  pidStartTime: string;
  /** PID of the runtime that owns the container (it reaps it and records the exit). */
  ownerPid: number;
  env: string[];
  workdir: string;
  /** The container's syscall filter, which `locker exec` gives its processes too (absent in old records: default). */
  seccomp?: SeccompMode;
  /** The capabilities it keeps (--cap-add/--cap-drop), which `locker exec` keeps too (absent in old records: Docker's default). */
  caps?: CapName[];
  /** --user (absent: root), which `locker exec` runs as too unless told otherwise. */
  user?: { uid: number; gid: number; groups?: number[]; home?: string };
  /** The spec it was launched from (cols/rows left out), which `locker start` runs again. */
  spec?: RunSpec;
  /** Launched with --init / --privileged (shown by locker inspect). */
  init?: boolean;
  privileged?: boolean;
  /**
   * Kept after it exits (run -d, --keep): its writable layer stays until rm, for locker cp and
   * locker start (docker keeps a stopped container's files). Absent: removed with its end.
   */
  kept?: boolean;
  /** Its writable layer (overlay dirs or a private copy), mounted again by cp and start once it has exited. */
  layer?: Layer;
  /** run -d --rm: its monitor removes it when it exits (docker's HostConfig.AutoRemove). */
  autoRemove?: boolean;
  /** Detached: the monitor that owns it (then ownerPid is the monitor's pid); runtime/detach. */
  monitor?: { pid: number; startTime: string };
}

/** `<pid> <starttime>` of the runtime that created a container dir (see ownerAlive in recovery.ts). */
export const OWNER_FILE = 'owner';

export class RecordStore {
  readonly dir: string;
  constructor(dataRoot: string) {
    this.dir = containersDir(dataRoot);
  }
  containerDir(id: string): string {
    return join(this.dir, id);
  }
  /** A new container dir; with reuse (locker start), the one removeExcept left is taken over. */
  create(id: string, reuse = false): string {
    ensureWritableDir(this.dir, 0o700);
    const dir = this.containerDir(id);
    try {
      mkdirSync(dir, { mode: 0o700, recursive: reuse });
      // Who is setting it up, so a crash before state.json exists can be told from work in progress.
      writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
    } catch (e) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // the cause below is what the user needs to hear, not that the clean-up failed too
      }
      throw dataDirError(dir, e as NodeJS.ErrnoException);
    }
    return dir;
  }
  save(record: ContainerRecord): void {
    const file = join(this.containerDir(record.id), 'state.json');
    try {
      writeFileSync(file + '.tmp', JSON.stringify(record, null, 2));
      renameSync(file + '.tmp', file);
    } catch (e) {
      throw isDataDirProblem(e) ? dataDirError(file, e) : e;
    }
  }
  load(id: string): ContainerRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.containerDir(id), 'state.json'), 'utf8')) as ContainerRecord;
    } catch {
      return undefined;
    }
  }
  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => /^[0-9a-f]{12}$/.test(n));
    } catch {
      return [];
    }
  }
  remove(id: string): void {
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }
  /** Removes everything of a container's dir (its record first) but the names in keep. */
  removeExcept(id: string, keep: readonly string[]): void {
    const dir = this.containerDir(id);
    rmSync(join(dir, 'state.json'), { force: true });
    for (const name of readdirSync(dir)) if (!keep.includes(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Field 22 (starttime) of /proc/PID/stat, or undefined when the process is gone (or a zombie). */
export function processStartTime(pid: number): string | undefined {
  if (pid === process.pid) return (ownStartTime ??= readStartTime(pid));
  return readStartTime(pid);
}

/** This process's: asked for by every lease and record it makes (it never changes). */
let ownStartTime: string | undefined;

function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has ended: only its parent's wait is missing (an orphan's init may never reap it).
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
