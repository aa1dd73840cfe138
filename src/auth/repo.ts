// SQL for users, agents (as far as user administration goes) and API tokens.
import type { Db, Queryable } from '../infra/db';
import type { Role } from './types';

export interface TokenUserRow {
  token_id: number;
  expires_at: Date | null;
  last_used_at: Date | null;
  user_id: number;
  username: string;
  display_name: string;
  role: Role;
  department_id: number | null;
  agent_id: number | null;
}

export interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  department_id: number | null;
  department_code: string | null;
  department_name: string | null;
  agent_id: number | null;
  extension: string | null;
  active: boolean;
  created_at: Date;
}

export interface TokenRow {
  id: number;
  user_id: number;
  label: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const USER_SELECT = `
  select u.id, u.username, u.display_name, u.role, u.department_id, d.code as department_code,
         d.name as department_name, a.id as agent_id, a.extension, u.active, u.created_at
    from users u
    left join departments d on d.id = u.department_id
    left join agents a on a.user_id = u.id`;

export function createAuthRepo(db: Db) {
  return {
    /** A usable token (not revoked, not expired) of an active user, with the user's agent id. */
    async findTokenUser(hash: Buffer): Promise<TokenUserRow | null> {
      const { rows } = await db.query<TokenUserRow>(
        `select t.id as token_id, t.expires_at, t.last_used_at, u.id as user_id, u.username, u.display_name,
                u.role, u.department_id, a.id as agent_id
           from api_tokens t
           join users u on u.id = t.user_id
           left join agents a on a.user_id = u.id
          where t.token_hash = $1 and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
            and u.active`,
        [hash],
      );
      return rows[0] ?? null;
    },

    async touchToken(tokenId: number): Promise<void> {
      await db.query(
        `update api_tokens set last_used_at = now()
          where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
        [tokenId],
      );
    },

    async insertToken(
      userId: number,
      hash: Buffer,
      label: string,
      expiresInDays: number | null,
      client?: Queryable,
    ): Promise<TokenRow> {
      const { rows } = await db.query<TokenRow>(
        `insert into api_tokens (user_id, token_hash, label, expires_at)
         values ($1, $2, $3, case when $4::int is null then null else now() + make_interval(days => $4::int) end)
         returning id, user_id, label, created_at, expires_at, revoked_at, last_used_at`,
        [userId, hash, label, expiresInDays],
        client,
      );
      return rows[0]!;
    },

    async revokeToken(tokenId: number): Promise<TokenRow | null> {
      const { rows } = await db.query<TokenRow>(
        `update api_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1
         returning id, user_id, label, created_at, expires_at, revoked_at, last_used_at`,
        [tokenId],
      );
      return rows[0] ?? null;
    },

    async listTokens(userId: number): Promise<TokenRow[]> {
      const { rows } = await db.query<TokenRow>(
        `select id, user_id, label, created_at, expires_at, revoked_at, last_used_at
           from api_tokens where user_id = $1 order by id desc`,
        [userId],
      );
      return rows;
    },

    async findUser(id: number): Promise<UserRow | null> {
      const { rows } = await db.query<UserRow>(`${USER_SELECT} where u.id = $1`, [id]);
      return rows[0] ?? null;
    },

    async findUserByUsername(username: string): Promise<UserRow | null> {
      const { rows } = await db.query<UserRow>(`${USER_SELECT} where u.username = $1`, [username]);
      return rows[0] ?? null;
    },

    async listUsers(filter: { role?: Role }): Promise<UserRow[]> {
      const { rows } = await db.query<UserRow>(
        `${USER_SELECT} where ($1::text is null or u.role = $1) order by u.id`,
        [filter.role ?? null],
      );
      return rows;
    },

    async findDepartmentId(code: string, client?: Queryable): Promise<number | null> {
      const { rows } = await db.query<{ id: number }>(`select id from departments where code = $1`, [code], client);
      return rows[0]?.id ?? null;
    },

    async insertUser(
      u: { username: string; displayName: string; role: Role; departmentId: number | null },
      client: Queryable,
    ): Promise<number | null> {
      const { rows } = await db.query<{ id: number }>(
        `insert into users (username, display_name, role, department_id) values ($1, $2, $3, $4)
         on conflict (username) do nothing returning id`,
        [u.username, u.displayName, u.role, u.departmentId],
        client,
      );
      return rows[0]?.id ?? null;
    },

    async insertAgent(userId: number, extension: string, skills: string[], client: Queryable): Promise<number | null> {
      const { rows } = await db.query<{ id: number }>(
        `insert into agents (user_id, extension, skills) values ($1, $2, $3)
         on conflict (extension) do nothing returning id`,
        [userId, extension, skills],
        client,
      );
      return rows[0]?.id ?? null;
    },
  };
}

export type AuthRepo = ReturnType<typeof createAuthRepo>;
