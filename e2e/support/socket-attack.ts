// A WebSocket client that tries what the container in issue 8 did: connect to web mode's socket and,
// if it gets in, open a host shell and make it create a file. The file exists only if the attack
// worked, so a spec checks the outcome on the real machine, not just a status code.
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { Channel, type ServerMessage } from '../../app/shared/api';

export interface Attempt {
  /** 'open' when the socket was accepted, else how it was refused ("HTTP 403: refused: …"). */
  outcome: string;
  /** Whether the host shell created the marker file. */
  wroteOnHost: boolean;
}

export async function tryHostShell(wsUrl: string, protocols: string[], headers: Record<string, string>, marker: string): Promise<Attempt> {
  const ws = new WebSocket(wsUrl, protocols, { headers });
  const outcome = await new Promise<string>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(`HTTP ${res.statusCode}: ${body.trim()}`));
    });
    ws.once('error', (e) => resolve(`error: ${e.message}`));
  });
  if (outcome !== 'open') return { outcome, wroteOnHost: existsSync(marker) };
  const replies = new Map<number, ServerMessage>();
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString()) as ServerMessage;
    if (msg.t === 'reply') replies.set(msg.id, msg);
  });
  const call = async (id: number, ch: string, arg: unknown) => {
    ws.send(JSON.stringify({ t: 'call', id, ch, arg }));
    for (let i = 0; i < 200 && !replies.has(id); i++) await new Promise((r) => setTimeout(r, 25));
    return replies.get(id);
  };
  const shell = await call(1, Channel.openHostShell, { cols: 80, rows: 24 });
  if (shell?.t === 'reply' && 'result' in shell.env) {
    const { terminalId } = shell.env.result as { terminalId: string };
    await call(2, Channel.writeTerminal, { terminalId, data: `touch ${marker}\r` });
    for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25));
  }
  ws.close(); // closing the socket closes the shell it opened
  return { outcome, wroteOnHost: existsSync(marker) };
}
