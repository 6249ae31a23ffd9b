// LockerApi over Electron IPC: one ipcMain.handle per call channel, events pushed with send().
// Acks (NOTIFY_CALLS) come with ipcRenderer.send and get no reply. The window is one reader: it
// gets the data of the terminals its panes attached.
import { ipcMain, type BrowserWindow, type WebContents } from 'electron';
import { CALL_NAMES, Channel, EVENT_NAMES, NOTIFY_CALLS, isNotifyCall, type TerminalData } from '../../shared/api';
import type { LockerService } from '../api/service';
import type { InspectionEvent } from '../../shared/inspection-diff';
import { AttachedTerminals } from '../terminals/readers';
import { trustedSender } from './security';

const READER = 'window';

export function registerIpc(service: LockerService, getWindow: () => BrowserWindow | null, allowedUrl: string): () => void {
  const attached = new AttachedTerminals();
  // A reloaded (or closed) page watches nothing: the page that comes next watches what it shows.
  const pages = new WeakSet<WebContents>();
  const forgetWatchesWithPage = (contents: WebContents): void => {
    if (pages.has(contents)) return;
    pages.add(contents);
    const forget = (): void => service.inspections.readerGone(READER);
    contents.on('did-navigate', forget);
    contents.once('destroyed', forget);
  };
  for (const name of CALL_NAMES) {
    if (isNotifyCall(name)) continue;
    ipcMain.handle(Channel[name], async (event, arg: unknown) => {
      if (!trustedSender(event, getWindow(), allowedUrl)) return { error: 'refused: IPC from an untrusted frame' };
      if (name === 'watchInspection') forgetWatchesWithPage(event.sender);
      const answered = attached.before(name, arg);
      if (answered) return answered;
      const env = await service.dispatch(name, arg, READER);
      attached.after(name, arg, env);
      return env;
    });
  }
  for (const name of NOTIFY_CALLS) {
    ipcMain.on(Channel[name], (event, arg: unknown) => {
      if (trustedSender(event, getWindow(), allowedUrl)) void service.dispatch(name, arg, READER);
    });
  }
  const unsubscribe = EVENT_NAMES.map((event) =>
    service.on(event, (payload) => {
      if (event === 'terminalData' && !attached.has((payload as TerminalData).terminalId)) return;
      if (event === 'inspection' && !service.watchingInspection(READER, (payload as InspectionEvent).id)) return;
      const win = getWindow();
      if (win && !win.isDestroyed()) win.webContents.send(Channel[event], payload);
    }),
  );
  return () => {
    for (const name of CALL_NAMES) if (!isNotifyCall(name)) ipcMain.removeHandler(Channel[name]);
    for (const name of NOTIFY_CALLS) ipcMain.removeAllListeners(Channel[name]);
    unsubscribe.forEach((u) => u());
    service.readerGone(READER);
  };
}
