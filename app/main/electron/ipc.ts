// LockerApi over Electron IPC: one ipcMain.handle per call channel, events pushed with send().
import { ipcMain, type BrowserWindow } from 'electron';
import { CALL_NAMES, Channel, EVENT_NAMES } from '../../shared/api';
import type { LockerService } from '../api/service';
import { trustedSender } from './security';

export function registerIpc(service: LockerService, getWindow: () => BrowserWindow | null, allowedUrl: string): () => void {
  for (const name of CALL_NAMES) {
    ipcMain.handle(Channel[name], (event, arg: unknown) => {
      if (!trustedSender(event, getWindow(), allowedUrl)) return { error: 'refused: IPC from an untrusted frame' };
      return service.dispatch(name, arg);
    });
  }
  const unsubscribe = EVENT_NAMES.map((event) =>
    service.on(event, (payload) => {
      const win = getWindow();
      if (win && !win.isDestroyed()) win.webContents.send(Channel[event], payload);
    }),
  );
  return () => {
    for (const name of CALL_NAMES) ipcMain.removeHandler(Channel[name]);
    unsubscribe.forEach((u) => u());
  };
}
