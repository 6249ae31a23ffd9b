// The image cache: each image is made in a temp dir and renamed into place, so a half-made image never shows.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataDirError, ensureWritableDir, isDataDirProblem } from '../data-dir';
import { processStartTime } from '../records';

/** `p<pid>s<starttime>` of this process (field 22 of /proc/self/stat). */
export function partialOwnerTag(pid = process.pid): string {
  return `p${pid}s${processStartTime(pid) ?? ''}`;
}

export function imagePath(images: string, key: string): string {
  return join(images, key, 'rootfs');
}

/** Returns images/key/rootfs, running build(tmpRoot) first when it is not cached yet. */
export function publishImage(images: string, key: string, build: (root: string) => void): string {
  const rootfs = imagePath(images, key);
  if (existsSync(rootfs)) return rootfs;
  const tmp = beginImage(images, key);
  try {
    build(join(tmp, 'rootfs'));
  } catch (e) {
    throw discardImage(tmp, e);
  }
  return commitImage(tmp, images, key);
}

/** publishImage for a build that runs off the event loop (a tar import). */
export async function publishImageAsync(images: string, key: string, build: (root: string) => Promise<void>): Promise<string> {
  const rootfs = imagePath(images, key);
  if (existsSync(rootfs)) return rootfs;
  const tmp = beginImage(images, key);
  try {
    await build(join(tmp, 'rootfs'));
  } catch (e) {
    throw discardImage(tmp, e);
  }
  return commitImage(tmp, images, key);
}

/** A temp dir images/.partial-KEY-p<pid>s<start>-XXXXXX with an empty rootfs/ (0755 whatever the umask). */
function beginImage(images: string, key: string): string {
  ensureWritableDir(images);
  try {
    // The creator's pid and start time in the name: after a crash, recovery removes partials whose creator is gone.
    const tmp = mkdtempSync(join(images, `.partial-${key}-${partialOwnerTag()}-`));
    mkdirSync(join(tmp, 'rootfs'));
    chmodSync(join(tmp, 'rootfs'), 0o755);
    return tmp;
  } catch (e) {
    throw isDataDirProblem(e) ? dataDirError(images, e) : e;
  }
}

function commitImage(tmp: string, images: string, key: string): string {
  const rootfs = imagePath(images, key);
  try {
    renameSync(tmp, join(images, key));
  } catch (e) {
    // Another process published the same image first: use theirs.
    if (!existsSync(rootfs)) throw discardImage(tmp, e);
    rmSync(tmp, { recursive: true, force: true });
  }
  return rootfs;
}

/** Removes a half-made image; returns the error to throw (a full or read-only disk said as such). */
function discardImage(tmp: string, e: unknown): unknown {
  try {
    rmSync(tmp, { recursive: true, force: true });
  } catch {
    // recovery removes it later (its creator's tag is in the name); the cause matters more
  }
  if (!isDataDirProblem(e)) return e;
  return dataDirError(dirname(tmp), e);
}
