// The kernel picture: the host drawn with the container as a box of namespaces around its
// processes (host PID ↔ container PID), its id map, its veth to the bridge, its overlay layers
// and changes, its cgroup and bind mounts. Built by app/shared/picture-model.ts from the same
// inspection as the trees plus the syscall log, so during step-through each call changes it as it
// happens. Plain SVG with inline colours: Export writes it as it is (SVG) or drawn on a canvas (PNG).
import { useEffect, useMemo, useRef, useState } from 'react';
import { INSPECTION_REFRESH_MS, SYSCALL_BACKLOG, type LockerApi, type RootfsLayers } from '../../../shared/api';
import { buildPicture, type Box, type BoxKind, type Picture } from '../../../shared/picture-model';
import type { Inspection } from '../../../shared/types';
import type { Theme } from '../lib/settings';
import { useSyscallRecords } from '../lib/syscall-records';

interface Props {
  api: LockerApi;
  containerId: string;
  inspection: Inspection | null;
  /** The container's name, on its box until it has a hostname of its own. */
  name: string;
  theme: Theme;
  hostUid?: number;
  hostHostname?: string;
}

const WIDTH = 1200;
const PAD = 8;
const TITLE_PX = 17;
const LINE_PX = 14;
const CHAR_PX = 6.7;
const GAP = 8;

const PALETTE: Record<Theme, { bg: string; fg: string; muted: string; fresh: string; kinds: Record<BoxKind, string> }> = {
  dark: {
    bg: '#11151b', fg: '#e8eaed', muted: '#9aa4b2', fresh: '#ffb020',
    kinds: { host: '#5b6472', container: '#4f8cff', namespace: '#8a6cff', process: '#39c07a', idmap: '#e0a040', interface: '#3cb5c9', bridge: '#3cb5c9', layer: '#c77dba', change: '#ff7a8a', cgroup: '#e06c3c', bind: '#b0b84a', rule: '#7f8ea3' },
  },
  light: {
    bg: '#ffffff', fg: '#1b1f24', muted: '#57606a', fresh: '#c75f00',
    kinds: { host: '#6e7781', container: '#0b5cd5', namespace: '#6639ba', process: '#1a7f37', idmap: '#9a6700', interface: '#0a7b8c', bridge: '#0a7b8c', layer: '#8e3c80', change: '#cf222e', cgroup: '#bc4c00', bind: '#6a7300', rule: '#57606a' },
  },
};

interface Placed {
  box: Box;
  x: number;
  y: number;
  w: number;
  h: number;
  children: Placed[];
}

/** Cuts a line to the box's width, keeping both ends (paths differ at the end). */
function fit(text: string, width: number): string {
  const max = Math.max(6, Math.floor((width - 2 * PAD) / CHAR_PX));
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}

const headerHeight = (b: Box): number => PAD + TITLE_PX + b.lines.length * LINE_PX + (b.lines.length ? 2 : 0);

/** How a box's children are arranged: the host keeps the container left and its own objects right; the container packs its namespaces in columns. */
function layout(box: Box, kids: Map<string, Box[]>, x: number, y: number, w: number): Placed {
  const children = kids.get(box.id) ?? [];
  const top = y + headerHeight(box);
  const placed: Placed[] = [];
  let bottom = top;
  if (box.kind === 'host') {
    const leftW = Math.round((w - 3 * GAP) * 0.7);
    let ly = top;
    let ry = top;
    for (const c of children) {
      const left = c.kind === 'container';
      const p = layout(c, kids, left ? x + GAP : x + 2 * GAP + leftW, left ? ly : ry, left ? leftW : w - 3 * GAP - leftW);
      placed.push(p);
      if (left) ly = p.y + p.h + GAP;
      else ry = p.y + p.h + GAP;
    }
    bottom = Math.max(ly, ry);
  } else if (box.kind === 'container') {
    // the mount namespace holds long paths: it takes the full width, below the others
    const wide = children.filter((c) => c.id === 'ns:mnt' || c.kind === 'layer' || c.kind === 'bind');
    const narrow = children.filter((c) => !wide.includes(c));
    const cols = 3;
    const colW = (w - (cols + 1) * GAP) / cols;
    const heights = Array.from({ length: cols }, () => top);
    for (const c of narrow) {
      const col = heights.indexOf(Math.min(...heights));
      const p = layout(c, kids, x + GAP + col * (colW + GAP), heights[col], colW);
      placed.push(p);
      heights[col] = p.y + p.h + GAP;
    }
    bottom = Math.max(...heights);
    for (const c of wide) {
      const p = layout(c, kids, x + GAP, bottom, w - 2 * GAP);
      placed.push(p);
      bottom = p.y + p.h + GAP;
    }
  } else {
    for (const c of children) {
      const p = layout(c, kids, x + GAP, bottom, w - 2 * GAP);
      placed.push(p);
      bottom = p.y + p.h + GAP;
    }
  }
  return { box, x, y, w, h: Math.max(bottom, top) - y + (children.length ? 0 : PAD - 2), children: placed };
}

function flatten(p: Placed, out: Placed[] = []): Placed[] {
  out.push(p);
  for (const c of p.children) flatten(c, out);
  return out;
}

function BoxView({ p, colors }: { p: Placed; colors: (typeof PALETTE)[Theme] }) {
  const { box } = p;
  const stroke = box.fresh ? colors.fresh : colors.kinds[box.kind];
  return (
    <g data-testid="kp-box" data-id={box.id} data-kind={box.kind} data-fresh={box.fresh ? 'true' : undefined}>
      <title>{[box.title, ...box.lines].join('\n')}</title>
      <rect x={p.x} y={p.y} width={p.w} height={p.h} rx={box.kind === 'process' ? 4 : 8} fill={colors.kinds[box.kind]} fillOpacity={box.kind === 'host' ? 0.04 : 0.1} stroke={stroke} strokeWidth={box.fresh ? 3 : 1.3}>
        {box.fresh && <animate attributeName="stroke-opacity" values="1;0.3;1" dur="1.2s" repeatCount="3" />}
      </rect>
      <text x={p.x + PAD} y={p.y + PAD + 11} fill={colors.fg} fontSize={12.5} fontWeight={600} data-part="title">{fit(box.title, p.w)}</text>
      {box.lines.map((l, i) => (
        <text key={i} x={p.x + PAD} y={p.y + PAD + TITLE_PX + 9 + i * LINE_PX} fill={colors.muted} fontSize={11} data-part="line">{fit(l, p.w)}</text>
      ))}
      {p.children.map((c) => <BoxView key={c.box.id} p={c} colors={colors} />)}
    </g>
  );
}

function drawing(picture: Picture): { root: Placed; height: number; all: Placed[] } {
  const kids = new Map<string, Box[]>();
  for (const b of picture.boxes) if (b.parent) kids.set(b.parent, [...(kids.get(b.parent) ?? []), b]);
  const host = picture.boxes.find((b) => b.id === 'host')!;
  const root = layout(host, kids, 1, 1, WIDTH - 2);
  return { root, height: root.h + 2 + (picture.caption ? 26 : 0), all: flatten(root) };
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function KernelPicture({ api, containerId, inspection, name, theme, hostUid, hostHostname }: Props) {
  const { rows } = useSyscallRecords(api, containerId, SYSCALL_BACKLOG);
  const [layers, setLayers] = useState<RootfsLayers | null>(null);
  const [exportError, setExportError] = useState('');
  const svg = useRef<SVGSVGElement>(null);

  useEffect(() => setLayers(null), [containerId]);
  // The layers and the upper dir's entries: read when the inspection changes (or a call mounted
  // something), and every INSPECTION_REFRESH_MS besides: a write inside changes the upper dir without
  // changing the inspection (which is pushed only when it changes). Never two reads at once; a
  // container that is gone stops the reads (its next inspection starts them again).
  const mounts = rows.filter((r) => r.name === 'mount' || r.name === 'pivot_root').length;
  useEffect(() => {
    let live = true;
    let busy = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const read = (): void => {
      if (busy) return;
      busy = true;
      api.rootfsLayers({ id: containerId }).then(
        (l) => live && setLayers(l),
        () => clearInterval(timer),
      ).finally(() => {
        busy = false;
      });
    };
    read();
    timer = setInterval(read, INSPECTION_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api, containerId, inspection, mounts]);

  const picture = useMemo(() => buildPicture({ inspection, records: rows, layers, name, hostUid, hostHostname }), [inspection, rows, layers, name, hostUid, hostHostname]);
  const colors = PALETTE[theme];
  const { root, height, all } = useMemo(() => drawing(picture), [picture]);
  const at = new Map(all.map((p) => [p.box.id, p]));

  const exportSvg = (): string => {
    const node = svg.current!.cloneNode(true) as SVGSVGElement;
    node.querySelectorAll('animate').forEach((n) => n.remove());
    return new XMLSerializer().serializeToString(node);
  };
  const base = `locker-kernel-${containerId.slice(0, 12)}`;
  const savePng = () => {
    // a data: URL, not a blob: one: the page's CSP allows images from 'self' and data: only
    const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(exportSvg())}`;
    const img = new Image();
    img.onload = () => {
      const scale = 2;
      const canvas = document.createElement('canvas');
      canvas.width = WIDTH * scale;
      canvas.height = height * scale;
      const ctx = canvas.getContext('2d')!;
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, WIDTH, height);
      canvas.toBlob((b) => (b ? download(`${base}.png`, b) : setExportError('the browser could not encode the PNG')), 'image/png');
    };
    img.onerror = () => {
      setExportError('the browser could not draw the SVG for the PNG');
    };
    img.src = url;
  };

  return (
    <div className="kernel-picture" data-testid="kernel-picture" data-stage={picture.stage} style={{ marginTop: '0.8em' }}>
      <h3 style={{ display: 'flex', gap: '0.6em', alignItems: 'center', margin: '0 0 0.3em' }}>
        What the kernel holds
        <button type="button" onClick={() => download(`${base}.svg`, new Blob([exportSvg()], { type: 'image/svg+xml' }))} data-testid="kp-export-svg">Export SVG</button>
        <button type="button" onClick={savePng} data-testid="kp-export-png">Export PNG</button>
        {exportError && <span className="error">{exportError}</span>}
      </h3>
      <svg
        ref={svg} xmlns="http://www.w3.org/2000/svg" viewBox={`0 0 ${WIDTH} ${height}`} width="100%" style={{ maxWidth: WIDTH, display: 'block' }}
        fontFamily="ui-monospace, 'DejaVu Sans Mono', monospace" role="img" aria-label="the container's kernel objects" data-testid="kp-svg"
      >
        <rect x={0} y={0} width={WIDTH} height={height} fill={colors.bg} />
        <BoxView p={root} colors={colors} />
        {picture.edges.map((e) => {
          const a = at.get(e.from);
          const b = at.get(e.to);
          if (!a || !b) return null;
          const [x1, y1] = [a.x + (b.x > a.x + a.w ? a.w : b.x + b.w < a.x ? 0 : a.w / 2), a.y + a.h / 2];
          const [x2, y2] = [b.x + (a.x > b.x + b.w ? b.w : a.x + a.w < b.x ? 0 : b.w / 2), b.y + Math.min(b.h / 2, 20)];
          return (
            <g key={`${e.from}>${e.to}`} data-testid="kp-edge" data-from={e.from} data-to={e.to}>
              <line x1={x1} y1={y1} x2={x2} y2={y2} stroke={colors.fresh} strokeDasharray="5 3" strokeWidth={1.4} />
              <text x={(x1 + x2) / 2 + 4} y={(y1 + y2) / 2 - 4} fill={colors.fg} fontSize={10.5}>{e.label}</text>
            </g>
          );
        })}
        {picture.caption && (
          <text x={PAD} y={height - 9} fill={colors.fg} fontSize={12} data-testid="kp-caption-svg">{fit(`last call: ${picture.caption}`, WIDTH)}</text>
        )}
      </svg>
    </div>
  );
}
