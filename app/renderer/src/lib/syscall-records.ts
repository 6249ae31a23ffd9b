// A container's syscall log as React state: the backlog on open, then the live `syscalls` batches
// (deduplicated by seq, the last `max` kept). The syscall log pane and the kernel picture both read it.
import { useEffect, useState } from 'react';
import type { LockerApi, SyscallRecord } from '../../../shared/api';

export function useSyscallRecords(api: LockerApi, containerId: string | null, max: number): { rows: SyscallRecord[]; error: string } {
  const [rows, setRows] = useState<SyscallRecord[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    setRows([]);
    setError('');
    if (!containerId) return;
    let last = 0;
    let live = true;
    const early: SyscallRecord[] = [];
    let loaded = false;
    const add = (entries: SyscallRecord[]) => {
      const fresh = entries.filter((e) => e.seq > last);
      if (fresh.length === 0) return;
      last = fresh[fresh.length - 1].seq;
      setRows((cur) => {
        const next = cur.concat(fresh);
        return next.length > max ? next.slice(next.length - max) : next;
      });
    };
    const off = api.on('syscalls', (b) => {
      if (b.containerId !== containerId) return;
      if (loaded) add(b.entries);
      else early.push(...b.entries);
    });
    api.syscallLog({ id: containerId }).then(
      (backlog) => {
        if (!live) return;
        loaded = true;
        add(backlog.slice(-max));
        add(early.splice(0));
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
      off();
    };
  }, [api, containerId, max]);
  return { rows, error };
}
