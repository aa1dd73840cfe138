// Password hashing (argon2id, OWASP's minimum parameters: 19 MiB, 2 passes, 1 lane; ~25 ms here) and the rules
// a new password must meet. Hashes carry their parameters, so raising them later still verifies old hashes.
import { randomInt } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { BadRequestError } from '../infra/errors';

// algorithm 2 = Argon2id (the package's const enum cannot be imported under isolatedModules)
const PARAMS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed stored hash never lets anyone in
  }
}

// Verified against for unknown usernames, so a wrong name costs as long as a wrong password.
let dummyHash: Promise<string> | null = null;
export async function burnVerify(password: string): Promise<void> {
  dummyHash ??= hashPassword('no-such-user-' + String(randomInt(1e9)));
  await verifyPassword(await dummyHash, password);
}

/** Refuses a new password that is too short, too long, all one character, or the username itself. */
export function checkNewPassword(password: string, username: string): void {
  if (password.length < PASSWORD_MIN) throw new BadRequestError(`新密码至少需要 ${PASSWORD_MIN} 个字符`, 'password_too_short');
  if (password.length > PASSWORD_MAX) throw new BadRequestError(`新密码不能超过 ${PASSWORD_MAX} 个字符`, 'password_too_long');
  if (/^(.)\1*$/u.test(password)) throw new BadRequestError('新密码不能由同一个字符重复组成', 'password_too_weak');
  if (password.toLowerCase().includes(username.toLowerCase())) {
    throw new BadRequestError('新密码不能包含用户名', 'password_contains_username');
  }
  if (!/[0-9]/.test(password) || !/[^0-9]/.test(password)) {
    throw new BadRequestError('新密码须同时包含数字和字母（或其他字符）', 'password_too_weak');
  }
}

// No 0/O, 1/l/I: a temporary password is read out or typed from a note.
const TEMP_ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A one-time password an admin hands over; the user must replace it at the next sign-in. */
export function temporaryPassword(length = 12): string {
  let s = '';
  while (!(/[0-9]/.test(s) && /[a-zA-Z]/.test(s))) {
    s = '';
    for (let i = 0; i < length; i++) s += TEMP_ALPHABET[randomInt(TEMP_ALPHABET.length)];
  }
  return s;
}
