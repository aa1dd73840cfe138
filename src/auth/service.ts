// Users and bearer tokens. Tokens are "h114_" + 32 random bytes (base64url); only their SHA-256 is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../infra/db';
import { BadRequestError, ConflictError, NotFoundError } from '../infra/errors';
import type { Logger } from '../infra/logger';
import { createAuthRepo, type TokenRow, type UserRow } from './repo';
import type { AuthUser, Role } from './types';

export const TOKEN_PREFIX = 'h114_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface UserDto {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  departmentId: number | null;
  departmentCode: string | null;
  departmentName: string | null;
  agentId: number | null;
  extension: string | null;
  active: boolean;
  createdAt: string;
}

export interface TokenDto {
  id: number;
  userId: number;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface CreateUserInput {
  username: string;
  displayName: string;
  role: Role;
  departmentCode?: string;
  /** Agent seat (extension) for role agent; creates the agents row. */
  extension?: string;
  skills?: string[];
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toUserDto(r: UserRow): UserDto {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    departmentId: r.department_id,
    departmentCode: r.department_code,
    departmentName: r.department_name,
    agentId: r.agent_id,
    extension: r.extension,
    active: r.active,
    createdAt: r.created_at.toISOString(),
  };
}

function toTokenDto(r: TokenRow): TokenDto {
  return {
    id: r.id,
    userId: r.user_id,
    label: r.label,
    createdAt: r.created_at.toISOString(),
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}

interface CacheEntry {
  user: AuthUser | null;
  tokenId: number | null;
  tokenExpiresAt: number | null;
  cachedUntil: number;
}

const CACHE_MAX = 10_000;
const TOUCH_EVERY_MS = 60_000;

export function createAuthService(deps: { db: Db; logger: Logger; cacheTtlMs?: number }) {
  const repo = createAuthRepo(deps.db);
  const ttl = deps.cacheTtlMs ?? 5000;
  // Token hash (hex) → result, for a few seconds: a revoke in this process drops it at once, other processes
  // see it within ttl.
  const cache = new Map<string, CacheEntry>();
  const lastTouch = new Map<number, number>();

  function touch(tokenId: number, lastUsedAt: Date | null) {
    const now = Date.now();
    const last = Math.max(lastTouch.get(tokenId) ?? 0, lastUsedAt?.getTime() ?? 0);
    if (now - last < TOUCH_EVERY_MS) return;
    lastTouch.set(tokenId, now);
    if (lastTouch.size > CACHE_MAX) lastTouch.clear();
    repo.touchToken(tokenId).catch((err: unknown) => deps.logger.warn({ err }, 'could not update token last_used_at'));
  }

  /** The user a raw bearer token belongs to, or null (unknown, revoked, expired, inactive user). */
  async function authenticateToken(raw: string | undefined | null): Promise<AuthUser | null> {
    if (!raw || !raw.startsWith(TOKEN_PREFIX) || raw.length > 200) return null;
    const hash = hashToken(raw);
    const key = hash.toString('hex');
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.cachedUntil > now && (hit.tokenExpiresAt === null || hit.tokenExpiresAt > now)) {
      return hit.user;
    }
    const row = await repo.findTokenUser(hash);
    const user: AuthUser | null = row
      ? {
          id: row.user_id,
          username: row.username,
          displayName: row.display_name,
          role: row.role,
          departmentId: row.department_id,
          agentId: row.agent_id,
        }
      : null;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, {
      user,
      tokenId: row?.token_id ?? null,
      tokenExpiresAt: row?.expires_at?.getTime() ?? null,
      cachedUntil: now + ttl,
    });
    if (row) touch(row.token_id, row.last_used_at);
    return user;
  }

  function forgetToken(tokenId: number) {
    for (const [k, v] of cache) if (v.tokenId === tokenId) cache.delete(k);
  }

  async function issueToken(
    userId: number,
    opts: { label?: string; expiresInDays?: number | null } = {},
  ): Promise<TokenDto & { token: string }> {
    const user = await repo.findUser(userId);
    if (!user) throw new NotFoundError('用户不存在', 'user_not_found');
    if (!user.active) throw new BadRequestError('该用户已停用，不能签发令牌', 'user_inactive');
    const token = generateToken();
    const row = await repo.insertToken(userId, hashToken(token), opts.label ?? '', opts.expiresInDays ?? null);
    return { ...toTokenDto(row), token };
  }

  async function issueTokenForUsername(username: string, label = 'cli'): Promise<TokenDto & { token: string; user: UserDto }> {
    const user = await repo.findUserByUsername(username);
    if (!user) throw new NotFoundError(`用户 ${username} 不存在`, 'user_not_found');
    const issued = await issueToken(user.id, { label });
    return { ...issued, user: toUserDto(user) };
  }

  async function revokeToken(tokenId: number): Promise<TokenDto> {
    const row = await repo.revokeToken(tokenId);
    if (!row) throw new NotFoundError('令牌不存在', 'token_not_found');
    forgetToken(tokenId);
    return toTokenDto(row);
  }

  async function listTokens(userId: number): Promise<TokenDto[]> {
    if (!(await repo.findUser(userId))) throw new NotFoundError('用户不存在', 'user_not_found');
    return (await repo.listTokens(userId)).map(toTokenDto);
  }

  async function createUser(input: CreateUserInput): Promise<UserDto> {
    if (input.role === 'department_staff' && !input.departmentCode) {
      throw new BadRequestError('部门工作人员必须指定所属部门', 'department_required');
    }
    if (input.extension && input.role !== 'agent' && input.role !== 'supervisor') {
      throw new BadRequestError('只有话务员或班长可以分配分机号', 'extension_not_allowed');
    }
    const id = await deps.db.withTransaction(async (tx) => {
      let departmentId: number | null = null;
      if (input.departmentCode) {
        departmentId = await repo.findDepartmentId(input.departmentCode, tx);
        if (departmentId === null) throw new BadRequestError(`部门 ${input.departmentCode} 不存在`, 'department_not_found');
      }
      const userId = await repo.insertUser(
        { username: input.username, displayName: input.displayName, role: input.role, departmentId },
        tx,
      );
      if (userId === null) throw new ConflictError(`用户名 ${input.username} 已存在`, 'username_taken');
      if (input.extension) {
        const agentId = await repo.insertAgent(userId, input.extension, input.skills ?? [], tx);
        if (agentId === null) throw new ConflictError(`分机号 ${input.extension} 已被占用`, 'extension_taken');
      }
      return userId;
    });
    return toUserDto((await repo.findUser(id))!);
  }

  async function listUsers(filter: { role?: Role } = {}): Promise<UserDto[]> {
    return (await repo.listUsers(filter)).map(toUserDto);
  }

  async function getUser(id: number): Promise<UserDto> {
    const row = await repo.findUser(id);
    if (!row) throw new NotFoundError('用户不存在', 'user_not_found');
    return toUserDto(row);
  }

  return {
    authenticateToken,
    issueToken,
    issueTokenForUsername,
    revokeToken,
    listTokens,
    createUser,
    listUsers,
    getUser,
    /** Drops every cached lookup (tests, or after bulk changes to users). */
    clearCache: () => cache.clear(),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
