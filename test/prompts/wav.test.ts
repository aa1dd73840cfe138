// `npm run prompts` output: real espeak-ng + sox, into a temp dir, checked with our own RIFF parser (not the
// script's). Skipped, with a warning, where espeak-ng or sox is missing (.ci/run installs them).
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generatePrompts, missingTools, PromptToolsMissingError } from '../../src/cli/prompts';

interface Wav {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataBytes: number;
  seconds: number;
  peak: number;
}

/** RIFF/WAVE: "RIFF" size "WAVE", then chunks (id, little-endian size, body, pad to even). */
function parseWav(buf: Buffer): Wav {
  expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
  expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
  expect(buf.toString('ascii', 8, 12)).toBe('WAVE');
  let fmt: Omit<Wav, 'dataBytes' | 'seconds' | 'peak'> | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = {
        audioFormat: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        byteRate: buf.readUInt32LE(body + 8),
        blockAlign: buf.readUInt16LE(body + 12),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      expect(body + size).toBeLessThanOrEqual(buf.length);
      let peak = 0;
      for (let i = body; i + 1 < body + size; i += 2) peak = Math.max(peak, Math.abs(buf.readInt16LE(i)));
      return { ...fmt, dataBytes: size, seconds: size / fmt.byteRate, peak };
    }
    off = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** A 8 kHz (or other rate) mono 16-bit PCM sine, written by hand: the "recorded human file". */
function sineWav(sampleRate: number, seconds: number): Buffer {
  const n = Math.round(sampleRate * seconds);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), 44 + i * 2);
  return buf;
}

const missing = missingTools();
const withTools = missing.length ? describe.skip : describe;
if (missing.length) {
  console.warn(
    `test/prompts/wav.test.ts: skipping the WAV generation tests, missing ${missing.join(', ')} ` +
      '(apt-get install -y espeak-ng sox; .ci/run does it)',
  );
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'h114-prompts-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

withTools('npm run prompts with espeak-ng and sox', () => {
  jest.setTimeout(60000);

  it('writes 8 kHz mono 16-bit PCM WAV files of plausible length under the service names', async () => {
    const out = path.join(dir, 'zh', 'hotline114');
    const only = ['welcome', 'please-hold', 'survey', 'position-before', 'num/2', 'num/10000', 'num/2-liang'];
    const r = await generatePrompts({ outDir: out, customDir: path.join(dir, 'none'), only });
    expect(r.generated).toEqual([...only].sort());
    expect(r.custom).toEqual([]);
    expect(r.voice).toMatch(/^cmn/);

    for (const name of only) {
      const file = path.join(out, `${name}.wav`);
      const w = parseWav(readFileSync(file));
      expect({ name, ...w, seconds: undefined, peak: undefined, dataBytes: undefined }).toEqual({
        name,
        audioFormat: 1,
        channels: 1,
        sampleRate: 8000,
        byteRate: 16000,
        blockAlign: 2,
        bitsPerSample: 16,
        seconds: undefined,
        peak: undefined,
        dataBytes: undefined,
      });
      // Not silence, not clipped garbage: normalised to about -3 dBFS.
      expect(w.peak).toBeGreaterThan(8000);
      if (name.startsWith('num/')) {
        expect(w.seconds).toBeGreaterThan(0.1);
        expect(w.seconds).toBeLessThan(2);
      } else {
        expect(w.seconds).toBeGreaterThan(0.3);
        expect(w.seconds).toBeLessThan(30);
      }
    }
    // The sentence is longer than its first words; no temporary files are left behind.
    const secs = (n: string) => parseWav(readFileSync(path.join(out, `${n}.wav`))).seconds;
    expect(secs('welcome')).toBeGreaterThan(secs('position-before') + 1);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(readdirSync(path.join(out, 'num')).sort()).toEqual(['10000.wav', '2-liang.wav', '2.wav']);
  });

  it('renders the hold music into moh/ (musiconhold.conf class default): native WAV, a loop of 10-30 s with sound', async () => {
    const out = path.join(dir, 'zh', 'hotline114');
    const r = await generatePrompts({ outDir: out, customDir: path.join(dir, 'none'), only: ['goodbye'], holdMusic: true });
    expect(r.holdMusic).toEqual(['moh/hold.wav']);
    const w = parseWav(readFileSync(path.join(out, 'moh', 'hold.wav')));
    expect([w.audioFormat, w.channels, w.sampleRate, w.bitsPerSample]).toEqual([1, 1, 8000, 16]);
    expect(w.seconds).toBeGreaterThan(10);
    expect(w.seconds).toBeLessThan(30);
    expect(w.peak).toBeGreaterThan(8000); // normalised to -6 dBFS ≈ 16400
    expect(readdirSync(path.join(out, 'moh'))).toEqual(['hold.wav']);
    // `only` alone (a quick re-render of one prompt) leaves the hold music out.
    expect((await generatePrompts({ outDir: path.join(dir, 'other'), customDir: path.join(dir, 'none'), only: ['goodbye'] })).holdMusic).toEqual([]);
    expect(existsSync(path.join(dir, 'other', 'moh'))).toBe(false);
  });

  it('recorded hold music in <custom>/moh replaces ours (converted to 8 kHz mono), and our old hold.wav goes', async () => {
    const out = path.join(dir, 'out');
    const custom = path.join(dir, 'custom');
    mkdirSync(path.join(custom, 'moh'), { recursive: true });
    await generatePrompts({ outDir: out, customDir: path.join(dir, 'none'), only: ['goodbye'], holdMusic: true });
    writeFileSync(path.join(custom, 'moh', 'jingle.wav'), sineWav(16000, 2));
    const r = await generatePrompts({ outDir: out, customDir: custom, only: ['goodbye'], holdMusic: true });
    expect(r.holdMusic).toEqual(['moh/jingle.wav']);
    expect(readdirSync(path.join(out, 'moh'))).toEqual(['jingle.wav']);
    const w = parseWav(readFileSync(path.join(out, 'moh', 'jingle.wav')));
    expect([w.sampleRate, w.channels]).toEqual([8000, 1]);
    expect(w.seconds).toBeCloseTo(2, 1);
  });

  it('uses a recorded file of the same name instead: copied when native, converted to 8 kHz mono otherwise', async () => {
    const out = path.join(dir, 'out');
    const custom = path.join(dir, 'custom');
    mkdirSync(path.join(custom, 'num'), { recursive: true });
    const native = sineWav(8000, 1.5);
    writeFileSync(path.join(custom, 'goodbye.wav'), native);
    writeFileSync(path.join(custom, 'num', '5.wav'), sineWav(16000, 0.5)); // a 16 kHz studio file

    const r = await generatePrompts({ outDir: out, customDir: custom, only: ['goodbye', 'thanks', 'num/5'] });
    expect(r.custom).toEqual(['goodbye', 'num/5']);
    expect(r.generated).toEqual(['thanks']);
    expect(readFileSync(path.join(out, 'goodbye.wav')).equals(native)).toBe(true);
    const five = parseWav(readFileSync(path.join(out, 'num', '5.wav')));
    expect(five).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16 });
    expect(five.seconds).toBeCloseTo(0.5, 1);
    expect(parseWav(readFileSync(path.join(out, 'thanks.wav'))).sampleRate).toBe(8000);
  });

  it('is repeatable: a second run gives byte-identical files', async () => {
    await generatePrompts({ outDir: dir, customDir: path.join(dir, 'none'), only: ['invalid'] });
    const first = readFileSync(path.join(dir, 'invalid.wav'));
    await generatePrompts({ outDir: dir, customDir: path.join(dir, 'none'), only: ['invalid'] });
    expect(readFileSync(path.join(dir, 'invalid.wav')).equals(first)).toBe(true);
  });
});

describe('npm run prompts without the tools', () => {
  it('fails with a clear Chinese and English message naming what to install', async () => {
    const err = await generatePrompts({
      outDir: path.join(dir, 'out'),
      customDir: path.join(dir, 'none'),
      only: ['welcome'],
      espeakBin: path.join(dir, 'no-such-espeak-ng'),
      soxBin: path.join(dir, 'no-such-sox'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptToolsMissingError);
    const msg = (err as Error).message;
    expect(msg).toContain('缺少');
    expect(msg).toContain('Missing');
    expect(msg).toContain('espeak-ng');
    expect(msg).toContain('sox');
    expect(msg).toContain('apt-get install -y espeak-ng sox');
    expect(existsSync(path.join(dir, 'out', 'welcome.wav'))).toBe(false);
  });

  it('needs neither when every prompt asked for is a native recorded file', async () => {
    const custom = path.join(dir, 'custom');
    mkdirSync(custom);
    writeFileSync(path.join(custom, 'goodbye.wav'), sineWav(8000, 1));
    const r = await generatePrompts({
      outDir: path.join(dir, 'out'),
      customDir: custom,
      only: ['goodbye'],
      espeakBin: path.join(dir, 'no-such-espeak-ng'),
      soxBin: path.join(dir, 'no-such-sox'),
    });
    expect(r).toMatchObject({ voice: null, custom: ['goodbye'], generated: [] });
    expect(parseWav(readFileSync(path.join(dir, 'out', 'goodbye.wav'))).seconds).toBeCloseTo(1, 3);
  });
});
