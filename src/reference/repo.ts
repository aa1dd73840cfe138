import type { Db } from '../infra/db';

export interface DepartmentRow {
  id: number;
  code: string;
  name: string;
  phone: string | null;
  active: boolean;
}

export interface CategoryRow {
  id: number;
  code: string;
  name: string;
  parent_id: number | null;
  sort_order: number;
  active: boolean;
}

export function createReferenceRepo(db: Db) {
  return {
    async listDepartments(includeInactive: boolean): Promise<DepartmentRow[]> {
      const { rows } = await db.query<DepartmentRow>(
        `select id, code, name, phone, active from departments where active or $1 order by id`,
        [includeInactive],
      );
      return rows;
    },
    async listCategories(includeInactive: boolean): Promise<CategoryRow[]> {
      const { rows } = await db.query<CategoryRow>(
        `select id, code, name, parent_id, sort_order, active from categories where active or $1
          order by sort_order, id`,
        [includeInactive],
      );
      return rows;
    },
  };
}
