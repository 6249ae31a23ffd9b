// The client side of a watch (watchInspection): keeps a copy of the container's inspection from the
// whole one and the diffs that follow, asks for the whole one again after a seq gap, and ends the
// watch when the caller stops. Used by the window (SideBySide) over either transport.
import { INSPECTION_REFRESH_MS, type LockerApi } from './api';
import { InspectionMirror } from './inspection-diff';
import type { Inspection } from './types';

export interface InspectionFollower {
  /** The inspection as the service has it now (a new object whenever something changed). */
  inspection(i: Inspection): void;
  /** A refresh (or the watch itself) failed; the last inspection still stands. */
  error(message: string): void;
  /** The container is gone: no more inspections come. */
  ended(why: string): void;
}

/**
 * Follows container `id` until the returned function is called. One follower per container and
 * page: the service keeps one watch per connection, and stopping ends it.
 */
export function followInspection(api: Pick<LockerApi, 'watchInspection' | 'unwatchInspection' | 'on'>, id: string, to: InspectionFollower, retryMs = INSPECTION_REFRESH_MS): () => void {
  const mirror = new InspectionMirror();
  let live = true;
  let asking = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const ask = (): void => {
    if (!live || asking) return;
    asking = true;
    api.watchInspection({ id }).then(
      (ev) => {
        asking = false;
        if (live && mirror.accept(ev) === 'changed') to.inspection(mirror.inspection!);
      },
      (e: Error) => {
        asking = false;
        if (!live) return;
        to.error(e.message);
        // the container may not be inspectable yet (or for a moment): try again, as a poll would
        retry = setTimeout(ask, retryMs);
      },
    );
  };
  const off = api.on('inspection', (ev) => {
    if (!live || ev.id !== id) return;
    switch (mirror.accept(ev)) {
      case 'changed':
        return to.inspection(mirror.inspection!);
      case 'resync':
        return ask();
      case 'error':
        return to.error('error' in ev ? ev.error : '');
      case 'ended':
        live = false;
        off();
        return to.ended('ended' in ev ? ev.ended : '');
      case 'same':
        return;
    }
  });
  ask();
  return () => {
    const watching = live;
    live = false;
    clearTimeout(retry);
    off();
    if (watching) void api.unwatchInspection({ id }).catch(() => {});
  };
}
