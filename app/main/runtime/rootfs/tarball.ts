// Imports a tar or tar.gz (e.g. `docker export` output) once; later runs reuse the cached copy.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { LockerError } from '../errors';
import { publishImage } from './store';

export function tarballKey(path: string): string {
  const real = realpathSync(path);
  const st = statSync(real);
  return 'tar-' + createHash('sha256').update(`${real}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
}

export function importTarball(images: string, path: string, rootless: boolean): string {
  return publishImage(images, tarballKey(path), (root) => {
    // Without root, device nodes and foreign owners cannot be created: skip /dev (the container gets its own).
    const args = ['-x', '-f', path, '-C', root, '--no-same-permissions', '--delay-directory-restore'];
    if (rootless) args.push('--no-same-owner', '--exclude=./dev/*', '--exclude=dev/*');
    const r = spawnSync('tar', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.error) throw new LockerError(`cannot run tar to import ${path}: ${r.error.message}; install tar`);
    if (r.status !== 0) {
      const why = (r.stderr || '').split('\n').find((l) => l.trim()) ?? `tar exited with ${r.status}`;
      if (/No space left|Disk quota exceeded/.test(r.stderr)) {
        throw new LockerError(`cannot import --rootfs ${path}: the disk holding the data dir (${images}) is full; nothing was kept. Free space there or set LOCKER_DATA_DIR elsewhere`);
      }
      if (/Read-only file system/.test(r.stderr)) {
        throw new LockerError(`cannot import --rootfs ${path}: the data dir (${images}) is on a read-only filesystem; set LOCKER_DATA_DIR to a writable directory`);
      }
      throw new LockerError(`--rootfs ${path} is not a readable tar archive (${why.replace(/^tar: /, '')}); re-create it, e.g. docker export NAME > rootfs.tar`);
    }
  });
}
