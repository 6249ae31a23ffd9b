// The image cache: each image is made in a temp dir and renamed into place, so a half-made image never shows.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirError, processStartTime } from '../records';

/** `p<pid>s<starttime>` of this process (field 22 of /proc/self/stat). */
export function partialOwnerTag(pid = process.pid): string {
  return `p${pid}s${processStartTime(pid) ?? ''}`;
}

export function imagePath(images: string, key: string): string {
  return join(images, key, 'rootfs');
}

/** Returns images/key/rootfs, running build(tmpRoot) first when it is not cached yet. */
export function publishImage(images: string, key: string, build: (root: string) => void): string {
  const final = join(images, key);
  const rootfs = join(final, 'rootfs');
  if (existsSync(rootfs)) return rootfs;
  let tmp: string;
  try {
    mkdirSync(images, { recursive: true, mode: 0o755 });
    // The creator's pid and start time in the name: after a crash, recovery removes partials whose creator is gone.
    tmp = mkdtempSync(join(images, `.partial-${key}-${partialOwnerTag()}-`));
  } catch (e) {
    throw dataDirError(images, e as NodeJS.ErrnoException);
  }
  try {
    mkdirSync(join(tmp, 'rootfs'), { mode: 0o755 });
    build(join(tmp, 'rootfs'));
    try {
      renameSync(tmp, final);
    } catch (e) {
      // Another process published the same image first: use theirs.
      if (!existsSync(rootfs)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return rootfs;
}
