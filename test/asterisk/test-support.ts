// Helpers for the simulator's own tests: typed handles on the untyped npm clients and the recorded traces.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface AriClient {
  on(event: string, cb: (event: any, instance: any) => void): void;
  start(app: string | string[]): Promise<void>;
  stop(): void;
  channels: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  bridges: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  playbacks: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  applications: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  endpoints: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  recordings: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  asterisk: Record<string, (opts?: Record<string, unknown>) => Promise<any>>;
  Playback(id?: string): any;
  Channel(id?: string): any;
}

export function ariConnect(url: string, user = 'hotline114', pass = 'hotline114'): Promise<AriClient> {
  const ari = require('ari-client') as { connect(u: string, user: string, pass: string): Promise<AriClient> };
  return ari.connect(url, user, pass);
}

export interface AmiManager {
  on(event: string, cb: (ev: Record<string, any>) => void): void;
  once(event: string, cb: (ev: Record<string, any>) => void): void;
  action(a: Record<string, unknown>, cb?: (err: any, res: any) => void): string;
  disconnect(): void;
  isConnected(): boolean;
}

export function amiConnect(port: number, user = 'hotline114', secret = 'hotline114'): AmiManager {
  const Manager = require('asterisk-manager') as (port: number, host: string, user: string, secret: string, events: boolean) => AmiManager;
  return Manager(port, '127.0.0.1', user, secret, true);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export const TRACE_DIR = path.resolve(__dirname, '../../../shared/asterisk-traces');
export const tracesPresent = existsSync(path.join(TRACE_DIR, 'scenario-a-ari.jsonl'));

export type Json = Record<string, unknown>;

export function readAriTrace(name: string): Json[] {
  return readFileSync(path.join(TRACE_DIR, name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Json);
}

/** The RTCP quality variables depend on real RTP; the simulator does not produce them. */
export function withoutRtpNoise(events: Json[]): Json[] {
  return events.filter((e) => !(e.type === 'ChannelVarset' && String(e.variable).startsWith('RTPAUDIOQOS')));
}

export function label(e: Json): string {
  return e.type === 'ChannelVarset' ? `ChannelVarset:${String(e.variable)}` : String(e.type);
}

/** Sorted key sets of an event and of its nested objects (channel, peer, bridge, playback, dialplan…). */
export function shape(e: Json): string {
  const parts: string[] = [Object.keys(e).sort().join(',')];
  for (const k of Object.keys(e).sort()) {
    const v = e[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Json;
      parts.push(`${k}{${Object.keys(o).sort().join(',')}}`);
      for (const k2 of Object.keys(o).sort()) {
        const v2 = o[k2];
        if (v2 && typeof v2 === 'object' && !Array.isArray(v2)) parts.push(`${k}.${k2}{${Object.keys(v2 as Json).sort().join(',')}}`);
      }
    }
  }
  return parts.join(' ');
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Blocks of an AMI capture, as header maps (first occurrence of each header). */
export function readAmiTrace(name: string): Record<string, string>[] {
  return readFileSync(path.join(TRACE_DIR, name), 'utf8')
    .split('\r\n\r\n')
    .map((block) => {
      const out: Record<string, string> = {};
      for (const line of block.split('\r\n')) {
        const i = line.indexOf(': ');
        if (i > 0 && !(line.slice(0, i) in out)) out[line.slice(0, i)] = line.slice(i + 2);
      }
      return out;
    })
    .filter((h) => Object.keys(h).length > 0);
}
