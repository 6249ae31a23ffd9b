// Reads an image archive's table of contents: a `docker save` archive (manifest.json: Config +
// Layers) or an OCI image layout (oci-layout, index.json, blobs/sha256/…), unpacked in a directory.
// Every path the archive names is checked to stay inside it (no `..`, no absolute path, no symlink out).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { LockerError } from '../errors';

export type ImageFormat = 'oci' | 'docker';

export interface ArchiveLayer {
  /** The layer's file inside the unpacked archive. */
  file: string;
  /** sha256 hex the file must hash to (OCI: the blob; docker save: the uncompressed tar, its diff_id). */
  digest: string;
  /** Whether the digest is of the uncompressed stream (docker save's diff_ids). */
  uncompressed: boolean;
}

export interface ArchiveContents {
  format: ImageFormat;
  /** sha256 hex of the config blob: the image's id. */
  configDigest: string;
  config: ImageConfigFile;
  layers: ArchiveLayer[];
  name?: string;
}

/** The parts of an image config (OCI image-spec config / docker's) that a launch honours. */
export interface ImageConfigFile {
  config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string };
  rootfs?: { diff_ids?: string[] };
}

const MAX_LAYERS = 127; // overlayfs and docker's own limit

/** Which image format a directory holds, if any. */
export function dirImageFormat(dir: string): ImageFormat | undefined {
  if (existsSync(join(dir, 'oci-layout'))) return 'oci';
  if (existsSync(join(dir, 'manifest.json'))) return 'docker';
  return undefined;
}

/**
 * Which image format an uncompressed tar holds, from its headers alone (seeks, no extraction): a
 * top-level oci-layout or manifest.json. A compressed or flat tar is a plain rootfs.
 */
export function tarImageFormat(path: string): ImageFormat | undefined {
  const fd = openSync(path, 'r');
  const header = Buffer.alloc(512);
  let found: ImageFormat | undefined;
  try {
    for (let pos = 0, n = 0; n < 200000; n++) {
      if (readSync(fd, header, 0, 512, pos) < 512 || header[0] === 0) break;
      if (header.toString('latin1', 257, 262) !== 'ustar') break; // not a tar (or compressed)
      const name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '').replace(/^\.\//, '');
      if (name === 'oci-layout') return 'oci';
      if (name === 'manifest.json') found = 'docker';
      const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
      pos += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

/** dir/rel, refused with one line when rel leaves the archive (`..`, absolute, a symlink out). */
export function insideArchive(dir: string, rel: unknown, label: string, what: string): string {
  if (typeof rel !== 'string' || rel === '') throw new LockerError(`${label}: ${what} is missing from the manifest; the archive is damaged, re-create it`);
  if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new LockerError(`${label}: the manifest's ${what} "${rel.slice(0, 80)}" points outside the archive; refused (re-create the image with docker save or skopeo)`);
  }
  const path = join(dir, rel);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new LockerError(`${label}: ${what} "${rel.slice(0, 80)}" is named in the manifest but missing from the archive; the archive is truncated, re-create it`);
  }
  const r = relative(realpathSync(dir), real);
  if (r.startsWith('..' + sep) || r === '..' || isAbsolute(r)) {
    throw new LockerError(`${label}: ${what} "${rel.slice(0, 80)}" is a symlink pointing outside the archive; refused`);
  }
  return real;
}

function readJson<T>(path: string, label: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw new LockerError(`${label}: ${what} is not valid JSON; the archive is damaged, re-create it`);
  }
}

function hexOf(digest: unknown, label: string): string {
  const m = typeof digest === 'string' ? /^sha256:([0-9a-f]{64})$/.exec(digest) : null;
  if (!m) throw new LockerError(`${label}: digest ${JSON.stringify(String(digest).slice(0, 80))} is not sha256:<64 hex digits>; only sha256 images are supported`);
  return m[1];
}

function checkLayerCount(n: number, label: string): void {
  if (n === 0) throw new LockerError(`${label}: the image has no layers; re-create it`);
  if (n > MAX_LAYERS) throw new LockerError(`${label}: the image has ${n} layers; at most ${MAX_LAYERS} are supported (squash it, e.g. docker build --squash)`);
}

interface OciDescriptor { digest?: string; mediaType?: string; platform?: { os?: string; architecture?: string } }

function ociBlob(dir: string, digest: unknown, label: string, what: string): { hex: string; file: string } {
  const hex = hexOf(digest, label);
  return { hex, file: insideArchive(dir, `blobs/sha256/${hex}`, label, what) };
}

/** index.json → (a nested index →) the image manifest → config + layers. */
function readOci(dir: string, label: string): ArchiveContents {
  let index = readJson<{ manifests?: OciDescriptor[] }>(join(dir, 'index.json'), label, 'index.json');
  for (let depth = 0; depth < 3; depth++) {
    const list = index.manifests ?? [];
    const pick = list.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === hostArch()) ?? list[0];
    if (!pick) throw new LockerError(`${label}: index.json lists no manifest; the layout is empty`);
    const blob = ociBlob(dir, pick.digest, label, 'manifest');
    const manifest = readJson<{ manifests?: OciDescriptor[]; config?: OciDescriptor; layers?: OciDescriptor[] }>(blob.file, label, 'the manifest');
    if (manifest.manifests) {
      index = manifest;
      continue;
    }
    const config = ociBlob(dir, manifest.config?.digest, label, 'config');
    const layers = (manifest.layers ?? []).map((l, i) => {
      const b = ociBlob(dir, l.digest, label, `layer ${i + 1}`);
      return { file: b.file, digest: b.hex, uncompressed: false };
    });
    checkLayerCount(layers.length, label);
    return { format: 'oci', configDigest: config.hex, config: readJson(config.file, label, 'the config'), layers };
  }
  throw new LockerError(`${label}: index.json nests indexes too deeply; refused`);
}

/** manifest.json: [{ Config, RepoTags, Layers }]; layers are verified against the config's diff_ids. */
function readDocker(dir: string, label: string): ArchiveContents {
  const manifest = readJson<{ Config?: string; RepoTags?: string[]; Layers?: string[] }[]>(join(dir, 'manifest.json'), label, 'manifest.json');
  const entry = Array.isArray(manifest) ? manifest[0] : undefined;
  if (!entry) throw new LockerError(`${label}: manifest.json lists no image; the archive is empty`);
  const configFile = insideArchive(dir, entry.Config, label, 'Config');
  const config = readJson<ImageConfigFile>(configFile, label, 'the config');
  const layers = entry.Layers ?? [];
  checkLayerCount(layers.length, label);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layers.length) {
    throw new LockerError(`${label}: the config lists ${diffIds.length} layer digests for ${layers.length} layers; the archive is damaged, re-create it`);
  }
  const files = layers.map((l, i) => insideArchive(dir, l, label, `layer ${i + 1}`));
  return {
    format: 'docker',
    configDigest: sha256Hex(readFileSync(configFile)),
    config,
    layers: files.map((file, i) => ({ file, digest: hexOf(diffIds[i], label), uncompressed: true })),
    name: entry.RepoTags?.[0],
  };
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hostArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

export function readArchive(dir: string, format: ImageFormat, label: string): ArchiveContents {
  return format === 'oci' ? readOci(dir, label) : readDocker(dir, label);
}
