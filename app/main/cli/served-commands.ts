// The commands the resident CLI server runs (server.ts): those whose every line goes through io.ts
// (any other would write to the server's own stdout) and that end by themselves. The others (ui,
// attach, logs, cp, oci, doctor…) run with Node in the client's place. bin/locker.js reads this
// too, to start a server only after a command that one would have served.
export const SERVED_COMMANDS: ReadonlySet<string> = new Set(['ps', 'inspect', 'run', 'exec', 'stop', 'rm', 'kill', 'start', 'restart', 'wait', 'top', 'stats', '--version', 'version']);
