import { Type, type TSchema } from 'typebox';
import { BEARER, requireRoles } from '../http/auth';
import { AUTH_ERRORS, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { ReferenceService } from './service';

const DepartmentSchema = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  name: Type.String(),
  phone: Nullable(Type.String()),
  active: Type.Boolean(),
});

// Recursive schemas do not survive fast-json-stringify + swagger nicely; the tree is documented two levels deep.
const node = (children: TSchema) =>
  Type.Object({
    id: Type.Integer(),
    code: Type.String(),
    name: Type.String(),
    sortOrder: Type.Integer(),
    active: Type.Boolean(),
    children,
  });
const CategoryTree = Type.Array(node(Type.Array(node(Type.Array(Type.Unknown())))));

const ListQuery = Type.Object({
  includeInactive: Type.Optional(Type.Boolean({ description: '包含已停用的条目' })),
});

export function referenceRoutes(fastify: FastifyTypeBox, reference: ReferenceService): void {
  fastify.get(
    '/api/departments',
    {
      onRequest: requireRoles(),
      schema: {
        tags: ['reference'],
        summary: '部门列表',
        security: BEARER,
        querystring: ListQuery,
        response: { 200: Type.Array(DepartmentSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => reference.listDepartments({ includeInactive: request.query.includeInactive }),
  );

  fastify.get(
    '/api/categories',
    {
      onRequest: requireRoles(),
      schema: {
        tags: ['reference'],
        summary: '诉求分类（树形）',
        security: BEARER,
        querystring: ListQuery,
        response: { 200: CategoryTree, ...AUTH_ERRORS },
      },
    },
    async (request) => reference.categoryTree({ includeInactive: request.query.includeInactive }),
  );
}
