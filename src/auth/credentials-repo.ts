// SQL for passwords, lockout, the session epoch, disabling users and the sign-in audit trail.
import type { Db, Queryable } from '../infra/db';
import type { Role } from './types';

export interface CredentialRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  department_id: number | null;
  agent_id: number | null;
  active: boolean;
  password_hash: string | null;
  must_change_password: boolean;
  failed_signins: number;
  locked_until: Date | null;
  session_epoch: number;
}

export type AuthEventKind =
  | 'signin'
  | 'signin_failed'
  | 'locked'
  | 'signout'
  | 'signout_all'
  | 'password_changed'
  | 'password_reset'
  | 'disabled'
  | 'enabled'
  | 'oidc_signin';

const SELECT = `
  select u.id, u.username, u.display_name, u.role, u.department_id, a.id as agent_id, u.active, u.password_hash,
         u.must_change_password, u.failed_signins, u.locked_until, u.session_epoch
    from users u
    left join agents a on a.user_id = u.id`;

export function createCredentialsRepo(db: Db) {
  return {
    async byUsername(username: string): Promise<CredentialRow | null> {
      const { rows } = await db.query<CredentialRow>(`${SELECT} where u.username = $1`, [username]);
      return rows[0] ?? null;
    },

    async byId(id: number): Promise<CredentialRow | null> {
      const { rows } = await db.query<CredentialRow>(`${SELECT} where u.id = $1`, [id]);
      return rows[0] ?? null;
    },

    async byOidcSubject(subject: string): Promise<CredentialRow | null> {
      const { rows } = await db.query<CredentialRow>(`${SELECT} where u.oidc_subject = $1`, [subject]);
      return rows[0] ?? null;
    },

    async linkOidcSubject(userId: number, subject: string): Promise<void> {
      await db.query(`update users set oidc_subject = $2 where id = $1 and oidc_subject is null`, [userId, subject]);
    },

    /**
     * One more wrong password, in one statement so parallel guesses all count. From the lockAfter-th failure on
     * the account is locked for base × 2^(failures − lockAfter) seconds, at most max.
     */
    async recordFailure(userId: number, lock: { after: number; baseSec: number; maxSec: number }): Promise<{ failed: number; lockedUntil: Date | null }> {
      const { rows } = await db.query<{ failed_signins: number; locked_until: Date | null }>(
        `update users set failed_signins = failed_signins + 1,
                locked_until = case when failed_signins + 1 >= $2
                  then now() + make_interval(secs => least($4::float8, $3::float8 * power(2, least(failed_signins + 1 - $2, 30))))
                  else locked_until end
          where id = $1
          returning failed_signins, locked_until`,
        [userId, lock.after, lock.baseSec, lock.maxSec],
      );
      return { failed: rows[0]?.failed_signins ?? 0, lockedUntil: rows[0]?.locked_until ?? null };
    },

    async recordSuccess(userId: number): Promise<void> {
      await db.query(
        `update users set failed_signins = 0, locked_until = null, last_signin_at = now() where id = $1`,
        [userId],
      );
    },

    /** New hash; mustChange for an admin's temporary password. Ends every session (epoch + 1) and any lock. */
    async setPassword(userId: number, hash: string, mustChange: boolean, client?: Queryable): Promise<number | null> {
      const { rows } = await db.query<{ session_epoch: number }>(
        `update users set password_hash = $2, must_change_password = $3, password_changed_at = now(),
                failed_signins = 0, locked_until = null, session_epoch = session_epoch + 1
          where id = $1 returning session_epoch`,
        [userId, hash, mustChange],
        client,
      );
      return rows[0]?.session_epoch ?? null;
    },

    /** Sets the password only where none is set yet (the demo seed never overwrites a changed password). */
    async setInitialPassword(userId: number, hash: string, client?: Queryable): Promise<boolean> {
      const { rowCount } = await db.query(
        `update users set password_hash = $2, password_changed_at = now() where id = $1 and password_hash is null`,
        [userId, hash],
        client,
      );
      return rowCount === 1;
    },

    async bumpEpoch(userId: number): Promise<number | null> {
      const { rows } = await db.query<{ session_epoch: number }>(
        `update users set session_epoch = session_epoch + 1 where id = $1 returning session_epoch`,
        [userId],
      );
      return rows[0]?.session_epoch ?? null;
    },

    /** Disabling also ends every session (epoch + 1); tokens stay but are refused while the user is inactive. */
    async setActive(userId: number, active: boolean, actorId: number | null): Promise<boolean> {
      const { rowCount } = await db.query(
        active
          ? `update users set active = true, disabled_at = null, disabled_by = null, failed_signins = 0, locked_until = null
              where id = $1`
          : `update users set active = false, disabled_at = now(), disabled_by = $2, session_epoch = session_epoch + 1
              where id = $1`,
        active ? [userId] : [userId, actorId],
      );
      return rowCount === 1;
    },

    async logEvent(e: { userId: number | null; username: string; kind: AuthEventKind; actorId?: number | null; ip?: string | null }): Promise<void> {
      await db.query(
        `insert into auth_events (user_id, username, kind, actor_id, ip) values ($1, $2, $3, $4, $5)`,
        [e.userId, e.username, e.kind, e.actorId ?? null, e.ip ?? null],
      );
    },
  };
}

export type CredentialsRepo = ReturnType<typeof createCredentialsRepo>;
