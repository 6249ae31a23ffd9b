// Which terminals one connection (a window, a web client) reads, counted by pane: its transport sends
// it only their data, and the service keeps its flow control as one reader. A pane that leaves while
// another pane of the same connection still shows that terminal does not detach the connection.
import type { Envelope } from '../../shared/api';

export class AttachedTerminals {
  private readonly panes = new Map<string, number>();

  /** Data of this terminal goes to this connection. */
  has(terminalId: string): boolean {
    return this.panes.has(terminalId);
  }

  /**
   * Before the call reaches the service: an attach counts from now (the snapshot covers what came
   * before); a detach that leaves other panes reading is answered here and goes no further.
   */
  before(name: string, arg: unknown): Envelope<unknown> | undefined {
    const id = terminalIdOf(arg);
    if (id === undefined) return undefined;
    const n = this.panes.get(id) ?? 0;
    if (name === 'detachTerminal' && n > 1) {
      this.panes.set(id, n - 1);
      return { result: null };
    }
    if (name === 'attachTerminal') this.panes.set(id, n + 1);
    return undefined;
  }

  /** After the service answered: a refused attach is undone; a detach or close ends the reading. */
  after(name: string, arg: unknown, env: Envelope<unknown>): void {
    const id = terminalIdOf(arg);
    if (id === undefined) return;
    if (name === 'attachTerminal' && 'error' in env) {
      const n = (this.panes.get(id) ?? 1) - 1;
      if (n > 0) this.panes.set(id, n);
      else this.panes.delete(id);
    }
    if (name === 'detachTerminal' || name === 'closeTerminal') this.panes.delete(id);
  }
}

function terminalIdOf(arg: unknown): string | undefined {
  const id = typeof arg === 'object' && arg !== null ? (arg as { terminalId?: unknown }).terminalId : undefined;
  return typeof id === 'string' ? id : undefined;
}
