// Why a container with a user namespace cannot enter a directory of its rootfs: files of host ids
// outside the namespace's map are "nobody" inside, so even root inside gets EACCES on a 0700
// directory that host root owns (a root-owned directory rootfs used rootless).
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One line naming the directory, its owner and mode, and the fix. */
export function unenterableRootfsDir(rootfs: string, inside: string): string {
  const host = join(resolve(rootfs), inside);
  let owner = '';
  try {
    const st = statSync(host);
    owner = ` (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  } catch {
    // a tarball's import, or gone: the path alone still says where
  }
  return `the container cannot enter ${host}${owner}: without root, other users' files are closed to it; ` +
    `chown -R the rootfs to yourself, or use a tarball of it (tar -C ${rootfs} -c . > rootfs.tar)`;
}
