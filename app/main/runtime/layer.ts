// The container's writable root: an overlay over the image, or a private copy. The image never changes.
import { spawnSync } from 'node:child_process';
import { lchownSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LockerError } from './errors';
import type { Layer } from './plan';

export function overlayLayer(containerDir: string, lower: string): Layer {
  for (const p of [containerDir, lower]) {
    if (/[,:\\\n]/.test(p)) throw new LockerError(`path "${p}" has a character overlayfs options cannot carry (, : \\); use a rootfs and data dir without them`);
  }
  const layer = { kind: 'overlay' as const, lower, upper: join(containerDir, 'upper'), work: join(containerDir, 'work'), merged: join(containerDir, 'rootfs') };
  for (const d of [layer.upper, layer.work, layer.merged]) mkdirSync(d, { mode: 0o755 });
  return layer;
}

/** A full copy, shifted to uid/gid base when the container maps its root there. */
export function copyLayer(containerDir: string, lower: string, shift = 0): Layer {
  const dir = join(containerDir, 'rootfs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o755 });
  const r = spawnSync('cp', ['-a', '--', lower + '/.', dir + '/'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new LockerError(`cannot copy the rootfs into ${dir}: ${(r.stderr || '').split('\n')[0]}; check free space in the data dir`);
  if (shift) shiftOwnership(dir, shift);
  return { kind: 'copy', dir };
}

function shiftOwnership(path: string, base: number): void {
  const st = lstatSync(path);
  lchownSync(path, base + (st.uid % 65536), base + (st.gid % 65536));
  if (st.isDirectory()) for (const name of readdirSync(path)) shiftOwnership(join(path, name), base);
}

/** What a layer puts in the container dir. */
export const LAYER_DIRS = ['upper', 'work', 'rootfs'] as const;

/** Removes what the layer put in the container dir (mounts lived only in the container's namespace). */
export function removeLayer(containerDir: string): void {
  for (const d of LAYER_DIRS) rmSync(join(containerDir, d), { recursive: true, force: true });
}

/** A kept layer (an exited container's) that is still whole: its dirs exist. */
export function layerPresent(layer: Layer): boolean {
  const dirs = layer.kind === 'overlay' ? [layer.upper, layer.work, layer.merged] : [layer.dir];
  return dirs.every((d) => {
    try {
      return lstatSync(d).isDirectory();
    } catch {
      return false;
    }
  });
}
