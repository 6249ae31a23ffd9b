// Container records under <data>/containers/<id>, so a second terminal sees what the first started.
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LockerError } from './errors';
import type { ContainerInfo } from '../../shared/types';
import { containersDir } from './data-dir';

export interface ContainerRecord extends ContainerInfo {
  /** Start time of the init process (field 22 of /proc/PID/stat), to tell it from a reused PID. */
  pidStartTime: string;
  /** PID of the runtime that owns the container (it reaps it and records the exit). */
  ownerPid: number;
  env: string[];
  workdir: string;
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
  create(id: string): string {
    const dir = this.containerDir(id);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Who is setting it up, so a crash before state.json exists can be told from work in progress.
      writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw dataDirError(this.dir, e as NodeJS.ErrnoException);
    }
    return dir;
  }
  save(record: ContainerRecord): void {
    const file = join(this.containerDir(record.id), 'state.json');
    writeFileSync(file + '.tmp', JSON.stringify(record, null, 2));
    renameSync(file + '.tmp', file);
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
}

/** A LockerError saying why the data dir cannot be written (read-only, full, no permission). */
export function dataDirError(dir: string, e: NodeJS.ErrnoException): LockerError {
  // mkdir -p reports ENOENT on a read-only filesystem: ask the nearest existing ancestor.
  let code = e.code;
  for (let p = dir; code === 'ENOENT' && p !== dirname(p); p = dirname(p)) {
    try {
      accessSync(p, constants.W_OK);
      break;
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
  }
  const why = code === 'EROFS' ? 'it is on a read-only filesystem'
    : code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : e.message;
  return new LockerError(`cannot write the data dir ${dir} (${why}); free space there, or set LOCKER_DATA_DIR to a writable directory`);
}

/** Field 22 (starttime) of /proc/PID/stat, or undefined when the process is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
