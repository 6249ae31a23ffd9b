// Web mode's LockerApi: the same typed client as the preload, over one WebSocket.
import { createClient, type ClientMessage, type Envelope, type LockerApi, type ServerMessage } from '../../../shared/api';

export function connectWebSocket(url: string, protocols: string[]): LockerApi {
  const ws = new WebSocket(url, protocols);
  const pending = new Map<number, (env: Envelope<unknown>) => void>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const queue: string[] = [];
  let next = 1;
  let closedReason: string | undefined;
  let opened = false;

  ws.addEventListener('open', () => {
    opened = true;
    for (const m of queue.splice(0)) ws.send(m);
  });
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as ServerMessage;
    if (msg.t === 'reply') {
      pending.get(msg.id)?.(msg.env);
      pending.delete(msg.id);
    } else {
      listeners.get(msg.ch)?.forEach((l) => l(msg.payload));
    }
  });
  ws.addEventListener('close', (ev) => {
    // A refused upgrade (wrong token, e.g. one kept from an earlier run) never opens; the browser
    // does not tell us the server's reason, so name the likely one.
    closedReason = opened
      ? `the connection to Locker closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''}); reload the page`
      : 'Locker refused this page or is not running: open the URL it printed this time (it ends in #token=…); a token from an earlier run no longer works';
    for (const resolve of pending.values()) resolve({ error: closedReason });
    pending.clear();
    document.body.dataset.connection = 'closed';
  });

  const invoke = (channel: string, arg: unknown) =>
    new Promise<Envelope<unknown>>((resolve) => {
      if (closedReason) return resolve({ error: closedReason });
      const id = next++;
      pending.set(id, resolve);
      const text = JSON.stringify({ t: 'call', id, ch: channel, arg } satisfies ClientMessage);
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
      else queue.push(text);
    });

  const subscribe = (channel: string, listener: (payload: unknown) => void) => {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel)!.add(listener);
    return () => void listeners.get(channel)?.delete(listener);
  };

  // acks: no id, no reply (a dropped one on a closed socket has nothing left to resume)
  const notify = (channel: string, arg: unknown) => {
    if (closedReason) return;
    const text = JSON.stringify({ t: 'notify', ch: channel, arg } satisfies ClientMessage);
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
    else queue.push(text);
  };

  return createClient(invoke, subscribe, notify);
}
