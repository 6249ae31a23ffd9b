// Where the Electron binary would be, without require('electron'): that module tries to
// download the binary when it is missing, and downloads are impossible on many machines.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type ElectronBinary = { path: string } | { missing: string };

export function findElectron(): ElectronBinary {
  let dir: string;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { missing: 'the electron package is not installed (npm install)' };
  }
  const pathFile = join(dir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : override ? 'electron' : '';
  if (!name) return { missing: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing)' };
  const path = override ? join(override, name) : join(dir, 'dist', name);
  return existsSync(path) ? { path } : { missing: `the Electron binary is missing at ${path}` };
}

export function displayAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}
