// `locker cleanup`: remove what this data dir's stopped or crashed containers left behind
// (container dirs, their cgroups and veths), keeping everything that still runs.
import { compareHost, cleanupLeaks, snapshotHost, type Leak } from '../runtime/host-check';
import { hostVethName } from '../runtime/network';
import { RecordStore } from '../runtime/records';
import { Runtime } from '../runtime/runtime';
import { flag, parseArgs } from './args';

export async function cleanupCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['dry-run', 'n'], value: false }], 'cleanup');
  // Constructing the runtime runs crash recovery first (recovery.ts).
  const rt = new Runtime();
  const ids = new Set(new RecordStore(rt.dataRoot).ids());
  const now = snapshotHost(rt.dataRoot);
  const mine = (l: Leak): boolean =>
    l.kind === 'container' || (l.kind === 'cgroup' && ids.has(l.name)) || (l.kind === 'veth' && [...ids].some((id) => hostVethName(id) === l.name));
  // Compared with an empty host: every trace of a container of this data dir is a candidate.
  const leaks = compareHost({ ...now, cgroups: [], veths: [], containers: [] }, now).filter(mine);
  if (flag(p, 'dry-run')) {
    for (const l of leaks) process.stdout.write(`would check ${l.kind} ${l.name}\n`);
    return 0;
  }
  const result = await cleanupLeaks(rt.dataRoot, leaks);
  for (const l of result.removed) process.stdout.write(`removed ${l.kind} ${l.name}\n`);
  for (const l of result.kept) process.stdout.write(`kept ${l.kind} ${l.name}: ${l.why}\n`);
  if (result.removed.length === 0 && result.kept.length === 0) process.stdout.write('nothing to clean up\n');
  return 0;
}
