// asterisk-config/ as the service relies on it: least privilege for the AMI user (issue 11), the event names it
// is sent, and music on hold where `npm run prompts` renders it. The files are parsed the way Asterisk reads them
// (sections, `key = value`, `;` comments); loading them into a real Asterisk 22 is bench/README.md's lab.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AMI_EVENT_CLASSES } from '../../src/telephony/ami/client';
import { HOLD_MUSIC_DIR } from '../../src/cli/prompts';

const DIR = path.resolve(__dirname, '..', '..', 'asterisk-config');

/** section → [key, value][] (repeated keys kept in order). */
function parseConf(file: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  let section = '';
  for (const raw of readFileSync(path.join(DIR, file), 'utf8').split('\n')) {
    const line = raw.replace(/(^|[^\\]);.*$/, '$1').trim();
    if (!line) continue;
    const head = /^\[([^\]]+)\]/.exec(line);
    if (head) {
      section = head[1]!;
      if (!out.has(section)) out.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).replace(/=?>?$/, '').trim();
    out.get(section)?.push([key, line.slice(eq + 1).replace(/^>/, '').trim()]);
  }
  return out;
}

const values = (entries: [string, string][] | undefined, key: string) => (entries ?? []).filter(([k]) => k === key).map(([, v]) => v);
const classes = (v: string | undefined) => new Set((v ?? '').split(',').map((c) => c.trim()).filter(Boolean));

describe('manager.conf: the service AMI user has least privilege', () => {
  const user = parseConf('manager.conf').get('hotline114');

  test('reads only system + call events and asks Asterisk for exactly those after login', () => {
    const read = values(user, 'read');
    expect(read).toHaveLength(1);
    expect(classes(read[0])).toEqual(new Set(['system', 'call']));
    expect(classes(AMI_EVENT_CLASSES)).toEqual(classes(read[0]));
  });

  test('may send only read-only reporting actions and Originate (supervision): no system, command, config, all', () => {
    const write = values(user, 'write');
    expect(write).toHaveLength(1);
    expect(classes(write[0])).toEqual(new Set(['reporting', 'originate']));
    for (const forbidden of ['all', 'system', 'command', 'config', 'call', 'agent', 'user']) expect(classes(write[0]).has(forbidden)).toBe(false);
  });

  test('is sent only the event names the service handles', () => {
    const filters = (user ?? []).filter(([k]) => k.startsWith('eventfilter'));
    const names = filters.map(([k]) => {
      const m = /^eventfilter\(action\(include\),name\(([A-Za-z]+)\)\)$/.exec(k);
      if (!m) throw new Error(`unexpected filter ${k}`);
      return m[1];
    });
    // agents/presence.ts (DeviceStateChange), supervision/registration.ts (PeerStatus, ContactStatus).
    expect(names.sort()).toEqual(['ContactStatus', 'DeviceStateChange', 'PeerStatus']);
  });

  test('logs in only from loopback and private networks', () => {
    expect(values(user, 'deny')).toEqual(['0.0.0.0/0.0.0.0']);
    for (const p of values(user, 'permit')) expect(p).toMatch(/^(127\.|172\.16\.|192\.168\.)/);
  });
});

describe('ari.conf', () => {
  test('one user, the service: no other (administrator) account shares it', () => {
    const conf = parseConf('ari.conf');
    const users = [...conf.entries()].filter(([, e]) => values(e, 'type')[0] === 'user').map(([name]) => name);
    expect(users).toEqual(['hotline114']);
    expect(values(conf.get('hotline114'), 'password')).toEqual(['__ARI_PASSWORD__']);
  });
});

describe('musiconhold.conf', () => {
  test('class default plays the files `npm run prompts` renders (sounds/zh/hotline114/moh)', () => {
    const moh = parseConf('musiconhold.conf').get('default');
    expect(values(moh, 'mode')).toEqual(['files']);
    expect(values(moh, 'directory')).toEqual([`sounds/zh/hotline114/${HOLD_MUSIC_DIR}`]);
  });
});
