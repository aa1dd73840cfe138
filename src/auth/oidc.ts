// Optional OpenID Connect sign-in through the city's unified identity platform (统一身份认证), off unless
// OIDC_ISSUER is set. Authorization code flow with PKCE, state and nonce. Only users that already exist here can
// sign in (linked by the token's subject, first time by the username claim): the platform proves who someone is,
// this service still decides what their role is.
//
// The flow state cannot ride in the SameSite=Strict session cookie (the platform's redirect back is a cross-site
// navigation, which never carries Strict cookies): it lives in Redis for 10 minutes, keyed by a random id in a
// short-lived SameSite=Lax cookie.
import { randomBytes } from 'node:crypto';
import type { AuthConfig } from '../config';
import type { Redis } from '../infra/redis';
import { BadRequestError, ServiceUnavailableError } from '../infra/errors';
import type { Logger } from '../infra/logger';

type OidcConfig = NonNullable<AuthConfig['oidc']>;
type Client = typeof import('openid-client');

export const OIDC_COOKIE = 'h114_oidc';
const FLOW_TTL_SEC = 600;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
}

export function createOidc(deps: { config: OidcConfig; redis: Redis; logger: Logger }) {
  let lib: Client | null = null;
  let discovered: Promise<import('openid-client').Configuration> | null = null;

  async function client(): Promise<{ c: Client; conf: import('openid-client').Configuration }> {
    lib ??= await import('openid-client');
    const c = lib;
    discovered ??= c
      .discovery(
        new URL(deps.config.issuer),
        deps.config.clientId,
        deps.config.clientSecret || undefined,
        undefined,
        // http:// issuers only make sense on a closed network or in tests; https is the norm.
        new URL(deps.config.issuer).protocol === 'http:' ? { execute: [c.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        discovered = null; // try again next time
        deps.logger.warn({ err }, 'OpenID Connect discovery failed');
        throw new ServiceUnavailableError('统一身份认证平台暂时无法访问，请使用账号密码登录', 'oidc_unavailable');
      });
    return { c, conf: await discovered };
  }

  return {
    label: deps.config.label,

    /** The identity platform's authorization URL and the id of the flow (for the Lax cookie). */
    async start(next: string): Promise<{ url: string; flowId: string; maxAgeSec: number }> {
      const { c, conf } = await client();
      const flow: Flow = { verifier: c.randomPKCECodeVerifier(), state: c.randomState(), nonce: c.randomNonce(), next };
      const flowId = randomBytes(18).toString('base64url');
      await deps.redis.set(`oidc:${flowId}`, JSON.stringify(flow), 'EX', FLOW_TTL_SEC);
      const url = c.buildAuthorizationUrl(conf, {
        redirect_uri: deps.config.redirectUri,
        scope: 'openid profile',
        code_challenge: await c.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
        state: flow.state,
        nonce: flow.nonce,
      });
      return { url: url.href, flowId, maxAgeSec: FLOW_TTL_SEC };
    },

    /** Checks the platform's answer (state, nonce, PKCE, ID token) and returns who signed in. */
    async finish(flowId: string | undefined, query: string): Promise<{ subject: string; username: string | null; next: string }> {
      const raw = flowId ? await deps.redis.getdel(`oidc:${flowId}`) : null;
      if (!raw) throw new BadRequestError('统一身份认证登录已过期，请重新登录', 'oidc_flow_expired');
      const flow = JSON.parse(raw) as Flow;
      const { c, conf } = await client();
      const current = new URL(deps.config.redirectUri);
      current.search = query;
      let claims: Record<string, unknown> | undefined;
      try {
        const tokens = await c.authorizationCodeGrant(conf, current, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        deps.logger.warn({ err }, 'OpenID Connect sign-in refused');
        throw new BadRequestError('统一身份认证登录失败，请重试或使用账号密码登录', 'oidc_failed');
      }
      const subject = typeof claims?.sub === 'string' ? claims.sub : null;
      if (!subject) throw new BadRequestError('统一身份认证登录失败，请重试或使用账号密码登录', 'oidc_failed');
      const u = claims?.[deps.config.usernameClaim];
      return { subject, username: typeof u === 'string' ? u : null, next: flow.next };
    },
  };
}

export type Oidc = ReturnType<typeof createOidc>;
