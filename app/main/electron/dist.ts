// `npm run dist`: AppImage + deb through electron-builder, or one line saying why not. Packaging
// needs the real Electron binary (it is copied into the package), which some machines cannot download.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { findElectron } from '../electron-binary';

const root = join(__dirname, '..', '..', '..', '..');
const electron = findElectron();
if ('missing' in electron) {
  console.error(`dist: cannot build the AppImage/deb: ${electron.missing}. electron-builder packs the Electron binary into them; install it (npx install-electron) or point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron ${require(join(root, 'node_modules', 'electron', 'package.json')).version}.`);
  process.exit(1);
}
const builder = join(root, 'node_modules', '.bin', 'electron-builder');
const result = spawnSync(builder, ['--config', 'electron-builder.yml', '--linux', '--x64', `-c.electronDist=${dirname(electron.path)}`], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
