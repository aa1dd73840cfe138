// The one redaction of personal data in free text, for every text that leaves for someone who may not see it:
// public views (Open311, the resident portal, published descriptions), exports for lower roles, and logs.
// Masked: mainland mobile numbers and landlines in any common spelling (spaces, dashes, dots, brackets, +86/0086,
// extensions, full-width digits), 18- and 15-digit resident ID numbers, bank card numbers, e-mail addresses, and as
// a fallback any other run of 7 or more digits. Names cannot be found reliably in free text: views that must not
// show names do not show the resident's text at all (see src/intake/public-view.ts).
//
// Phone numbers keep their last 4 digits (***5678: staff and residents can still tell which number was meant);
// the other kinds are replaced whole.

const D = '[0-9０-９]';
const SEP = '[\\s.\\-－‐—]?';
const NOT_DIGIT_BEFORE = '(?<![0-9０-９])';
const NOT_DIGIT_AFTER = '(?![0-9０-９])';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// Tracking numbers (114-20261204-000123) are not personal data: kept out of the digit rules.
const TRACKING = /\b114-\d{8}-\d{6}\b/g;
// 6 (region) + 8 (birth date) + 3 + check digit (X allowed), optionally grouped 6-8-4; old 15-digit ones too.
const ID18 = new RegExp(`${NOT_DIGIT_BEFORE}${D}{6}${SEP}(?:18|19|20)${D}{2}${D}{4}${SEP}${D}{3}[0-9０-９XxＸｘ]${NOT_DIGIT_AFTER}`, 'g');
const ID15 = new RegExp(`${NOT_DIGIT_BEFORE}${D}{6}${SEP}${D}{6}${SEP}${D}{3}${NOT_DIGIT_AFTER}`, 'g');
// 16–19 digits, plain or in groups of 4.
const CARD = new RegExp(`${NOT_DIGIT_BEFORE}(?:${D}{4}${SEP}){3}${D}{4}(?:${SEP}${D}{1,3})?${NOT_DIGIT_AFTER}`, 'g');
// +86 / 0086 / 86 / (+86) prefix, then 1[3-9]x xxxx xxxx with any separators between digits.
const MOBILE = new RegExp(
  `${NOT_DIGIT_BEFORE}(?:(?:\\(?(?:\\+|＋|00)?86\\)?)${SEP})?[1１][3-9３-９](?:${SEP}${D}){9}${NOT_DIGIT_AFTER}`,
  'g',
);
// Area code 0xx / 0xxx (or +86 xx without the 0), optionally in brackets, then 7–8 digits, optional extension.
const LANDLINE = new RegExp(
  `${NOT_DIGIT_BEFORE}(?:(?:\\+|＋|00)86${SEP}\\(?[1-9]${D}{1,2}\\)?|\\(?[0０][1-9１-９]${D}{1,2}\\)?|（[0０][1-9１-９]${D}{1,2}）)${SEP}${D}{3,4}${SEP}${D}{4}` +
    `(?:\\s*(?:转|分机|ext\\.?|x|-)\\s*${D}{1,6})?${NOT_DIGIT_AFTER}`,
  'gi',
);
// Local numbers without area code written in two groups (6512-3456, 6512 3456); dates (2026-12-04) do not match.
const LOCAL = new RegExp(`(?<![0-9０-９][\\s.\\-－]?)${D}{3,4}[\\s\\-－]${D}{4}(?![\\s.\\-－]?[0-9０-９])`, 'g');
// Anything else that is 7+ digits in a row (account numbers, numbers typed without any separator…).
const LONG_DIGITS = new RegExp(`${NOT_DIGIT_BEFORE}${D}{7,}${NOT_DIGIT_AFTER}`, 'g');

const toAscii = (s: string) => s.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48));
const digitsOf = (s: string) => toAscii(s).replace(/\D/g, '');
const keepLast4 = (match: string) => `***${digitsOf(match).slice(-4)}`;

/** Masks personal data in free text (see the header). Idempotent; null/undefined pass through. */
export function redactPersonalData<T extends string | null | undefined>(text: T): T {
  if (!text) return text;
  const kept: string[] = [];
  // Placeholders keep already-decided parts away from the later, broader rules.
  const hold = (s: string) => {
    kept.push(s);
    return `\uE000${kept.length - 1}\uE000`;
  };
  let s: string = text.replace(TRACKING, hold);
  s = s.replace(EMAIL, () => hold('[邮箱]'));
  s = s.replace(ID18, () => hold('[身份证号]'));
  s = s.replace(CARD, () => hold('[银行卡号]'));
  s = s.replace(MOBILE, (m) => hold(keepLast4(m)));
  s = s.replace(LANDLINE, (m) => hold(keepLast4(m.replace(/\s*(?:转|分机|ext\.?|x)\s*[0-9０-９]+$/i, ''))));
  s = s.replace(ID15, () => hold('[身份证号]'));
  s = s.replace(LOCAL, (m) => hold(keepLast4(m)));
  s = s.replace(LONG_DIGITS, (m) => hold(keepLast4(m)));
  return s.replace(/\uE000(\d+)\uE000/g, (m, i: string) => kept[Number(i)] ?? m) as T;
}
