// The container's root as overlay layers, for the kernel picture: the overlay mount in the
// container's own mount table names its lower, upper and work dirs (in the super options, which
// the inspection's mount entries leave out), and the upper dir's top entries are what the
// container changed. Read on the host, read-only, and only from the dir Locker made for this id.
import { readFileSync } from 'node:fs';
import { UPPER_ENTRIES_SHOWN, type RootfsLayers } from '../../shared/api';
import { overlayFields } from '../../shared/syscall-sentence';
import type { DirEntry } from '../../shared/types';

export interface OverlayMount {
  mountPoint: string;
  lower: string[];
  upper: string;
  work: string;
}

/** Undoes mountinfo's octal escapes (\040 for a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The overlay whose upper dir is `<data dir>/containers/<id>/upper`, from mountinfo text. Another
 * overlay (one the container made, or an image's) is not this container's root and is ignored.
 */
export function containerOverlay(mountinfo: string, id: string): OverlayMount | null {
  let found: OverlayMount | null = null;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f[sep + 1] !== 'overlay') continue;
    const o = overlayFields(unescape(f[sep + 3] ?? ''));
    if (!o.upper || !o.upper.endsWith(`/containers/${id}/upper`) || !o.work) continue;
    // the last one wins: after pivot_root the same overlay shows at "/"
    found = { mountPoint: unescape(f[4]), lower: o.lower, upper: o.upper, work: o.work };
  }
  return found;
}

/** Layers and upper entries of process pid's root; null when it has no overlay of this container. */
export function rootfsLayers(pid: number, id: string, list: (hostPath: string) => DirEntry[]): RootfsLayers | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    throw new Error(`process ${pid} is gone: cannot read its mount table`);
  }
  const o = containerOverlay(text, id);
  if (!o) return null;
  const entries = list(o.upper).sort((a, b) => a.name.localeCompare(b.name));
  return { ...o, upperEntries: entries.slice(0, UPPER_ENTRIES_SHOWN), truncated: entries.length > UPPER_ENTRIES_SHOWN };
}
