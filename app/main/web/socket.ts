// One WebSocket client: calls in, replies and events out. Host shells and exec terminals it opened
// die with it, so a closed tab leaves no bash behind.
import type { WebSocket } from 'ws';
import { Channel, EVENT_NAMES, callForChannel, isNotifyCall, type ClientMessage, type ServerMessage, type TerminalData } from '../../shared/api';
import type { LockerService } from '../api/service';
import type { InspectionEvent } from '../../shared/inspection-diff';
import { AttachedTerminals } from '../terminals/readers';
import type { HostShellPolicy } from './exposure';

let connections = 0;

/** Only called for a socket that passed checkUpgrade (our Origin, the token). */
export function serveSocket(ws: WebSocket, service: LockerService, hostShell: HostShellPolicy): void {
  const owned = new Set<string>();
  // This connection is one reader: it gets the data of the terminals it attached (panes counted), and
  // its acks hold back only those.
  const reader = `ws-${++connections}`;
  const attached = new AttachedTerminals();
  const send = (msg: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const unsubscribe = EVENT_NAMES.map((event) => service.on(event, (payload) => {
    if (event === 'terminalData' && !attached.has((payload as TerminalData).terminalId)) return;
    if (event === 'inspection' && !service.watchingInspection(reader, (payload as InspectionEvent).id)) return;
    send({ t: 'event', ch: Channel[event], payload });
  }));

  // A protocol error (an oversize frame: 1009, bad UTF-8: 1007) makes ws close the socket and emit
  // 'error'; without a listener that error would be uncaught and end the whole server.
  ws.on('error', () => {});

  ws.on('message', async (raw, isBinary) => {
    // A frame that is no call message closes the socket with one line saying why (at most 123 bytes).
    if (isBinary) return ws.close(1003, 'binary frame; expected a JSON call message');
    let msg: ClientMessage;
    try {
      msg = JSON.parse(raw.toString()) as ClientMessage;
    } catch (e) {
      return ws.close(1003, e instanceof RangeError ? 'not a call message: nested too deeply' : 'invalid JSON; expected a call message');
    }
    if (typeof msg === 'object' && msg !== null && !Array.isArray(msg) && msg.t === 'notify') {
      // fire-and-forget (an ack): acted on, never answered; a bad one is dropped like a late ack
      const name = callForChannel(msg.ch);
      if (!name || !isNotifyCall(name)) return ws.close(1003, 'notify is only for acks: expected {"t":"notify","ch":"locker:ack-terminal",…}');
      void service.dispatch(name, msg.arg, reader);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || msg.t !== 'call' || !Number.isSafeInteger(msg.id)) {
      return ws.close(1003, 'not a call message: expected {"t":"call","id":N,"ch":…,"arg":…}');
    }
    const method = callForChannel(msg.ch);
    // String() of an object without a usable toString throws: describe the channel without calling into it
    const ch: unknown = msg.ch;
    const unknown = typeof ch === 'string' ? `unknown channel "${ch.slice(0, 60)}"`
      : `unknown channel: got ${ch === null ? 'null' : Array.isArray(ch) ? 'an array' : typeof ch === 'object' ? 'an object' : `a ${typeof ch}`}, expected a string`;
    const answered = method && attached.before(method, msg.arg);
    if (answered) return send({ t: 'reply', id: msg.id, env: answered });
    const env = !method ? { error: unknown }
      : method === 'openHostShell' && !hostShell.enabled ? { error: hostShell.refusal ?? 'the host shell is off' }
      : await service.dispatch(method, msg.arg, reader);
    if (method) attached.after(method, msg.arg, env);
    if ((method === 'openHostShell' || method === 'exec') && 'result' in env) owned.add((env.result as { terminalId: string }).terminalId);
    if (method === 'closeTerminal' && 'result' in env) owned.delete((msg.arg as { terminalId: string }).terminalId);
    send({ t: 'reply', id: msg.id, env });
  });

  ws.on('close', () => {
    unsubscribe.forEach((u) => u());
    service.readerGone(reader);
    for (const terminalId of owned) void service.dispatch('closeTerminal', { terminalId });
  });
}
