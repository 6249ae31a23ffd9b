// What a detached container's monitor (native/src/monitor.c) keeps in the container's dir, and how
// the runtime reads it back: the log, the attach socket, the exit status, the monitor's own errors.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../records';

export interface MonitorFiles {
  log: string;
  /** The log's previous part: the monitor moves the log here when it reaches LOG_MAX_BYTES. */
  oldLog: string;
  socket: string;
  exit: string;
  errors: string;
}

export function monitorFiles(dir: string): MonitorFiles {
  return {
    log: join(dir, 'container.log'), oldLog: join(dir, 'container.log.1'), socket: join(dir, 'attach.sock'),
    exit: join(dir, 'exit'), errors: join(dir, 'monitor.err'),
  };
}

/** A log grows to this many bytes before it is rotated (at most twice this on disk). */
export const LOG_MAX_BYTES = 8 << 20;

/** The record's note of its monitor: the process that owns the container while the CLI is gone. */
export interface MonitorRef { pid: number; startTime: string }

export const monitorAlive = (m: MonitorRef): boolean => processStartTime(m.pid) === m.startTime;

/** The init's raw wait status as the monitor wrote it, with when; undefined while it runs (or when the monitor was killed). */
export function recordedExit(dir: string): { status: number; at: number } | undefined {
  const file = monitorFiles(dir).exit;
  try {
    const status = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(status) ? { status, at: statSync(file).mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/** The socket a killed monitor could not unlink: nobody answers on it. */
export function removeStaleSocket(dir: string): void {
  rmSync(monitorFiles(dir).socket, { force: true });
}

/**
 * Resolves once the monitor has recorded the container's exit (after which it may still run the
 * container's exit command for a while) or is gone, or after timeoutMs.
 */
export async function exitSettled(m: MonitorRef, dir: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (recordedExit(dir) === undefined && monitorAlive(m)) {
    if (Date.now() > end) return false;
    // Called once the container was killed or ended: the monitor writes the file within milliseconds.
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** Resolves once the monitor is gone (it has written the exit file then), or after timeoutMs. */
export async function monitorGone(m: MonitorRef, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (monitorAlive(m)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
