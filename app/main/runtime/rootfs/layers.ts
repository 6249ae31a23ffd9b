// One image layer: verified against its sha256 (streamed, off the event loop), unpacked once under
// images/layer-<digest> with tarball.ts's faithful extraction, then applied onto the image's
// flattened root: whiteouts first (`.wh.NAME` removes NAME below, `.wh..wh..opq` empties the dir),
// then the layer's files copied over by tar with the same flags (modes, owners, xattrs kept).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { LockerError } from '../errors';
import type { ArchiveLayer } from './image-archive';
import { imagePath, publishImageAsync } from './store';
import { runTar, tarArgs, type ImportOptions } from './tarball';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function isGzip(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createReadStream(file, { start: 0, end: 1 });
    const head: Buffer[] = [];
    s.on('data', (d) => head.push(d as Buffer));
    s.on('end', () => resolve(Buffer.concat(head).equals(Buffer.from([0x1f, 0x8b]))));
    s.on('error', () => resolve(false));
  });
}

/** Throws one line when the layer's bytes do not hash to the digest the manifest promises. */
export async function verifyLayer(layer: ArchiveLayer, label: string, index: number): Promise<void> {
  const hash = createHash('sha256');
  const gunzip = layer.uncompressed && (await isGzip(layer.file));
  try {
    if (gunzip) await pipeline(createReadStream(layer.file), createGunzip(), hash);
    else await pipeline(createReadStream(layer.file), hash);
  } catch (e) {
    throw new LockerError(`${label}: layer ${index + 1} cannot be read (${(e as Error).message}); the archive is damaged, re-create it`);
  }
  const got = hash.digest('hex');
  if (got !== layer.digest) {
    throw new LockerError(`${label}: layer ${index + 1} does not match its digest (expected sha256:${layer.digest.slice(0, 12)}…, got sha256:${got.slice(0, 12)}…); the archive is corrupt or truncated, nothing was kept`);
  }
}

export const layerKey = (digest: string): string => `layer-${digest}`;

/** images/layer-<digest>/rootfs: the layer unpacked, whiteout files included (applyLayer reads them). */
export function unpackLayer(images: string, layer: ArchiveLayer, opts: ImportOptions): Promise<string> {
  // No per-layer progress lines: the blob's name in a temp dir would mean nothing to the user.
  return publishImageAsync(images, layerKey(layer.digest), (root) => runTar(layer.file, root, { ...opts, onProgress: undefined }, images));
}

export function layerPath(images: string, digest: string): string {
  return imagePath(images, layerKey(digest));
}

interface Whiteouts { removes: string[]; opaque: string[]; replaced: string[] }

/** Walks the unpacked layer (lstat only, never following a link) for whiteouts and entries whose type changes. */
function scanLayer(layerRoot: string, merged: string, label: string): Whiteouts {
  const out: Whiteouts = { removes: [], opaque: [], replaced: [] };
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(layerRoot, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(layerRoot, path));
      if (name === OPAQUE) out.opaque.push(rel);
      else if (name.startsWith(WHITEOUT)) {
        const target = name.slice(WHITEOUT.length);
        if (target === '' || target === '.' || target === '..') {
          throw new LockerError(`${label}: a whiteout names "${target}" (${path}), which is not a file in its directory; refused, nothing was kept`);
        }
        out.removes.push(rel ? `${rel}/${target}` : target);
      } else if (st.isDirectory()) {
        // A dir over a symlink below: the link goes first, so tar never writes through it.
        if (lstatIn(merged, path) && !lstatIn(merged, path)!.isDirectory()) out.replaced.push(path);
        walk(path);
      } else if (lstatIn(merged, path)?.isDirectory()) out.replaced.push(path);
    }
  };
  walk('');
  return out;
}

function lstatIn(root: string, rel: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(join(root, rel));
  } catch {
    return undefined;
  }
}

/** root/rel for removal, refused if a directory on the way is a symlink (it could lead out of the image). */
function removable(root: string, rel: string, label: string): string | undefined {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const st = lstatIn(root, parts.slice(0, i).join('/'));
    if (!st) return undefined; // nothing below to remove
    if (!st.isDirectory()) throw new LockerError(`${label}: a whiteout for /${rel} goes through /${parts.slice(0, i).join('/')}, which is not a directory in the layers below; refused`);
  }
  return join(root, rel);
}

/** Applies one unpacked layer onto merged: whiteouts, then its files (tar to tar, same flags as the import). */
export async function applyLayer(layerRoot: string, merged: string, opts: ImportOptions, label: string): Promise<void> {
  const w = scanLayer(layerRoot, merged, label);
  for (const rel of w.opaque) {
    const dir = rel ? removable(merged, rel, label) : merged;
    if (dir && lstatIn(dir, '')?.isDirectory()) for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const rel of [...w.removes, ...w.replaced]) {
    const path = removable(merged, rel, label);
    if (path) rmSync(path, { recursive: true, force: true });
  }
  await copyTree(layerRoot, merged, opts.rootless);
}

/** tar -c of the layer piped into tar -x onto the merged root, whiteout files left out. */
function copyTree(from: string, to: string, rootless: boolean): Promise<void> {
  const read = spawn('tar', ['-c', '-f', '-', '-C', from, '--numeric-owner', '--xattrs', `--exclude=${WHITEOUT}*`, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Rootless: owners are the caller's anyway; /dev is not excluded here (the layer has none).
  const args = tarArgs(to, rootless, []).filter((a) => a !== '-vv' && !a.startsWith('--exclude='));
  const write = spawn('tar', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  read.stdout!.pipe(write.stdin!);
  write.stdin!.on('error', () => undefined);
  let stderr = '';
  read.stderr!.on('data', (d) => (stderr += d));
  write.stderr!.on('data', (d) => (stderr += d));
  const done = (p: ReturnType<typeof spawn>): Promise<number | null> => new Promise((r) => p.on('close', (code) => r(code)));
  const kill = (): void => void (read.kill('SIGKILL'), write.kill('SIGKILL'));
  process.on('exit', kill);
  return Promise.all([done(read), done(write)]).then(([a, b]) => {
    process.off('exit', kill);
    if (a !== 0 || b !== 0) throw new LockerError(`stacking an image layer failed (${stderr.split('\n')[0] || `tar exited with ${a}/${b}`})`);
  });
}
