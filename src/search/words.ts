// Chinese word segmentation (jieba, @node-rs/jieba) with the hotline's user dictionary: category names, department
// names, the district's place names and hotline terms (lexicon.ts). Used for the words of each indexed document
// (search ranking: a word match ranks above a bigram match) and for hot topics (words and phrases, no fragments).
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import { HOTLINE_TERMS, NUMERIC_WORD, PLACE_NAMES, STOP_WORDS } from './lexicon';

const CJK = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$/;
const ALNUM = /^[A-Za-z0-9]+$/;
const STOP = new Set(STOP_WORDS);

/** Dictionary lines: user words get a high frequency so jieba keeps them whole. */
function dictLines(words: Iterable<string>): string {
  const out: string[] = [];
  for (const w of words) {
    const s = w.trim();
    if (s && !/\s/.test(s)) out.push(`${s} 100000 n`);
  }
  return out.join('\n') + '\n';
}

export interface Segmenter {
  /** Words of a text in order (hmm off: no invented words), punctuation and spaces dropped, lower-case ASCII. */
  cut(text: string): string[];
  /** Distinct words (2+ CJK characters) to index for a document, plus the dictionary words inside phrases (供暖不热 → 供暖). */
  indexWords(text: string): string[];
  /** Whether a word may be a hot topic: 2+ CJK characters, not a stop word, not a number. */
  isTopic(word: string): boolean;
}

export function createSegmenter(extraWords: Iterable<string> = []): Segmenter {
  const jieba = Jieba.withDict(dict);
  const userWords = [...new Set([...HOTLINE_TERMS, ...PLACE_NAMES, ...extraWords].map((w) => w.trim()).filter(Boolean))];
  jieba.loadDict(Buffer.from(dictLines(userWords)));
  // Parts of a phrase are the shorter dictionary words inside it (路灯不亮 → 路灯; 噪音扰民 → 噪音, 扰民): only
  // words someone put in the dictionary, so never a fragment.
  const parts = userWords.filter((w) => w.length >= 2 && CJK.test(w) && !STOP.has(w));

  function cut(text: string): string[] {
    const out: string[] = [];
    for (const w of jieba.cut(text, false)) {
      if (CJK.test(w)) out.push(w);
      else if (ALNUM.test(w)) out.push(w.toLowerCase());
    }
    return out;
  }

  function indexWords(text: string): string[] {
    const set = new Set<string>();
    for (const w of cut(text)) {
      // Single characters and ASCII tokens are in the bigram/word part of the index already.
      if (w.length < 2 || !CJK.test(w)) continue;
      set.add(w);
      if (w.length >= 3) for (const p of parts) if (p.length < w.length && w.includes(p)) set.add(p);
    }
    return [...set];
  }

  function isTopic(word: string): boolean {
    return word.length >= 2 && CJK.test(word) && !STOP.has(word) && !NUMERIC_WORD.test(word);
  }

  return { cut, indexWords, isTopic };
}
