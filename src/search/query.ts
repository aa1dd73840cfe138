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

export interface ParsedQuery {
  terms: string[];
  /** All lexemes of all terms (deduplicated), ANDed. Empty: no term is indexable (LIKE only). */
  lexemes: string[];
  /** LIKE patterns on body (terms without ASCII letters) and ILIKE patterns (terms with letters). */
  likePatterns: string[];
  ilikePatterns: string[];
  /** Cache key of the hot-query table: the normalised terms, sorted. */
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

export function parseQuery(q: string): ParsedQuery {
  const terms = splitTerms(q);
  const lexemes = new Set<string>();
  const likePatterns: string[] = [];
  const ilikePatterns: string[] = [];
  for (const term of terms) {
    const lx = termLexemes(term);
    for (const l of lx) lexemes.add(l);
    const exactByIndex = lx.length === 1 && (CJK_BIGRAM.test(term) || term.toLowerCase() === lx[0]);
    if (exactByIndex) continue;
    const pattern = `%${escapeLike(term)}%`;
    if (/[A-Za-z]/.test(term)) ilikePatterns.push(pattern);
    else likePatterns.push(pattern);
  }
  const qkey = terms.map((t) => t.toLowerCase()).sort().join(' ');
  return { terms, lexemes: [...lexemes].sort(), likePatterns, ilikePatterns, qkey };
}

/** tsquery text: lexemes quoted and ANDed (our lexemes are CJK or [a-z0-9], nothing to escape but quotes). */
export function toTsquery(lexemes: string[]): string {
  return lexemes.map((l) => `'${l.replace(/'/g, "''").replace(/\\/g, '\\\\')}'`).join(' & ');
}

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
