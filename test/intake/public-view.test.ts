// Issue 11 item 1: Open311 GET (and every unauthenticated read) answers only the public view of a request.
import { snapToGrid, streetOf } from '../../src/intake/public-view';
import { build, type TestApp, type TestUser } from '../helpers/build';

const PERSONAL = ['王小明', '138-1234-5678', '13812345678', '110101199001011234', '和平里5号楼3单元402室', '5号楼', '402室', 'wxm@example.com'];

let t: TestApp;
let dispatcher: TestUser;
let agent: TestUser;
let trackingNo: string;
let caseId: number;

function expectNothingPersonal(body: string) {
  for (const s of PERSONAL) expect(body).not.toContain(s);
}

beforeAll(async () => {
  t = await build();
  await t.app.db.query(`insert into categories (code, name) values ('complaint-noise', '噪音')`);
  dispatcher = await t.createUser('dispatcher');
  agent = await t.createUser('agent');
  const res = await t.inject({
    method: 'POST',
    url: '/api/public/requests',
    payload: {
      category: 'complaint-noise',
      description: '王小明 138-1234-5678 110101199001011234 和平里5号楼3单元402室 楼上每晚施工，邮箱 wxm@example.com',
      location: '和平里5号楼3单元402室',
      name: '王小明',
      phone: '138-1234-5678',
    },
  });
  expect(res.statusCode).toBe(201);
  trackingNo = (res.json() as { trackingNo: string }).trackingNo;
  caseId = (await t.app.db.query<{ id: number }>(`select id from cases where tracking_no = $1`, [trackingNo])).rows[0]!.id;
});
afterAll(async () => {
  await t?.close();
});

describe('unauthenticated Open311 reads', () => {
  test('one request (.json and .xml): none of the resident’s name, phone, ID number or house address', async () => {
    for (const ext of ['json', 'xml']) {
      const res = await t.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.${ext}` });
      expect(res.statusCode).toBe(200);
      expectNothingPersonal(res.body);
    }
    const [r] = (await t.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.json` })).json() as Record<string, unknown>[];
    expect(r).toMatchObject({ service_request_id: trackingNo, service_name: '噪音', status: 'open', description: null, address: '和平里', address_id: null, media_url: null });
    expect(r!.extended_attributes).toMatchObject({ description_public: false, location_precision: 'street' });
  });

  test('the list (status=open), in both formats, carries nothing personal either', async () => {
    for (const ext of ['json', 'xml']) {
      const res = await t.inject({ method: 'GET', url: `/open311/v2/requests.${ext}`, query: { status: 'open' } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(trackingNo);
      expectNothingPersonal(res.body);
    }
  });

  test('the portal lookup with the right phone digits shows status, not the description', async () => {
    const res = await t.inject({ method: 'GET', url: `/api/public/requests/${trackingNo}`, query: { phoneLast4: '5678' } });
    expect(res.statusCode).toBe(200);
    expectNothingPersonal(res.body);
  });

  test('the agency’s reply is published redacted', async () => {
    await t.app.db.query(`update cases set reply = '已联系住户（电话 138 1234 5678）停止夜间施工' where id = $1`, [caseId]);
    const [r] = (await t.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.json` })).json() as { status_notes: string }[];
    expect(r!.status_notes).toBe('已联系住户（电话 ***5678）停止夜间施工');
  });

  test('discovery.json says what is public and what is not', async () => {
    const res = await t.inject({ method: 'GET', url: '/open311/v2/discovery.json' });
    expect(res.statusCode).toBe(200);
    const d = res.json() as { h114_privacy: string; endpoints: { url: string }[] };
    expect(d.h114_privacy).toContain('不公开');
    expect(d.h114_privacy).toContain('姓名');
    expect(d.endpoints[0]!.url).toMatch(/\/open311\/v2$/);
  });
});

describe('publishing a description after review', () => {
  test('only dispatcher/supervisor/admin may publish; who and when are kept; the published text is redacted', async () => {
    const put = (user: TestUser | null, descriptionPublic: boolean) =>
      t.inject({ method: 'PUT', url: `/api/cases/${caseId}/publication`, headers: user?.headers ?? {}, payload: { descriptionPublic } });
    expect((await put(null, true)).statusCode).toBe(401);
    expect((await put(agent, true)).statusCode).toBe(403);
    const ok = await put(dispatcher, true);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ caseId, descriptionPublic: true });
    const { rows } = await t.app.db.query<{ by: number; at: Date | null }>(`select description_public_by as by, description_public_at as at from cases where id = $1`, [caseId]);
    expect(rows[0]!.by).toBe(dispatcher.id);
    expect(rows[0]!.at).toBeInstanceOf(Date);

    const [r] = (await t.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.json` })).json() as { description: string; extended_attributes: { description_public: boolean } }[];
    expect(r!.extended_attributes.description_public).toBe(true);
    expect(r!.description).toContain('楼上每晚施工');
    for (const s of ['138-1234-5678', '110101199001011234', 'wxm@example.com']) expect(r!.description).not.toContain(s);

    expect((await put(dispatcher, false)).statusCode).toBe(200);
    const [again] = (await t.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.json` })).json() as { description: string | null }[];
    expect(again!.description).toBeNull();
    expect((await t.inject({ method: 'PUT', url: '/api/cases/999999/publication', headers: dispatcher.headers, payload: { descriptionPublic: true } })).statusCode).toBe(404);
  });
});

describe('coarse location', () => {
  test.each([
    ['和平里5号楼3单元402室', '和平里'],
    ['北京市东城区和平里五号楼三单元', '北京市东城区和平里'],
    ['历下区泉城路100号', '历下区泉城路'],
    ['幸福小区3号楼2单元', '幸福小区'],
    ['朝阳区三里屯路19号院', '朝阳区三里屯路'],
    ['经十路与历山路路口', '经十路与历山路路口'],
    ['5号楼', null],
    ['12栋1203', null],
    ['望京SOHO T1 1203', '望京SOHO'],
  ])('%s → %s', (address, street) => {
    expect(streetOf(address)).toBe(street);
  });

  test('grid snapping: points in one cell share its centre, never the exact point', () => {
    const a = snapToGrid(36.6512, 117.1201, 500);
    const b = snapToGrid(36.6514, 117.1203, 500);
    expect(a).toEqual(b);
    expect(a).not.toEqual({ lat: 36.6512, long: 117.1201 });
    expect(Math.abs(a.lat - 36.6512)).toBeLessThan(500 / 111_320);
  });

  test('PUBLIC_LOCATION=grid publishes no address text at all', async () => {
    const g = await build({ schema: t.schema, env: { PUBLIC_LOCATION: 'grid' } });
    try {
      const [r] = (await g.inject({ method: 'GET', url: `/open311/v2/requests/${trackingNo}.json` })).json() as { address: string | null; extended_attributes: { location_precision: string } }[];
      expect(r!.address).toBeNull();
      expect(r!.extended_attributes.location_precision).toBe('grid');
    } finally {
      await g.app.close();
    }
  });
});
