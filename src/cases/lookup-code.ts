// Residents' status lookup secrets (查询码). Web requests get a code at submission (intake), phone-created cases can
// get one the same way (issueLookupCode); checking a typed code is lookupCodeMatches, behind intake's guard on
// wrong guesses (src/intake/lookup.ts).
//
// - A code is 10 characters from 31 unambiguous upper-case letters and digits (no 0/O, 1/I/L), always with a letter,
//   shown in groups (ABCD-EFGH-JK); about 49 bits. Typing is forgiving: case, spaces and dashes are ignored.
// - Only SHA-256("<tracking_no>:<code>") is stored (cases.lookup_code_hash): a leaked table does not reveal codes.
import { createHash, randomInt } from 'node:crypto';
import type { Db, Queryable } from '../infra/db';

export const LOOKUP_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const LOOKUP_CODE_LENGTH = 10;

/** A fresh random code: LOOKUP_CODE_LENGTH characters, never digits only. */
export function generateLookupCode(): string {
  for (;;) {
    let code = '';
    for (let i = 0; i < LOOKUP_CODE_LENGTH; i++) code += LOOKUP_ALPHABET[randomInt(LOOKUP_ALPHABET.length)];
    if (/[A-Z]/.test(code)) return code;
  }
}

/** How a code is shown to the resident: ABCD-EFGH-JK. */
export function formatLookupCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1-');
}

/** What the resident typed → the stored form (upper case, no spaces or dashes). */
export function normalizeLookupCode(input: string): string {
  return input.replace(/[\s\-‐-―－]/g, '').toUpperCase();
}

export function hashLookupCode(trackingNo: string, code: string): Buffer {
  return createHash('sha256').update(`${trackingNo}:${normalizeLookupCode(code)}`, 'utf8').digest();
}

/** Does `typed` match the stored hash (constant-time enough: both are digests of fixed length)? */
export function lookupCodeMatches(trackingNo: string, typed: string, stored: Buffer | null): boolean {
  if (!stored) return false;
  return hashLookupCode(trackingNo, typed).equals(stored);
}

/** Gives a case a new lookup code (replacing any earlier one) and returns it for the resident; inside a transaction if given. */
export async function issueLookupCode(db: Db, caseId: number, tx?: Queryable): Promise<string> {
  const code = generateLookupCode();
  const { rows } = await db.query<{ tracking_no: string }>(`select tracking_no from cases where id = $1`, [caseId], tx);
  if (!rows[0]) throw new Error(`case ${caseId} not found`);
  await db.query(`update cases set lookup_code_hash = $2 where id = $1`, [caseId, hashLookupCode(rows[0].tracking_no, code)], tx);
  return code;
}
