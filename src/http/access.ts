// Who may call each route, declared on the route and collected into one table, so a test can walk every route ×
// every role and fail on a route nobody declared (test/http/access.test.ts).
//
// Two ways to declare, nothing else counts:
//   - onRequest: requireRoles('agent', …)  — the guard records its roles (src/http/auth.ts); no change needed.
//   - config: { access: { public: 'why no sign-in is needed' } }  — a route anyone may call, or
//     config: { access: { roles: ['supervisor'], note: 'how it checks' } }  — a route that authenticates itself
//     (WebSocket/SSE) but must still refuse other roles, or
//     config: { access: { secret: 'METRICS_TOKEN' } }  — a machine credential, no user token opens it.
// declarePublicScope(instance, reason) marks every route of an encapsulated plugin public (Swagger UI, static pages).
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Role } from './user';
import type { FastifyTypeBox } from './types';

export type RouteAccess =
  /** No sign-in: the reason says why (health probe, public intake, Open311, static page…). */
  | { public: string }
  /** Signed-in users of these roles (empty = any signed-in user); `note` says how a custom guard checks. */
  | { roles: readonly Role[]; note?: string }
  /** A machine credential instead of a user (e.g. METRICS_TOKEN): no user token opens it. */
  | { secret: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route (see src/http/access.ts); not needed when onRequest uses requireRoles(). */
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every route registered so far with its declared access (null = undeclared: a test fails on it). */
    routeAccess(): RouteAccessEntry[];
  }
}

export interface RouteAccessEntry {
  method: string;
  url: string;
  /** null when the route declares nothing (a bug the route × role test reports). */
  access: RouteAccess | null;
  websocket: boolean;
  /** Why the declaration is invalid (e.g. public and guarded at once), or null. */
  conflict: string | null;
}

const guardRoles = new WeakMap<object, readonly Role[]>();

/** Called by requireRoles(): remembers which roles a guard function lets through. */
export function markRoleGuard(guard: object, roles: readonly Role[]): void {
  guardRoles.set(guard, roles);
}

function rolesFromHooks(hooks: unknown): readonly Role[] | null {
  const list = Array.isArray(hooks) ? hooks : hooks ? [hooks] : [];
  for (const h of list) {
    const roles = typeof h === 'function' ? guardRoles.get(h) : undefined;
    if (roles) return roles;
  }
  return null;
}

function sameRoles(a: readonly Role[], b: readonly Role[]): boolean {
  return a.length === b.length && a.every((r) => b.includes(r));
}

/** The access a route ends up with, read after every onRoute hook ran (scopes may add theirs after ours). */
function resolve(route: RouteOptions): Pick<RouteAccessEntry, 'access' | 'conflict'> {
  const declared = route.config?.access ?? null;
  const guarded = rolesFromHooks(route.onRequest) ?? rolesFromHooks(route.preHandler);
  if (declared && !('roles' in declared)) {
    return guarded ? { access: declared, conflict: 'declared public/secret but guarded by requireRoles()' } : { access: declared, conflict: null };
  }
  if (declared && guarded && !sameRoles(declared.roles, guarded)) {
    return { access: declared, conflict: `config.access roles [${declared.roles.join(',')}] differ from requireRoles(${guarded.join(',')})` };
  }
  if (declared) return { access: declared, conflict: null };
  return { access: guarded ? { roles: guarded } : null, conflict: null };
}

/** Registers the collector; call on the root instance before any route (app.ts does, first thing). */
export function registerRouteAccess(fastify: FastifyTypeBox): void {
  const routes: RouteOptions[] = [];
  fastify.addHook('onRoute', (route) => {
    routes.push(route as RouteOptions);
  });
  fastify.decorate('routeAccess', () =>
    routes.flatMap((route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const r = resolve(route);
      return methods.map((method) => ({ method, url: route.url, websocket: Boolean((route as { websocket?: boolean }).websocket), ...r }));
    }),
  );
}

/** Marks every route registered in this encapsulated instance (and its children) public, unless declared otherwise. */
export function declarePublicScope(instance: FastifyTypeBox | FastifyInstance, reason: string): void {
  (instance as FastifyInstance).addHook('onRoute', (route) => {
    if (route.config?.access) return;
    route.config = { ...route.config, access: { public: reason } };
  });
}
