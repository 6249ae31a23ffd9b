// What the learner entered in each terminal, line by line: a lesson step that says "run this
// command" is verified by the line having been entered (a click on the command or typed by hand),
// not by what the terminal printed, and not by the container merely existing.

/** Rebuilds the lines a person submits from raw terminal input (keys as a pty receives them). */
export class LineAssembler {
  private current = '';
  private escape = false;

  /** Feeds input; returns every line completed by Enter in it. */
  push(data: string): string[] {
    const done: string[] = [];
    for (const ch of data) {
      if (this.escape) {
        // an escape sequence (arrow keys, …) ends at a letter or '~': history and cursor moves are not modelled
        if (/[A-Za-z~]/.test(ch)) this.escape = false;
        continue;
      }
      if (ch === '\x1b') this.escape = true;
      else if (ch === '\r' || ch === '\n') {
        done.push(this.current);
        this.current = '';
      } else if (ch === '\x7f' || ch === '\b') this.current = this.current.slice(0, -1);
      else if (ch === '\x15' || ch === '\x03') this.current = ''; // Ctrl-U, Ctrl-C
      else if (ch >= ' ') this.current += ch;
    }
    return done;
  }
}

export interface EnteredLine {
  terminalId: string;
  kind: 'host' | 'container' | 'exec';
  containerId?: string;
  line: string;
  /** ms since the epoch */
  at: number;
}

export const MAX_REMEMBERED_LINES = 500;

/** The last lines entered in every terminal of one service. */
export class EnteredLines {
  private readonly assemblers = new Map<string, LineAssembler>();
  private readonly lines: EnteredLine[] = [];

  record(terminal: Omit<EnteredLine, 'line' | 'at'>, data: string, at = Date.now()): void {
    let a = this.assemblers.get(terminal.terminalId);
    if (!a) this.assemblers.set(terminal.terminalId, (a = new LineAssembler()));
    for (const line of a.push(data)) {
      this.lines.push({ ...terminal, line: line.trim(), at });
      if (this.lines.length > MAX_REMEMBERED_LINES) this.lines.shift();
    }
  }

  forget(terminalId: string): void {
    this.assemblers.delete(terminalId);
  }

  /** Lines entered since `since`, newest last. */
  since(since: number): EnteredLine[] {
    return this.lines.filter((l) => l.at >= since);
  }
}
