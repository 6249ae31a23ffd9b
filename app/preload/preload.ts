// Exposes exactly LockerApi to the page: no ipcRenderer, no Node objects, no event objects.
// Sandboxed preloads cannot require our other files, so the build bundles this into preload.bundle.js.
import { contextBridge, ipcRenderer } from 'electron';
import { createClient, type Envelope } from '../shared/api';

const api = createClient(
  (channel, arg) => ipcRenderer.invoke(channel, arg) as Promise<Envelope<unknown>>,
  (channel, listener) => {
    const handler = (_event: unknown, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, handler);
    return () => void ipcRenderer.removeListener(channel, handler);
  },
  (channel, arg) => ipcRenderer.send(channel, arg),
);

contextBridge.exposeInMainWorld('api', api);
