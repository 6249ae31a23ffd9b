// Watched inspections: one refresher per watched container, shared by every connection (window,
// web tab) that watches it. Each refresh inspects the container (the host process table is built
// in the worker thread), diffs it against the last one on this thread and hands out only the
// changes. A refresh starts INSPECTION_REFRESH_MS after the previous one began, or as soon as a slow
// one ends: never two at once, never a queue. The refresher stops with its last watcher, or when
// the container is gone (after one `ended` message).
import { performance } from 'node:perf_hooks';
import { INSPECTION_REFRESH_MS } from '../../shared/api';
import { diffInspection, isEmptyDiff, type InspectionEvent } from '../../shared/inspection-diff';
import type { Inspection } from '../../shared/types';

export interface WatchSource {
  inspect(id: string): Promise<Inspection>;
  /** Why the container can no longer be inspected (it exited, was removed…); undefined while it runs. */
  gone(id: string): string | undefined;
  /** One message for the connections that watch `ev.id` (the transports ask `watching`). */
  emit(ev: InspectionEvent): void;
}

interface Refresher {
  id: string;
  /** The connections watching it. */
  readers: Set<string>;
  /** The seq of `last`: 0 for the first inspection, one more for each diff sent. */
  seq: number;
  last?: Inspection;
  /** Settles once the first inspection is in (rejects when it failed: the watch is refused). */
  first: Promise<void>;
  timer?: NodeJS.Timeout;
  busy: boolean;
  /** refreshNow came during a refresh: one more right after it. */
  again: boolean;
  stopped: boolean;
  /** The last failure sent, so a failure that persists is sent once. */
  lastError?: string;
}

/** What a refresh cost on this thread after the inspection came in (the bench reads it). */
export interface WatchStats {
  refreshes: number;
  diffMs: number;
}

export class InspectionWatches {
  private readonly byId = new Map<string, Refresher>();
  readonly stats: WatchStats = { refreshes: 0, diffMs: 0 };

  constructor(private readonly source: WatchSource, private readonly intervalMs = INSPECTION_REFRESH_MS) {}

  /** Containers with a refresher (tests check that none is left). */
  get active(): string[] {
    return [...this.byId.keys()];
  }

  watching(reader: string, id: string): boolean {
    return this.byId.get(id)?.readers.has(reader) ?? false;
  }

  /** Adds `reader` (once) and answers with the whole inspection as of now. */
  async watch(id: string, reader: string): Promise<InspectionEvent> {
    const r = this.byId.get(id) ?? this.start(id);
    r.readers.add(reader);
    await r.first.catch((e: unknown) => {
      r.readers.delete(reader);
      throw e;
    });
    // it ended (or was unwatched by everyone) while the first inspection was read
    if (r.stopped || !r.last) throw new Error(this.source.gone(id) ?? `the watch of "${id}" was ended before its first inspection`);
    return { id, seq: r.seq, full: r.last };
  }

  unwatch(id: string, reader: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    r.readers.delete(reader);
    if (r.readers.size === 0) this.stop(r);
  }

  /** A connection closed: its watches end. */
  readerGone(reader: string): void {
    for (const r of [...this.byId.values()]) {
      r.readers.delete(reader);
      if (r.readers.size === 0) this.stop(r);
    }
  }

  /** Refreshes now (a step-through call was released), or right after the refresh under way. */
  refreshNow(id: string): void {
    const r = this.byId.get(id);
    if (!r || !r.last) return;
    if (r.busy) {
      r.again = true;
      return;
    }
    clearTimeout(r.timer);
    void this.refresh(r).catch(() => {});
  }

  /** The runtime's containers changed: a watched one that is gone gets its `ended` now. */
  containersChanged(): void {
    for (const r of [...this.byId.values()]) {
      const why = r.last ? this.source.gone(r.id) : undefined;
      if (why) this.end(r, why);
    }
  }

  dispose(): void {
    for (const r of [...this.byId.values()]) this.stop(r);
  }

  private start(id: string): Refresher {
    const r: Refresher = { id, readers: new Set(), seq: 0, first: Promise.resolve(), busy: false, again: false, stopped: false };
    this.byId.set(id, r);
    r.first = this.refresh(r);
    r.first.catch(() => {}); // its watchers see the failure; nothing else waits on it
    return r;
  }

  private async refresh(r: Refresher): Promise<void> {
    r.busy = true;
    r.timer = undefined;
    const began = performance.now();
    try {
      const next = await this.source.inspect(r.id);
      if (r.stopped) return;
      const t0 = performance.now();
      if (r.last) {
        const changes = diffInspection(r.last, next);
        r.last = next;
        // after a failure an empty diff too: it says the inspection is current again
        if (!isEmptyDiff(changes) || r.lastError !== undefined) this.source.emit({ id: r.id, seq: ++r.seq, changes });
      } else r.last = next;
      r.lastError = undefined;
      this.stats.refreshes++;
      this.stats.diffMs += performance.now() - t0;
    } catch (e) {
      if (r.stopped) return;
      const why = this.source.gone(r.id);
      if (!r.last) {
        // nobody has a copy yet: refuse the watch with the inspection's own words
        this.stop(r);
        throw e;
      }
      if (why) return this.end(r, why);
      const message = e instanceof Error ? e.message : String(e);
      if (message !== r.lastError) this.source.emit({ id: r.id, seq: r.seq, error: (r.lastError = message) });
    } finally {
      r.busy = false;
      if (!r.stopped) {
        const wait = r.again ? 0 : Math.max(0, this.intervalMs - (performance.now() - began));
        r.again = false;
        r.timer = setTimeout(() => void this.refresh(r).catch(() => {}), wait);
        // a CLI or a test that forgot to unwatch must still be able to exit
        r.timer.unref();
      }
    }
  }

  private end(r: Refresher, why: string): void {
    if (r.stopped) return;
    // sent before the watchers are dropped: the transports ask `watching` as it goes out
    this.source.emit({ id: r.id, seq: r.seq + 1, ended: why });
    this.stop(r);
  }

  private stop(r: Refresher): void {
    r.stopped = true;
    clearTimeout(r.timer);
    r.timer = undefined;
    if (this.byId.get(r.id) === r) this.byId.delete(r.id);
  }
}
