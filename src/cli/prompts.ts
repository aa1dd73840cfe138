// npm run prompts [-- --out DIR --custom DIR --only welcome,num/5 --voice V --speed WPM]
//
// Generates the hotline's Chinese voice prompts from the text table sounds/prompts.json with espeak-ng (Mandarin)
// and sox, in Asterisk's native format: 8 kHz, mono, 16-bit signed PCM WAV. A prompt that exists as a recorded
// file in the custom directory (sounds/custom/<name>.wav) is copied instead (converted first when it is not
// 8 kHz mono 16-bit PCM). Files are written under a temporary name and renamed, so a running Asterisk never
// reads half a file.
//
// Environment (flags win): PROMPTS_OUT_DIR (default sounds/build/zh/hotline114), PROMPTS_CUSTOM_DIR (default
// sounds/custom), PROMPTS_TABLE (default sounds/prompts.json), PROMPTS_VOICE (default: cmn, or cmn-latn-pinyin
// where this espeak-ng's cmn voice reads Chinese characters through English rules, as Debian 12's 1.51 does),
// PROMPTS_SPEED (words per minute, default 160), PROMPTS_ESPEAK_NG / PROMPTS_SOX (program paths).
//
// Node built-ins only: the docker image's "prompts" stage runs the compiled file without node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..'); // src/cli or dist/cli → the project
export const DEFAULT_TABLE = path.join(ROOT, 'sounds', 'prompts.json');
export const DEFAULT_OUT_DIR = path.join(ROOT, 'sounds', 'build', 'zh', 'hotline114');
export const DEFAULT_CUSTOM_DIR = path.join(ROOT, 'sounds', 'custom');
export const DEFAULT_SPEED = 160;
const INSTALL_HINT = 'sudo apt-get update && sudo apt-get install -y espeak-ng sox';
const NAME_RE = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*$/;

export interface PromptEntry {
  /** Sound name below the output directory, e.g. "welcome", "num/5". */
  name: string;
  /** What the caller hears (as written in the table). */
  text: string;
  /** What is fed to espeak-ng: `text` after the table's `spoken` replacements. */
  spoken: string;
  /** A number piece for sayNumber(): silence trimmed on both ends so the pieces join tightly. */
  number: boolean;
}

export interface GenerateOptions {
  outDir?: string;
  customDir?: string;
  tableFile?: string;
  /** Only these names (default: the whole table). */
  only?: readonly string[];
  /** espeak-ng voice; default: detected (cmn, or cmn-latn-pinyin where cmn is broken). */
  voice?: string;
  speed?: number;
  espeakBin?: string;
  soxBin?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Also the hold music into <outDir>/moh/ (default: yes, unless `only` picks some prompts). */
  holdMusic?: boolean;
}

export interface GenerateResult {
  outDir: string;
  /** The espeak-ng voice used; null when nothing was synthesised. */
  voice: string | null;
  /** Names synthesised with espeak-ng. */
  generated: string[];
  /** Names taken from the custom directory (copied, or converted when not in the native format). */
  custom: string[];
  /** Hold music files written, e.g. ["moh/hold.wav"] (generated) or the recorded ones from <custom>/moh/. */
  holdMusic: string[];
}

/**
 * Music on hold (musiconhold.conf class "default" plays every file in astdatadir/sounds/zh/hotline114/moh): a
 * 13 s plucked pentatonic melody over a quiet C-major pad, synthesised by sox, so it is ours and free of any
 * rights. Recorded files in <custom>/moh/*.wav replace it (licensed music, a station jingle, …).
 */
export const HOLD_MUSIC_DIR = 'moh';
const HOLD_MELODY = 'E4 G4 A4 C5 D5 C5 A4 G4 E4 G4 A4 G4 E4 D4 C4 D4 E4 G4 A4 C5 D5 E5 D5 C5 A4 C5 A4 G4 E4 D4 C4 C4'.split(' ');
const HOLD_NOTE_SEC = 0.42;

async function synthesizeHoldMusic(dest: string, soxBin: string, work: string): Promise<void> {
  const melody = path.join(work, 'moh-melody.wav');
  const pad = path.join(work, 'moh-pad.wav');
  // One sox run: each ":"-separated effects chain appends one note.
  const notes = HOLD_MELODY.flatMap((n, i) => [...(i ? [':'] : []), 'synth', String(HOLD_NOTE_SEC), 'pluck', n, 'fade', '0', String(HOLD_NOTE_SEC), '0.25']);
  await run(soxBin, ['-R', '-n', ...SOX_OUT, melody, ...notes]);
  const seconds = (HOLD_MELODY.length * HOLD_NOTE_SEC).toFixed(2);
  const chord = path.join(work, 'moh-chord.wav');
  // A chord is one tone per channel; then down-mixed to mono.
  await run(soxBin, ['-R', '-n', '-t', 'wav', '-r', '8000', '-c', '3', '-b', '16', '-e', 'signed-integer', chord, 'synth', seconds, 'sine', 'C3', 'sine', 'E3', 'sine', 'G3']);
  await run(soxBin, ['-R', chord, ...SOX_OUT, pad, 'remix', '-']);
  await run(soxBin, ['-R', '-m', melody, '-v', '0.15', pad, ...SOX_OUT, dest, 'reverb', '30', 'norm', '-6']);
}

export class PromptToolsMissingError extends Error {
  constructor(readonly missing: string[]) {
    const list = missing.join('、');
    super(
      `缺少语音提示生成工具：${list}。请先安装：${INSTALL_HINT}\n` +
        `Missing the voice prompt tools: ${missing.join(', ')}. Install them first: ${INSTALL_HINT}`,
    );
    this.name = 'PromptToolsMissingError';
  }
}

/** Reads and checks the text table. */
export function loadPromptTable(file: string = DEFAULT_TABLE): PromptEntry[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as {
    spoken?: Record<string, string>;
    prompts?: Record<string, { text?: unknown; number?: unknown }>;
  };
  if (!raw.prompts || typeof raw.prompts !== 'object') throw new Error(`${file}: "prompts" object missing`);
  const spoken = Object.entries(raw.spoken ?? {});
  return Object.entries(raw.prompts).map(([name, p]) => {
    if (!NAME_RE.test(name)) throw new Error(`${file}: bad prompt name "${name}" (a-z, 0-9, "-", "/" only)`);
    if (typeof p.text !== 'string' || !p.text.trim()) throw new Error(`${file}: prompt "${name}" has no text`);
    let said = p.text;
    for (const [from, to] of spoken) said = said.split(from).join(to);
    return { name, text: p.text, spoken: said, number: p.number === true };
  });
}

/** Those of the programs that cannot be started (default: espeak-ng and sox), as "label" or "label (path)". */
export function missingTools(
  tools: ReadonlyArray<{ label: string; bin: string }> = [
    { label: 'espeak-ng', bin: 'espeak-ng' },
    { label: 'sox', bin: 'sox' },
  ],
): string[] {
  return tools
    .filter(({ bin }) => spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 10000 }).error)
    .map(({ label, bin }) => (label === bin ? label : `${label} (${bin})`));
}

export interface WavFormat {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataBytes: number;
}

/** The fmt and data chunks of a RIFF/WAVE file; null when it is not one. */
export function wavFormat(buf: Buffer): WavFormat | null {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return null;
  let fmt: Omit<WavFormat, 'dataBytes'> | null = null;
  for (let off = 12; off + 8 <= buf.length; ) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ' && off + 24 <= buf.length) {
      fmt = {
        audioFormat: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        sampleRate: buf.readUInt32LE(off + 12),
        bitsPerSample: buf.readUInt16LE(off + 22),
      };
    } else if (id === 'data') {
      return fmt ? { ...fmt, dataBytes: Math.min(size, buf.length - off - 8) } : null;
    }
    off += 8 + size + (size % 2);
  }
  return null;
}

/** 8 kHz mono 16-bit PCM: what Asterisk's format_wav plays without conversion. */
export function isNativeWav(f: WavFormat | null): boolean {
  return !!f && f.audioFormat === 1 && f.channels === 1 && f.sampleRate === 8000 && f.bitsPerSample === 16;
}

function run(bin: string, args: string[], input?: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout });
      else reject(new Error(`${bin} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // a program that exits early: its exit code tells
      child.stdin.end(input);
    }
  });
}

/**
 * espeak-ng 1.51 (Debian 12) turns Chinese characters into pinyin and then reads that pinyin with English rules
 * in its `cmn` voice ("(en)" switches in the phoneme output; espeak-ng issues #1236, #1370); its
 * `cmn-latn-pinyin` voice reads them correctly. Newer espeak-ng reads them correctly with `cmn` too.
 */
export async function pickVoice(espeakBin = 'espeak-ng'): Promise<string> {
  const phonemes = (voice: string) => run(espeakBin, ['-q', '-x', '-b', '1', '-v', voice, '--stdin'], '欢迎致电').then((r) => r.stdout);
  const cmn = await phonemes('cmn');
  if (!cmn.includes('(en)')) return 'cmn';
  try {
    const pinyin = await phonemes('cmn-latn-pinyin');
    if (!pinyin.includes('(en)')) return 'cmn-latn-pinyin';
  } catch {
    // no such voice: keep cmn
  }
  return 'cmn';
}

const SOX_OUT = ['-t', 'wav', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

async function synthesize(p: PromptEntry, dest: string, voice: string, speed: number, espeakBin: string, soxBin: string, work: string): Promise<void> {
  const raw = path.join(work, `${p.name.replace(/\//g, '__')}.raw.wav`);
  await run(espeakBin, ['-b', '1', '-v', voice, '-s', String(speed), '-w', raw, '--stdin'], p.spoken);
  // Trim espeak's leading/trailing silence, resample to 8 kHz, peak at -3 dBFS; sentences get a little air
  // around them, number pieces none so that 二十三 runs together.
  const trim = ['silence', '1', '0.02', '-50d', 'reverse', 'silence', '1', '0.02', '-50d', 'reverse'];
  const pad = p.number ? ['pad', '0', '0.03'] : ['pad', '0.05', '0.2'];
  // -R: repeatable (fixed dither seed), so the same table gives byte-identical files.
  await run(soxBin, ['-R', raw, ...SOX_OUT, dest, ...trim, 'rate', '8000', 'norm', '-3', ...pad]);
  await fs.rm(raw, { force: true });
}

/** Generates (or copies from the custom directory) the prompts into the output directory. */
export async function generatePrompts(opts: GenerateOptions = {}): Promise<GenerateResult> {
  const outDir = path.resolve(opts.outDir ?? DEFAULT_OUT_DIR);
  const customDir = path.resolve(opts.customDir ?? DEFAULT_CUSTOM_DIR);
  const espeakBin = opts.espeakBin ?? 'espeak-ng';
  const soxBin = opts.soxBin ?? 'sox';
  const speed = opts.speed ?? DEFAULT_SPEED;
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(speed) || speed < 80 || speed > 450) throw new Error(`speed must be 80-450 words per minute (got ${speed})`);

  let entries = loadPromptTable(opts.tableFile ?? DEFAULT_TABLE);
  if (opts.only) {
    const unknown = opts.only.filter((n) => !entries.some((e) => e.name === n));
    if (unknown.length) throw new Error(`unknown prompt name(s): ${unknown.join(', ')}`);
    entries = entries.filter((e) => opts.only?.includes(e.name));
  }

  // Recorded files first: a native one is copied as is, anything else needs sox to convert.
  const custom = new Map<string, { file: string; native: boolean }>();
  for (const e of entries) {
    const file = path.join(customDir, `${e.name}.wav`);
    if (existsSync(file)) custom.set(e.name, { file, native: isNativeWav(wavFormat(await fs.readFile(file))) });
  }
  const toSynthesize = entries.filter((e) => !custom.has(e.name));
  const needed: { label: string; bin: string }[] = [];
  if (toSynthesize.length) needed.push({ label: 'espeak-ng', bin: espeakBin });
  if (toSynthesize.length || [...custom.values()].some((c) => !c.native)) needed.push({ label: 'sox', bin: soxBin });
  const missing = missingTools(needed);
  if (missing.length) throw new PromptToolsMissingError(missing);

  const voice = toSynthesize.length ? (opts.voice ?? (await pickVoice(espeakBin))) : null;
  await fs.mkdir(outDir, { recursive: true });
  const work = await fs.mkdtemp(path.join(tmpdir(), 'hotline114-prompts-'));
  const result: GenerateResult = { outDir, voice, generated: [], custom: [], holdMusic: [] };
  try {
    const one = async (e: PromptEntry) => {
      const dest = path.join(outDir, `${e.name}.wav`);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.tmp`);
      try {
        const c = custom.get(e.name);
        if (c?.native) {
          await fs.copyFile(c.file, tmp);
        } else if (c) {
          await run(soxBin, ['-R', c.file, ...SOX_OUT, tmp]);
        } else {
          await synthesize(e, tmp, voice as string, speed, espeakBin, soxBin, work);
        }
        const f = wavFormat(await fs.readFile(tmp));
        if (!isNativeWav(f) || !f?.dataBytes) throw new Error(`${e.name}: the result is not an 8 kHz mono 16-bit PCM WAV with sound`);
        await fs.rename(tmp, dest);
      } finally {
        await fs.rm(tmp, { force: true });
      }
      (custom.has(e.name) ? result.custom : result.generated).push(e.name);
      log(`${custom.has(e.name) ? 'custom ' : 'espeak '} ${e.name}.wav  ${e.text}`);
    };
    // A few at a time: each is two short processes.
    const queue = [...entries];
    const workers = Array.from({ length: Math.max(1, Math.min(4, cpus().length)) }, async () => {
      for (let e = queue.shift(); e; e = queue.shift()) await one(e);
    });
    await Promise.all(workers);
    if (opts.holdMusic ?? !opts.only) result.holdMusic = await writeHoldMusic(outDir, customDir, soxBin, work, log);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  result.generated.sort();
  result.custom.sort();
  return result;
}

/** <outDir>/moh/: the recorded files of <custom>/moh/ if there are any, else our synthesised hold.wav. */
async function writeHoldMusic(outDir: string, customDir: string, soxBin: string, work: string, log: (line: string) => void): Promise<string[]> {
  const missing = missingTools([{ label: 'sox', bin: soxBin }]);
  if (missing.length) throw new PromptToolsMissingError(missing);
  const dir = path.join(outDir, HOLD_MUSIC_DIR);
  await fs.mkdir(dir, { recursive: true });
  const customMoh = path.join(customDir, HOLD_MUSIC_DIR);
  const recorded = existsSync(customMoh) ? (await fs.readdir(customMoh)).filter((f) => f.endsWith('.wav')).sort() : [];
  const wanted = recorded.length ? recorded : ['hold.wav'];
  // Files of an earlier run that are no longer wanted would keep playing: Asterisk plays the whole directory.
  for (const f of await fs.readdir(dir)) if (f.endsWith('.wav') && !wanted.includes(f)) await fs.rm(path.join(dir, f), { force: true });
  for (const f of wanted) {
    const dest = path.join(dir, f);
    const tmp = path.join(dir, `.${f}.${process.pid}.tmp`);
    try {
      if (recorded.length) await run(soxBin, ['-R', path.join(customMoh, f), ...SOX_OUT, tmp]);
      else await synthesizeHoldMusic(tmp, soxBin, work);
      const fmt = wavFormat(await fs.readFile(tmp));
      if (!isNativeWav(fmt) || !fmt?.dataBytes) throw new Error(`${HOLD_MUSIC_DIR}/${f}: the result is not an 8 kHz mono 16-bit PCM WAV with sound`);
      await fs.rename(tmp, dest);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    log(`${recorded.length ? 'custom ' : 'sox    '} ${HOLD_MUSIC_DIR}/${f}  等候音乐 / music on hold`);
  }
  return wanted.map((f) => `${HOLD_MUSIC_DIR}/${f}`);
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): GenerateOptions & { help?: boolean } {
  const opts: GenerateOptions & { help?: boolean } = {
    outDir: env.PROMPTS_OUT_DIR || undefined,
    customDir: env.PROMPTS_CUSTOM_DIR || undefined,
    tableFile: env.PROMPTS_TABLE || undefined,
    voice: env.PROMPTS_VOICE || undefined,
    speed: env.PROMPTS_SPEED ? Number(env.PROMPTS_SPEED) : undefined,
    espeakBin: env.PROMPTS_ESPEAK_NG || undefined,
    soxBin: env.PROMPTS_SOX || undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--out') opts.outDir = value();
    else if (flag === '--custom') opts.customDir = value();
    else if (flag === '--table') opts.tableFile = value();
    else if (flag === '--voice') opts.voice = value();
    else if (flag === '--speed') opts.speed = Number(value());
    else if (flag === '--only') opts.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '-h' || flag === '--help') opts.help = true;
    else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return opts;
}

const USAGE = `用法 / usage: npm run prompts [-- options]
  --out DIR       output directory (PROMPTS_OUT_DIR; default sounds/build/zh/hotline114)
  --custom DIR    recorded files that replace synthesised ones, <name>.wav (PROMPTS_CUSTOM_DIR; default sounds/custom)
  --table FILE    text table (PROMPTS_TABLE; default sounds/prompts.json)
  --voice V       espeak-ng voice (PROMPTS_VOICE; default cmn, or cmn-latn-pinyin where cmn is broken)
  --speed WPM     espeak-ng speed (PROMPTS_SPEED; default ${DEFAULT_SPEED})
  --only a,b      only these prompt names, e.g. welcome,num/5
`;

if (require.main === module) {
  (async () => {
    const opts = parseArgs(process.argv.slice(2), process.env);
    if (opts.help) {
      process.stdout.write(USAGE);
      return;
    }
    const r = await generatePrompts({ ...opts, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(
      `已生成 ${r.generated.length} 个合成提示音${r.voice ? `（espeak-ng 语音 ${r.voice}）` : ''}，${r.custom.length} 个使用录音文件 → ${r.outDir}\n` +
        `${r.generated.length} prompts synthesised${r.voice ? ` (espeak-ng voice ${r.voice})` : ''}, ${r.custom.length} from recorded files → ${r.outDir}\n` +
        (r.holdMusic.length ? `等候音乐 / music on hold: ${r.holdMusic.join(', ')}\n` : ''),
    );
  })().catch((err: unknown) => {
    process.stderr.write(`错误 / error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof PromptToolsMissingError ? 3 : 1);
  });
}
