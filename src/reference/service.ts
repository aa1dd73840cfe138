// Departments and the category tree (read-only reference data).
import type { Db } from '../infra/db';
import { createReferenceRepo } from './repo';

export interface DepartmentDto {
  id: number;
  code: string;
  name: string;
  phone: string | null;
  active: boolean;
}

export interface CategoryNode {
  id: number;
  code: string;
  name: string;
  sortOrder: number;
  active: boolean;
  children: CategoryNode[];
}

export function createReferenceService(deps: { db: Db }) {
  const repo = createReferenceRepo(deps.db);
  return {
    async listDepartments(opts: { includeInactive?: boolean } = {}): Promise<DepartmentDto[]> {
      return repo.listDepartments(opts.includeInactive ?? false);
    },
    /** Categories as a forest, siblings ordered by sort_order; a child of a hidden parent is hidden too. */
    async categoryTree(opts: { includeInactive?: boolean } = {}): Promise<CategoryNode[]> {
      const rows = await repo.listCategories(opts.includeInactive ?? false);
      const nodes = new Map<number, CategoryNode>();
      for (const r of rows) {
        nodes.set(r.id, { id: r.id, code: r.code, name: r.name, sortOrder: r.sort_order, active: r.active, children: [] });
      }
      const roots: CategoryNode[] = [];
      for (const r of rows) {
        const node = nodes.get(r.id)!;
        if (r.parent_id === null) roots.push(node);
        else nodes.get(r.parent_id)?.children.push(node);
      }
      return roots;
    },
  };
}

export type ReferenceService = ReturnType<typeof createReferenceService>;
