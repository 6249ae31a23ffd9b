// The image cache: each image is made in a temp dir and renamed into place, so a half-made image never shows.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function imagePath(images: string, key: string): string {
  return join(images, key, 'rootfs');
}

/** Returns images/key/rootfs, running build(tmpRoot) first when it is not cached yet. */
export function publishImage(images: string, key: string, build: (root: string) => void): string {
  const final = join(images, key);
  const rootfs = join(final, 'rootfs');
  if (existsSync(rootfs)) return rootfs;
  mkdirSync(images, { recursive: true, mode: 0o755 });
  const tmp = mkdtempSync(join(images, `.partial-${key}-`));
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
