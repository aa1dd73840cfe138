// The user and role types live with the HTTP layer that carries them (request.user); auth/ re-exports them.
export { ROLES, type AuthUser, type Role } from '../http/user';
