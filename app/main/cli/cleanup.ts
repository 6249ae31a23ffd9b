// `locker cleanup`: remove what this data dir's stopped or crashed containers left behind
// (container dirs, their cgroups and veths, partial imports) and images of an older import
// format, keeping everything that still runs.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, imagesDir } from '../runtime/data-dir';
import { compareHost, cleanupLeaks, snapshotHost, type Leak } from '../runtime/host-check';
import { hostVethName } from '../runtime/network';
import { RecordStore } from '../runtime/records';
import { orphanPartials, staleImages } from '../runtime/recovery';
import { Runtime } from '../runtime/runtime';
import { flag, parseArgs } from './args';

export async function cleanupCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['dry-run', 'n'], value: false }], 'cleanup');
  const dry = flag(p, 'dry-run');
  // A real run constructs the runtime, which runs crash recovery first (recovery.ts): partial
  // imports of dead runtimes go then. A dry run must not, so it asks the same question itself.
  const rt = dry ? undefined : new Runtime();
  const root = rt?.dataRoot ?? dataDir();
  const images = imagesDir(root);
  const out: string[] = [];
  if (dry) for (const name of orphanPartials(images)) out.push(`would remove partial import ${name}`);
  else for (const name of (await rt!.recovered).partials) out.push(`removed partial import ${name}`);

  const store = new RecordStore(root);
  const ids = new Set(store.ids());
  const now = snapshotHost(root);
  const mine = (l: Leak): boolean =>
    l.kind === 'container' || (l.kind === 'cgroup' && ids.has(l.name)) || (l.kind === 'veth' && [...ids].some((id) => hostVethName(id) === l.name));
  // Compared with an empty host: every trace of a container of this data dir is a candidate.
  const leaks = compareHost({ ...now, cgroups: [], veths: [], containers: [] }, now).filter(mine);
  // Old images go only while nothing of this data dir runs: a running container may sit on one.
  const running = (rt?.list() ?? []).some((c) => c.state === 'running') || (dry && [...ids].some((id) => store.load(id)?.state === 'running'));
  const stale = staleImages(images);
  if (dry) {
    for (const l of leaks) out.push(`would check ${l.kind} ${l.name}`);
    for (const name of stale) out.push(running ? `would keep image ${name} (made by an older import) while containers run` : `would remove image ${name} (made by an older import)`);
    process.stdout.write(out.map((l) => l + '\n').join(''));
    return 0;
  }
  const result = await cleanupLeaks(root, leaks);
  for (const l of result.removed) out.push(`removed ${l.kind} ${l.name}`);
  for (const l of result.kept) out.push(`kept ${l.kind} ${l.name}: ${l.why}`);
  for (const name of stale) {
    if (running) {
      out.push(`kept image ${name} (made by an older import): containers are running; run locker cleanup again when they are done`);
      continue;
    }
    rmSync(join(images, name), { recursive: true, force: true });
    out.push(`removed image ${name} (made by an older import)`);
  }
  process.stdout.write(out.length ? out.map((l) => l + '\n').join('') : 'nothing to clean up\n');
  return 0;
}
