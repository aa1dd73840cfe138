// Password sign-in: verification with lockout and backoff, the session epoch (sign-out everywhere), forced
// password change, and the admin's reset / disable / enable. Every decision reads PostgreSQL; sessions in Redis
// only carry (userId, epoch), and a session whose epoch is behind the row's is dead.
import { AppError, BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from '../infra/errors';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { AuthConfig } from '../config';
import { createCredentialsRepo, type AuthEventKind, type CredentialRow } from './credentials-repo';
import { burnVerify, checkNewPassword, hashPassword, temporaryPassword, verifyPassword } from './password';
import type { AuthUser } from './types';
import type { SessionUser } from '../http/user';

export class AccountLockedError extends AppError {
  constructor(readonly retryAfterSec: number) {
    super(429, 'account_locked', `密码错误次数过多，账号已临时锁定，请 ${formatWait(retryAfterSec)}后再试`, { retryAfterSec });
  }
}

function formatWait(sec: number): string {
  if (sec < 60) return `${sec} 秒`;
  const min = Math.ceil(sec / 60);
  return min < 60 ? `${min} 分钟` : `${Math.ceil(min / 60)} 小时`;
}

const BAD_CREDENTIALS = () => new UnauthorizedError('用户名或密码错误', 'invalid_credentials');

function toSessionUser(r: CredentialRow): SessionUser {
  return {
    user: {
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      role: r.role,
      departmentId: r.department_id,
      agentId: r.agent_id,
    },
    epoch: r.session_epoch,
    mustChangePassword: r.must_change_password,
  };
}

export function createSignIn(deps: {
  db: Db;
  logger: Logger;
  config: AuthConfig;
  /** Called after a user's sessions or tokens must stop now (disable, sign-out everywhere, password change). */
  onRevoked: (userId: number) => void;
  /** Run when a user is being disabled (e.g. sign their agent seat out so no call is offered to them). */
  onDisabled?: { handlers: ((user: { id: number; agentId: number | null }) => Promise<void>)[] };
}) {
  const repo = createCredentialsRepo(deps.db);
  const lock = { after: deps.config.lockAfter, baseSec: deps.config.lockBaseSec, maxSec: deps.config.lockMaxSec };

  function audit(e: { userId: number | null; username: string; kind: AuthEventKind; actorId?: number | null; ip?: string | null }) {
    repo.logEvent(e).catch((err: unknown) => deps.logger.warn({ err, kind: e.kind }, 'could not write auth event'));
  }

  async function signIn(username: string, password: string, ip: string | null): Promise<SessionUser> {
    const row = await repo.byUsername(username);
    if (!row || !row.password_hash) {
      await burnVerify(password);
      audit({ userId: row?.id ?? null, username, kind: 'signin_failed', ip });
      throw BAD_CREDENTIALS();
    }
    // A locked account is refused before the password is looked at: guessing on does not help.
    if (row.locked_until && row.locked_until.getTime() > Date.now()) {
      throw new AccountLockedError(Math.ceil((row.locked_until.getTime() - Date.now()) / 1000));
    }
    if (!(await verifyPassword(row.password_hash, password))) {
      const r = await repo.recordFailure(row.id, lock);
      audit({ userId: row.id, username, kind: 'signin_failed', ip });
      if (r.lockedUntil && r.lockedUntil.getTime() > Date.now()) {
        audit({ userId: row.id, username, kind: 'locked', ip });
        deps.logger.warn({ userId: row.id, failed: r.failed }, 'account locked after repeated wrong passwords');
        throw new AccountLockedError(Math.ceil((r.lockedUntil.getTime() - Date.now()) / 1000));
      }
      throw BAD_CREDENTIALS();
    }
    // Told only to someone who knows the password.
    if (!row.active) throw new ForbiddenError('该账号已被停用，请联系管理员', 'account_disabled');
    await repo.recordSuccess(row.id);
    audit({ userId: row.id, username, kind: 'signin', ip });
    return toSessionUser(row);
  }

  /** The user behind a session, or null when the user is gone, disabled, or signed out everywhere since. */
  async function sessionUser(userId: number, epoch: number): Promise<SessionUser | null> {
    const row = await repo.byId(userId);
    if (!row || !row.active || row.session_epoch !== epoch) return null;
    return toSessionUser(row);
  }

  /** An active user by id (a redeemed one-time ticket), or null. */
  async function activeUser(userId: number): Promise<AuthUser | null> {
    const row = await repo.byId(userId);
    return row && row.active ? toSessionUser(row).user : null;
  }

  /** Signs in a user the identity platform vouched for: linked by subject, else by username (then linked). */
  async function oidcUser(subject: string, username: string | null, ip: string | null): Promise<SessionUser> {
    let row = await repo.byOidcSubject(subject);
    if (!row && username) {
      row = await repo.byUsername(username);
      if (row) await repo.linkOidcSubject(row.id, subject);
    }
    if (!row) throw new ForbiddenError('统一身份认证账号未在本系统开通，请联系管理员', 'oidc_user_unknown');
    if (!row.active) throw new ForbiddenError('该账号已被停用，请联系管理员', 'account_disabled');
    await repo.recordSuccess(row.id);
    audit({ userId: row.id, username: row.username, kind: 'oidc_signin', ip });
    // The identity platform owns this person's password: no forced change here.
    return { ...toSessionUser(row), mustChangePassword: false };
  }

  /** The user's own change: checks the current password; ends every other session. Returns the new epoch. */
  async function changePassword(userId: number, current: string, next: string): Promise<number> {
    const row = await repo.byId(userId);
    if (!row || !row.active) throw new UnauthorizedError();
    if (!row.password_hash || !(await verifyPassword(row.password_hash, current))) {
      throw new BadRequestError('当前密码不正确', 'wrong_current_password');
    }
    checkNewPassword(next, row.username);
    if (current === next) throw new BadRequestError('新密码不能与当前密码相同', 'password_unchanged');
    const epoch = await repo.setPassword(userId, await hashPassword(next), false);
    if (epoch === null) throw new UnauthorizedError();
    audit({ userId, username: row.username, kind: 'password_changed', actorId: userId });
    deps.onRevoked(userId);
    return epoch;
  }

  async function signOutEverywhere(userId: number, username: string): Promise<void> {
    await repo.bumpEpoch(userId);
    audit({ userId, username, kind: 'signout_all', actorId: userId });
    deps.onRevoked(userId);
  }

  function signedOut(userId: number, username: string): void {
    audit({ userId, username, kind: 'signout', actorId: userId });
  }

  async function target(userId: number): Promise<CredentialRow> {
    const row = await repo.byId(userId);
    if (!row) throw new NotFoundError('用户不存在', 'user_not_found');
    return row;
  }

  /** Admin: a new temporary password (returned once), to be changed at the next sign-in; ends all sessions. */
  async function resetPassword(userId: number, actorId: number): Promise<string> {
    const row = await target(userId);
    const temp = temporaryPassword();
    await repo.setPassword(userId, await hashPassword(temp), true);
    audit({ userId, username: row.username, kind: 'password_reset', actorId });
    deps.onRevoked(userId);
    return temp;
  }

  /** Admin: disable (every session and token stops at once) or enable again (tokens work again; sessions do not). */
  async function setActive(userId: number, active: boolean, actorId: number): Promise<void> {
    if (!active && userId === actorId) throw new BadRequestError('不能停用自己的账号', 'cannot_disable_self');
    const row = await target(userId);
    if (!active) {
      // Before the row changes, while the seat still accepts a normal sign-out (state log, console told).
      for (const h of deps.onDisabled?.handlers ?? []) {
        await h({ id: userId, agentId: row.agent_id }).catch((err: unknown) => deps.logger.warn({ err, userId }, 'disable step failed'));
      }
    }
    await repo.setActive(userId, active, actorId);
    audit({ userId, username: row.username, kind: active ? 'enabled' : 'disabled', actorId });
    // Also on enable: every process drops its cached "no such user" answers for the user's tokens.
    deps.onRevoked(userId);

  }

  /** Seed / CLI: a password for a user that has none yet (true when it was set). */
  async function setInitialPassword(userId: number, password: string): Promise<boolean> {
    return repo.setInitialPassword(userId, await hashPassword(password));
  }

  return { signIn, sessionUser, activeUser, oidcUser, changePassword, signOutEverywhere, signedOut, resetPassword, setActive, setInitialPassword };
}

export type SignInService = ReturnType<typeof createSignIn>;
