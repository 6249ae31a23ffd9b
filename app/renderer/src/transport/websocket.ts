// Web mode's LockerApi: the same typed client as the preload, over one WebSocket.
import { createClient, type ClientMessage, type Envelope, type LockerApi, type ServerMessage } from '../../../shared/api';

export function connectWebSocket(url: string): LockerApi {
  const ws = new WebSocket(url);
  const pending = new Map<number, (env: Envelope<unknown>) => void>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const queue: string[] = [];
  let next = 1;
  let closedReason: string | undefined;

  ws.addEventListener('open', () => {
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
    closedReason = `the connection to Locker closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''}); reload the page`;
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

  return createClient(invoke, subscribe);
}
