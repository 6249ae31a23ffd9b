import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const ELECTRON_MAIN = join(ROOT, 'build', 'app', 'main', 'electron', 'main.js');

export function electronStatus(): { path: string } | { missing: string } {
  // the compiled helper reads electron's path.txt without triggering its download
  const { findElectron } = require(join(ROOT, 'build', 'app', 'main', 'electron-binary.js')) as typeof import('../../app/main/electron-binary');
  const bin = findElectron();
  if ('missing' in bin) return bin;
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { missing: 'no display ($DISPLAY/$WAYLAND_DISPLAY unset; try xvfb-run)' };
  if (!existsSync(ELECTRON_MAIN)) return { missing: `${ELECTRON_MAIN} is not built (npm run build:electron)` };
  return bin;
}
