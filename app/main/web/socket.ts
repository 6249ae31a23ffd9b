// One WebSocket client: calls in, replies and events out. Host shells and exec terminals it opened
// die with it, so a closed tab leaves no bash behind.
import type { WebSocket } from 'ws';
import { Channel, EVENT_NAMES, callForChannel, type ClientMessage, type ServerMessage } from '../../shared/api';
import type { LockerService } from '../api/service';

export function serveSocket(ws: WebSocket, service: LockerService): void {
  const owned = new Set<string>();
  const send = (msg: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const unsubscribe = EVENT_NAMES.map((event) => service.on(event, (payload) => send({ t: 'event', ch: Channel[event], payload })));

  ws.on('message', async (raw, isBinary) => {
    let msg: ClientMessage;
    try {
      if (isBinary) throw new Error('binary frame');
      msg = JSON.parse(raw.toString()) as ClientMessage;
      if (typeof msg !== 'object' || msg === null || msg.t !== 'call' || !Number.isSafeInteger(msg.id)) throw new Error('not a call');
    } catch {
      ws.close(1003, 'expected a JSON call message');
      return;
    }
    const method = callForChannel(msg.ch);
    const env = method ? await service.dispatch(method, msg.arg) : { error: `unknown channel "${String(msg.ch).slice(0, 60)}"` };
    if ((method === 'openHostShell' || method === 'exec') && 'result' in env) owned.add((env.result as { terminalId: string }).terminalId);
    if (method === 'closeTerminal' && 'result' in env) owned.delete((msg.arg as { terminalId: string }).terminalId);
    send({ t: 'reply', id: msg.id, env });
  });

  ws.on('close', () => {
    unsubscribe.forEach((u) => u());
    for (const terminalId of owned) void service.dispatch('closeTerminal', { terminalId });
  });
}
