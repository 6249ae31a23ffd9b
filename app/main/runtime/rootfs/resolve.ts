// Picks the rootfs a spec asks for: the embedded default, a directory, or a tarball to import.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LockerError } from '../errors';
import { defaultRootfs } from './default-rootfs';
import { importTarball } from './tarball';

export interface ResolvedRootfs {
  /** Directory used as the read-only lower layer. */
  dir: string;
  /** What the user asked for, for display. */
  label: string;
}

export function resolveRootfs(images: string, requested: string | undefined, rootless: boolean): ResolvedRootfs {
  if (requested === undefined) return { dir: defaultRootfs(images), label: 'default' };
  const path = resolve(requested);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new LockerError(`rootfs "${requested}" does not exist; pass a directory or a .tar/.tar.gz (e.g. from docker export), or omit --rootfs for the default`);
  }
  if (st.isDirectory()) return { dir: path, label: path };
  if (st.isFile()) return { dir: importTarball(images, path, rootless), label: path };
  throw new LockerError(`rootfs "${requested}" is neither a directory nor a tar file`);
}
