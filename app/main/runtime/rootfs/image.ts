// A layered image (`docker save` archive or OCI image layout, a directory or a tar) made into one
// flattened rootfs: images/img-<config digest>/rootfs, built once from the layers in order (each
// unpacked once under images/layer-<digest>) and described by image.json beside it. Every digest is
// checked before anything is unpacked; a failure leaves nothing in the images dir.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { dataDirError, ensureWritableDir, isDataDirProblem } from '../data-dir';
import { LockerError } from '../errors';
import { dirImageFormat, readArchive, tarImageFormat, type ArchiveContents, type ImageConfigFile, type ImageFormat } from './image-archive';
import { applyLayer, layerKey, layerPath, unpackLayer, verifyLayer } from './layers';
import { imagePath, partialOwnerTag, publishImageAsync } from './store';
import { tarballKey, type ImportOptions } from './tarball';

export type ImageConfig = NonNullable<ImageConfigFile['config']>;

/** image.json beside an image's rootfs. */
export interface ImageRecord {
  id: string;
  name?: string;
  format: ImageFormat;
  layers: string[];
  /** tarballKey of each archive it was imported from (a re-run skips the unpacking). */
  sources: string[];
  /** Paths the user gave (what containers' records name as their rootfs). */
  labels: string[];
  config: ImageConfig;
}

const imageKey = (configDigest: string): string => `img-${configDigest}`;

/** A directory or uncompressed tar holding an image archive, and which kind. */
export function imageFormatOf(path: string, isDir: boolean): ImageFormat | undefined {
  return isDir ? dirImageFormat(path) : tarImageFormat(path);
}

export function listImageRecords(images: string): (ImageRecord & { dir: string })[] {
  if (!existsSync(images)) return [];
  return readdirSync(images).filter((n) => n.startsWith('img-')).flatMap((n) => {
    try {
      return [{ ...(JSON.parse(readFileSync(join(images, n, 'image.json'), 'utf8')) as ImageRecord), dir: join(images, n) }];
    } catch {
      return [];
    }
  });
}

function sourceKey(path: string, isDir: boolean): string | undefined {
  return isDir ? undefined : tarballKey(path); // a directory may change in place: read its manifest each time
}

/** The cached image a tar was imported into before, if any (no unpacking needed). */
export function cachedImage(images: string, path: string, isDir: boolean): (ImageRecord & { dir: string }) | undefined {
  const key = sourceKey(path, isDir);
  return key ? listImageRecords(images).find((r) => r.sources.includes(key) && existsSync(join(r.dir, 'rootfs'))) : undefined;
}

export async function importImage(images: string, path: string, isDir: boolean, format: ImageFormat, opts: ImportOptions): Promise<{ dir: string; config: ImageConfig }> {
  const cached = cachedImage(images, path, isDir);
  if (cached) return { dir: join(cached.dir, 'rootfs'), config: cached.config };
  const unpacked = isDir ? undefined : await unpackArchive(images, path);
  try {
    const contents = readArchive(unpacked ?? path, format, `--rootfs ${path}`);
    const dir = await buildImage(images, contents, path, opts);
    remember(dirname(dir), contents, path, sourceKey(path, isDir));
    return { dir, config: contents.config.config ?? {} };
  } finally {
    if (unpacked) rmSync(unpacked, { recursive: true, force: true });
  }
}

/** The archive's files in images/.partial-unpack-…, removed after the import (recovery sweeps it after a crash). */
async function unpackArchive(images: string, path: string): Promise<string> {
  let tmp: string;
  try {
    ensureWritableDir(images);
    tmp = mkdtempSync(join(images, `.partial-unpack-${partialOwnerTag()}-`));
  } catch (e) {
    throw isDataDirProblem(e) ? dataDirError(images, e) : e;
  }
  // Only JSON and layer blobs: no owners or modes matter here; GNU tar drops `..` and leading `/`.
  const ok = await new Promise<string>((resolve) => {
    const tar = spawn('tar', ['-x', '-f', path, '-C', tmp, '--no-same-owner', '--no-same-permissions'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr!.on('data', (d) => (err += d));
    tar.on('error', (e) => (err += e.message));
    tar.on('close', (code) => resolve(code === 0 ? '' : err.split('\n')[0] || `tar exited with ${code}`));
  });
  if (ok) {
    rmSync(tmp, { recursive: true, force: true });
    throw new LockerError(`--rootfs ${path} is not a readable image archive (${ok.replace(/^tar: /, '')}); re-create it with docker save or skopeo copy`);
  }
  return tmp;
}

async function buildImage(images: string, c: ArchiveContents, path: string, opts: ImportOptions): Promise<string> {
  const label = `--rootfs ${path}`;
  const key = imageKey(c.configDigest);
  if (existsSync(imagePath(images, key))) return imagePath(images, key);
  for (const [i, layer] of c.layers.entries()) await verifyLayer(layer, label, i);
  const fresh = c.layers.filter((l) => !existsSync(layerPath(images, l.digest)));
  // Progress by layers unpacked (their sizes as in the archive), and one final line as for a tarball.
  const sizes = c.layers.map((l) => statSync(l.file).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  let read = 0;
  try {
    for (const [i, layer] of c.layers.entries()) {
      await unpackLayer(images, layer, opts);
      read += sizes[i];
      opts.onProgress?.({ tarball: path, read, total, done: false });
    }
    const dir = await publishImageAsync(images, key, async (root) => {
      for (const layer of c.layers) await applyLayer(layerPath(images, layer.digest), root, opts, label);
    });
    opts.onProgress?.({ tarball: `${path} (${c.layers.length} layers)`, read: total, total, done: true });
    return dir;
  } catch (e) {
    // Nothing half-made stays: the layers this import unpacked go with the image that failed.
    for (const l of fresh) rmSync(join(images, layerKey(l.digest)), { recursive: true, force: true });
    throw e;
  }
}

function remember(dir: string, c: ArchiveContents, label: string, source: string | undefined): void {
  let rec: ImageRecord;
  try {
    rec = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8')) as ImageRecord;
  } catch {
    rec = { id: c.configDigest, name: c.name, format: c.format, layers: c.layers.map((l) => l.digest), sources: [], labels: [], config: c.config.config ?? {} };
  }
  if (source && !rec.sources.includes(source)) rec.sources.push(source);
  if (!rec.labels.includes(label)) rec.labels.push(label);
  rec.name ??= c.name ?? basename(label);
  writeFileSync(join(dir, 'image.json'), JSON.stringify(rec, null, 2) + '\n');
}

export function imageSize(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return 0;
  }
}

/** Removes an image by id prefix or name, and the layers no other image uses; refused while a container uses it. */
export function removeImage(images: string, ref: string, usedBy: (labels: string[]) => string | undefined): ImageRecord {
  const all = listImageRecords(images);
  const hits = all.filter((r) => r.name === ref || (ref.replace(/^sha256:/, '').length >= 4 && r.id.startsWith(ref.replace(/^sha256:/, ''))));
  if (hits.length === 0) throw new LockerError(`no image "${ref}"; see locker images for the ids`);
  if (hits.length > 1) throw new LockerError(`"${ref}" names ${hits.length} images; give more of the id (locker images)`);
  const img = hits[0];
  const user = usedBy(img.labels);
  if (user) throw new LockerError(`image ${img.id.slice(0, 12)} is used by container ${user}; remove it first (locker rm -f ${user})`);
  rmSync(img.dir, { recursive: true, force: true });
  const kept = new Set(all.filter((r) => r !== img).flatMap((r) => r.layers));
  for (const l of img.layers) if (!kept.has(l)) rmSync(join(images, layerKey(l)), { recursive: true, force: true });
  return img;
}
