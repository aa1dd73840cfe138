// Query parsing and snippet highlighting for the keyword search. Mirrors h114_search_vector() (migration
// 1764600000000_search.sql): CJK runs become overlapping bigrams, ASCII words and digit runs lowercase tokens.
// A query is split on whitespace into terms (AND). Each term's lexemes are ANDed in the GIN condition; a term
// that is more than one lexeme (3+ CJK characters, a tracking number, mixed text) or that has a lone CJK
// character is confirmed with LIKE on the document text, so a hit is an exact substring.

const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;
const ALNUM = /[A-Za-z0-9]+/g;
const CJK_BIGRAM = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}$/;

export const MAX_TERMS = 8;
export const MAX_TERM_LENGTH = 50;

/** How a term is confirmed on the row after the index narrowed it down (exact substring semantics). */
export type Confirm =
  | { kind: 'like'; pattern: string }
  | { kind: 'ilike'; pattern: string }
  /** 4+ digits: the whole digit token in the text, or a substring of a caller/contact number. */
  | { kind: 'digits'; token: string; pattern: string };

export interface TermQuery {
  term: string;
  /** tsquery text for the index (null: nothing indexable, e.g. one character → confirm only). */
  tsq: string | null;
  confirm: Confirm | null;
  /** The term in the title/category field (f: lexemes), for ranking. */
  field: string | null;
  /** The term as jieba words (w: lexemes), for ranking; null when it is no word (a fragment such as 区供). */
  word: string | null;
}

export interface ParsedQuery {
  terms: string[];
  parts: TermQuery[];
  /** AND of the terms' index queries; null when no term is indexable. */
  tsq: string | null;
  /** Ranking conditions (null: no such distinction for this query). */
  field: string | null;
  word: string | null;
  qkey: string;
}

export function termLexemes(term: string): string[] {
  const out: string[] = [];
  for (const m of term.matchAll(CJK_RUN)) {
    const chars = [...m[0]];
    for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  }
  for (const m of term.matchAll(ALNUM)) out.push(m[0].toLowerCase());
  return out;
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Terms of a query (whitespace separated, full-width spaces too), deduplicated, in order. */
export function splitTerms(q: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of q.split(/[\s\u3000]+/)) {
    const t = raw.trim();
    if (!t) continue;
    const key = t.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

/** A lexeme quoted for tsquery text (quotes and backslashes escaped). */
export function lex(l: string): string {
  return `'${l.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** AND of tsquery parts (each parenthesised); null parts are left out; null when nothing is left. */
export function tsAnd(...parts: (string | null | undefined)[]): string | null {
  const p = parts.filter((x): x is string => !!x);
  if (!p.length) return null;
  return p.length === 1 ? p[0]! : p.map((x) => `(${x})`).join(' & ');
}

export function tsOr(parts: string[]): string | null {
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0]! : parts.map((x) => `(${x})`).join(' | ');
}

/** The 4-digit windows of a digit string as p: lexemes ANDed (what the index holds of phone numbers). */
export function phoneWindows(digits: string): string {
  const w = new Set<string>();
  for (let i = 0; i + 4 <= digits.length; i++) w.add(`p:${digits.slice(i, i + 4)}`);
  return [...w].map(lex).join(' & ');
}

export const DIGITS_MIN = 4;

/** `words` splits a term into dictionary words (jieba); without it, the ranking has no word tier. */
export function parseQuery(q: string, words?: (term: string) => string[]): ParsedQuery {
  const terms = splitTerms(q);
  const parts: TermQuery[] = [];
  for (const term of terms) {
    const lx = termLexemes(term);
    const lower = term.toLowerCase();
    let tsq = lx.length ? lx.map(lex).join(' & ') : null;
    let confirm: Confirm | null = null;
    const pattern = `%${escapeLike(term)}%`;
    if (new RegExp(`^[0-9]{${DIGITS_MIN},}$`).test(term)) {
      // Also a part of a caller or contact number: the number's 4-digit windows, confirmed as a substring.
      tsq = `${lex(term)} | (${phoneWindows(term)})`;
      confirm = { kind: 'digits', token: lex(term), pattern };
    } else {
      const exactByIndex = lx.length === 1 && (CJK_BIGRAM.test(term) || lower === lx[0]);
      if (!exactByIndex) confirm = /[A-Za-z]/.test(term) ? { kind: 'ilike', pattern } : { kind: 'like', pattern };
    }
    const field = lx.length ? lx.map((l) => lex(`f:${l}`)).join(' & ') : null;
    let word: string | null = null;
    if (words && /[\u3400-\u9fff]/.test(term)) {
      const ws = words(term).filter((w) => [...w].length >= 2 && CJK_RUN_FULL.test(w));
      if (ws.length) word = ws.map((w) => lex(`w:${w}`)).join(' & ');
    }
    parts.push({ term, tsq, confirm, field, word });
  }
  const qkey = terms.map((t) => t.toLowerCase()).sort().join(' ');
  const fields = parts.map((p) => p.field);
  const wordsQ = parts.map((p) => p.word);
  return {
    terms,
    parts,
    tsq: tsAnd(...parts.map((p) => p.tsq)),
    field: fields.some((f) => f) ? tsAnd(...fields) : null,
    word: wordsQ.some((w) => w) ? tsAnd(...wordsQ) : null,
    qkey,
  };
}

const CJK_RUN_FULL = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$/;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** [start, end) ranges (UTF-16 indices) of every occurrence of any term, merged. */
export function hitRanges(text: string, terms: string[]): [number, number][] {
  const lower = text.toLowerCase();
  const ranges: [number, number][] = [];
  for (const term of terms) {
    const t = term.toLowerCase();
    if (!t) continue;
    for (let i = lower.indexOf(t); i !== -1; i = lower.indexOf(t, i + t.length)) ranges.push([i, i + t.length]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** HTML-safe text with <mark> around the hits; everything else escaped. */
export function markHits(text: string, terms: string[]): string {
  let out = '';
  let pos = 0;
  for (const [s, e] of hitRanges(text, terms)) {
    out += escapeHtml(text.slice(pos, s)) + '<mark>' + escapeHtml(text.slice(s, e)) + '</mark>';
    pos = e;
  }
  return out + escapeHtml(text.slice(pos));
}

/** A window of about `width` characters around the first hit, highlighted, with … where text was cut. */
export function snippet(text: string, terms: string[], width = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const first = hitRanges(flat, terms)[0];
  let start = first ? Math.max(0, first[0] - Math.floor(width / 4)) : 0;
  if (start > 0 && flat.length - start < width) start = Math.max(0, flat.length - width);
  const end = Math.min(flat.length, start + width);
  const part = flat.slice(start, end);
  return (start > 0 ? '…' : '') + markHits(part, terms) + (end < flat.length ? '…' : '');
}
