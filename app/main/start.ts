// `npm start`: the desktop app when Electron can run here, otherwise the same UI in web mode.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { displayAvailable, findElectron } from './electron-binary';
import { startWeb } from './web/start';

async function main(): Promise<void> {
  const electron = findElectron();
  const electronMain = join(__dirname, 'electron', 'main.js');
  let why = '';
  if ('missing' in electron) why = electron.missing;
  else if (!displayAvailable()) why = 'no display ($DISPLAY and $WAYLAND_DISPLAY are unset)';
  else if (!existsSync(electronMain)) why = `${electronMain} is not built (npm run build:electron)`;

  if (!why && 'path' in electron) {
    const child = spawn(electron.path, [electronMain, ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }

  const port = process.env.LOCKER_PORT ? Number(process.env.LOCKER_PORT) : 0;
  const web = await startWeb({ port, host: process.env.LOCKER_HOST });
  if (web.warning) console.error(web.warning);
  console.log(`Not starting Electron: ${why}. Web mode instead; open:`);
  console.log(process.env.LOCKER_PROJECTOR === '1' ? Object.assign(new URL(web.url), { search: '?projector=1' }).toString() : web.url);
  const shutdown = () => void web.close().then(() => process.exit(0));
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((e: Error) => {
  console.error(`locker: ${e.message}`);
  process.exit(1);
});
