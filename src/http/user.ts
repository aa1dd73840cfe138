// Who calls an API route (request.user) and the roles a route may require; src/auth issues and checks the tokens.
export const ROLES = ['agent', 'dispatcher', 'department_staff', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller of an API route (request.user). */
export interface AuthUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  departmentId: number | null;
  /** agents.id when this user is an agent (or has an agent seat), else null. */
  agentId: number | null;
}

/** A cookie session's user: the session is dead when its epoch is behind the user's (signed out everywhere). */
export interface SessionUser {
  user: AuthUser;
  epoch: number;
  mustChangePassword: boolean;
}
