// Picks the rootfs a spec asks for: the embedded default, a directory, or a tarball to import.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LockerError } from '../errors';
import { defaultRootfs } from './default-rootfs';
import { cachedImage, imageFormatOf, importImage, listImageRecords, type ImageConfig } from './image';
import type { ImageFormat } from './image-archive';
import { importTarball, tarballImagePath, type ImportOptions } from './tarball';

export interface ResolvedRootfs {
  /** Directory used as the read-only lower layer. */
  dir: string;
  /** What the user asked for, for display. */
  label: string;
  /** A layered image's config (Env, Cmd, Entrypoint, WorkingDir, User), for the launch to honour. */
  imageConfig?: ImageConfig;
}

type Requested = { kind: 'named'; rootfs: ResolvedRootfs } | { kind: 'default' } | { kind: 'dir' | 'tar'; path: string } | { kind: 'image'; path: string; isDir: boolean; format: ImageFormat };

/** An imported image by its name (`locker images`: NAME, NAME:latest) or 12+ characters of its id. */
function namedImage(images: string, ref: string): ResolvedRootfs | undefined {
  const hits = listImageRecords(images).filter((r) => r.name === ref || r.name === `${ref}:latest` || (ref.length >= 12 && r.id.startsWith(ref.replace(/^sha256:/, ''))));
  if (hits.length > 1) throw new LockerError(`"${ref}" names ${hits.length} images; give more of the id (locker images)`);
  // Labelled with the path it was imported from, as containers of that image are (rmi and image prune look for it).
  return hits.length ? { dir: join(hits[0].dir, 'rootfs'), label: hits[0].labels[0] ?? ref, imageConfig: hits[0].config } : undefined;
}

function classify(requested: string | undefined, images: string): Requested {
  if (requested === undefined) return { kind: 'default' };
  const path = resolve(requested);
  let st;
  try {
    st = statSync(path);
  } catch {
    // Not a path: an image imported before, by name or id.
    const named = namedImage(images, requested);
    if (named) return { kind: 'named', rootfs: named };
    throw new LockerError(`rootfs "${requested}" does not exist (nor is it an image name in locker images); pass a directory or a .tar/.tar.gz (e.g. from docker export), a docker save archive or an OCI layout, or omit --rootfs for the default`);
  }
  // A docker save archive or an OCI layout, as a directory or a tar: its layers stacked.
  const format = st.isDirectory() || st.isFile() ? imageFormatOf(path, st.isDirectory()) : undefined;
  if (format) return { kind: 'image', path, isDir: st.isDirectory(), format };
  if (st.isDirectory()) return { kind: 'dir', path };
  if (st.isFile()) return { kind: 'tar', path };
  throw new LockerError(`rootfs "${requested}" is neither a directory nor a tar file`);
}

/** The rootfs a launch uses: the default built on first use, a tarball imported on first use. */
export async function resolveRootfs(images: string, requested: string | undefined, opts: ImportOptions): Promise<ResolvedRootfs> {
  const r = classify(requested, images);
  if (r.kind === 'named') return r.rootfs;
  if (r.kind === 'default') return { dir: defaultRootfs(images), label: 'default' };
  if (r.kind === 'dir') return { dir: r.path, label: r.path };
  if (r.kind === 'image') {
    const image = await importImage(images, r.path, r.isDir, r.format, opts);
    return { dir: image.dir, label: r.path, imageConfig: image.config };
  }
  return { dir: await importTarball(images, r.path, opts), label: r.path };
}

/** Where that rootfs is, without importing a tarball (for showing commands: `locker equivalent`). */
export function locateRootfs(images: string, requested: string | undefined): ResolvedRootfs {
  const r = classify(requested, images);
  if (r.kind === 'named') return r.rootfs;
  if (r.kind === 'default') return { dir: defaultRootfs(images), label: 'default' };
  if (r.kind === 'image') {
    const cached = cachedImage(images, r.path, r.isDir);
    return { dir: cached ? `${cached.dir}/rootfs` : `${images}/img-<config digest, on first run>/rootfs`, label: r.path, imageConfig: cached?.config };
  }
  return { dir: r.kind === 'dir' ? r.path : tarballImagePath(images, r.path), label: r.path };
}
