// Who a process is and what it sees mounted: its user/group ID maps and its mount table.
import type { MountEntry } from '../../../shared/types';
import { readProcText } from './proc-read';

function readOrThrow(pid: number, file: string): string {
  const text = readProcText(`/proc/${pid}/${file}`);
  if (text === null) throw new Error(`process ${pid} is gone: cannot read /proc/${pid}/${file}`);
  return text;
}

/** /proc/PID/uid_map as the kernel prints it ("inside outside count" per line). */
export const uidMap = (pid: number): string => readOrThrow(pid, 'uid_map');
/** /proc/PID/gid_map as the kernel prints it. */
export const gidMap = (pid: number): string => readOrThrow(pid, 'gid_map');

/** Undoes the kernel's octal escapes in mountinfo paths (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 4), 8) & 0xff);
      i += 3;
    } else {
      bytes.push(raw[i]);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parses mountinfo: `id parent major:minor root mountpoint options [optional...] - fstype source superoptions`.
 * Paths are as the process sees them (relative to its root).
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0) continue;
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      root: unescapeMountField(f[3]),
      mountPoint: unescapeMountField(f[4]),
      options: f[5],
      fsType: unescapeMountField(f[sep + 1] ?? ''),
      source: unescapeMountField(f[sep + 2] ?? ''),
    });
  }
  return out;
}

/** The mount table of a process (/proc/PID/mountinfo). */
export const mountTable = (pid: number): MountEntry[] => parseMountInfo(readOrThrow(pid, 'mountinfo'));
