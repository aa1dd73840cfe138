import { build, type TestApp, type TestUser } from '../helpers/build';

let t: TestApp;
let admin: TestUser;
let dispatcher: TestUser;
let apiKey: string;

beforeAll(async () => {
  t = await build();
  await t.app.db.query(`insert into departments (code, name) values ('heating', '供热公司')`);
  const help = (await t.app.db.query<{ id: number }>(`insert into categories (code, name) values ('help', '求助') returning id`)).rows[0]!.id;
  await t.app.db.query(
    `insert into categories (code, name, parent_id) values ('help-heating', '供暖', $1), ('help-manhole', '井盖', $1)`,
    [help],
  );
  admin = await t.createUser('admin');
  dispatcher = await t.createUser('dispatcher');
  const c = await t.inject({ method: 'POST', url: '/api/admin/open311-clients', headers: admin.headers, payload: { name: '城市服务APP' } });
  expect(c.statusCode).toBe(201);
  apiKey = (c.json() as { apiKey: string }).apiKey;
});
afterAll(async () => t.close());

async function submit(payload: Record<string, unknown>) {
  return t.inject({ method: 'POST', url: '/api/public/requests', payload, remoteAddress: `10.0.0.${Math.floor(Math.random() * 200) + 1}` });
}

describe('public web intake', () => {
  test('a request becomes a draft web case with a tracking number; lookup shows status and reply, nothing personal', async () => {
    const res = await submit({ category: 'help-heating', description: '家里暖气不热，室温只有十二度。联系我13812345678', location: '幸福小区3号楼2单元', name: '张三', phone: '138-1234-5678' });
    expect(res.statusCode).toBe(201);
    const { trackingNo, lookupCode } = res.json() as { trackingNo: string; lookupCode: string | null };
    expect(trackingNo).toMatch(/^114-\d{8}-\d{6}$/);
    expect(lookupCode).toBeNull();
    const { rows } = await t.app.db.query<{ channel: string; status: string; contact_phone: string; contact_name: string }>(
      `select channel, status, contact_phone, contact_name from cases where tracking_no = $1`, [trackingNo]);
    expect(rows[0]).toEqual({ channel: 'web', status: 'draft', contact_phone: '13812345678', contact_name: '张三' });
    // the dispatcher finds it by keyword
    const s = await t.inject({ method: 'GET', url: '/api/search', query: { q: '暖气不热', types: 'requests' }, headers: dispatcher.headers });
    expect((s.json() as { items: { trackingNo: string }[] }).items.map((i) => i.trackingNo)).toEqual([trackingNo]);

    await t.app.db.query(`update cases set status = 'resolved', reply = '已上门维修，阀门已打开。回电13812345678', resolved_at = now() where tracking_no = $1`, [trackingNo]);
    const look = await t.inject({ method: 'GET', url: `/api/public/requests/${trackingNo}`, query: { phoneLast4: '5678' } });
    expect(look.statusCode).toBe(200);
    const body = look.json() as Record<string, unknown>;
    expect(body).toMatchObject({ trackingNo, status: 'resolved', categoryName: '供暖', reply: '已上门维修，阀门已打开。回电***5678' });
    const text = JSON.stringify(body);
    expect(text).not.toContain('张三');
    expect(text).not.toContain('13812345678');
    expect(text).not.toContain('幸福小区');
    expect((await t.inject({ method: 'GET', url: `/api/public/requests/${trackingNo}`, query: { phoneLast4: '0000' } })).statusCode).toBe(404);
    expect((await t.inject({ method: 'GET', url: '/api/public/requests/114-20000101-000001', query: { phoneLast4: '5678' } })).statusCode).toBe(404);
  });

  test('without a phone number the resident gets a lookup code', async () => {
    const res = await submit({ category: 'help-manhole', description: '路口井盖缺失', location: '经十路与历山路路口' });
    const { trackingNo, lookupCode } = res.json() as { trackingNo: string; lookupCode: string };
    expect(lookupCode).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}$/);
    expect((await t.inject({ method: 'GET', url: `/api/public/requests/${trackingNo}`, query: { code: lookupCode } })).statusCode).toBe(200);
    // typed loosely: lower case, spaces instead of dashes
    const loose = lookupCode.toLowerCase().replace(/-/g, ' ');
    expect((await t.inject({ method: 'GET', url: `/api/public/requests/${trackingNo}`, query: { code: loose } })).statusCode).toBe(200);
  });

  test('validation: oversized text, unknown category, bad phone, missing fields → 400 in Chinese', async () => {
    for (const payload of [
      { category: 'help-heating', description: '字'.repeat(4001), location: '某地' },
      { category: 'no-such', description: '暖气不热', location: '某地' },
      { category: 'help-heating', description: '暖气不热', location: '某地', phone: 'abc' },
      { category: 'help-heating', description: '   ', location: '某地' },
      { category: 'help-heating', location: '某地' },
      { category: 'help-heating', description: '暖气不热', location: '某地', extra: 1 },
    ]) {
      const res = await submit(payload);
      expect(res.statusCode).toBe(400);
      expect((res.json() as { message: string }).message).toMatch(/[\u4e00-\u9fff]/);
    }
    expect((await t.inject({ method: 'GET', url: '/api/public/requests/x', query: { phoneLast4: '12' } })).statusCode).toBe(400);
  });

  test('rate limited per client address (429 with a Chinese message)', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await t.inject({ method: 'POST', url: '/api/public/requests', remoteAddress: '192.0.2.77', payload: { category: 'help-heating', description: `第${i}次`, location: '某地' } });
      codes.push(res.statusCode);
      if (res.statusCode === 429) expect((res.json() as { error: string; message: string })).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('请求过于频繁') });
    }
    expect(codes.filter((c) => c === 201)).toHaveLength(10);
    expect(codes.slice(10)).toEqual([429, 429]);
    // authenticated routes are not limited by it
    const other = await t.inject({ method: 'GET', url: '/api/search', query: { q: '井盖' }, headers: admin.headers, remoteAddress: '192.0.2.77' });
    expect(other.statusCode).toBe(200);
  });
});

describe('Open311 GeoReport v2', () => {
  const REQUEST_FIELDS = ['service_request_id', 'status', 'status_notes', 'service_name', 'service_code', 'description', 'agency_responsible',
    'service_notice', 'requested_datetime', 'updated_datetime', 'expected_datetime', 'address', 'address_id', 'zipcode', 'lat', 'long', 'media_url', 'extended_attributes'];
  let requestId: string;

  test('services and service definitions', async () => {
    const res = await t.inject({ method: 'GET', url: '/open311/v2/services.json' });
    expect(res.statusCode).toBe(200);
    const services = res.json() as Record<string, unknown>[];
    expect(services.find((s) => s.service_code === 'help-heating')).toEqual({
      service_code: 'help-heating', service_name: '供暖', description: '求助 - 供暖', metadata: true, type: 'realtime', keywords: '供暖,求助', group: '求助',
    });
    const def = await t.inject({ method: 'GET', url: '/open311/v2/services/help-manhole.json' });
    expect(def.statusCode).toBe(200);
    const d = def.json() as { service_code: string; attributes: { code: string; required: boolean; datatype: string; values?: unknown[] }[] };
    expect(d.service_code).toBe('help-manhole');
    expect(d.attributes.find((a) => a.code === 'hazard')).toMatchObject({ required: true, datatype: 'singlevaluelist' });
    const xml = await t.inject({ method: 'GET', url: '/open311/v2/services.xml' });
    expect(xml.headers['content-type']).toContain('application/xml');
    expect(xml.body).toContain('<services><service><service_code>');
    const unknown = await t.inject({ method: 'GET', url: '/open311/v2/services/nope.json' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual([{ code: 404, description: expect.stringContaining('nope') }]);
  });

  test('POST requests (form encoded, api_key) and GET it back with spec field names and extensions', async () => {
    const form = new URLSearchParams({
      api_key: apiKey, service_code: 'help-manhole', description: '人行道井盖缺失，晚上很危险', lat: '36.6512', long: '117.1201',
      address_string: '历下区泉城路100号', 'attribute[hazard]': 'missing', email: 'a@example.com', first_name: '三', last_name: '张', phone: '13900001111',
    });
    const res = await t.inject({ method: 'POST', url: '/open311/v2/requests.json', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    expect(res.statusCode).toBe(201);
    const created = res.json() as { service_request_id: string; service_notice: string }[];
    expect(created).toHaveLength(1);
    requestId = created[0]!.service_request_id;
    expect(requestId).toMatch(/^114-\d{8}-\d{6}$/);

    const one = await t.inject({ method: 'GET', url: `/open311/v2/requests/${requestId}.json` });
    expect(one.statusCode).toBe(200);
    const [r] = one.json() as Record<string, unknown>[];
    expect(Object.keys(r!).sort()).toEqual([...REQUEST_FIELDS].sort());
    // the public view: street without the house number, coordinates moved to a grid centre (issue 11)
    expect(r).toMatchObject({ service_request_id: requestId, status: 'open', service_code: 'help-manhole', service_name: '井盖', address: '历下区泉城路', description: null });
    expect(Math.abs((r!.lat as number) - 36.6512)).toBeLessThan(0.005);
    expect(Math.abs((r!.long as number) - 117.1201)).toBeLessThan(0.005);
    expect(r!.lat).not.toBe(36.6512);
    expect((r!.extended_attributes as { h114_status: string; history: { status: string }[] }).h114_status).toBe('draft');
    expect((r!.extended_attributes as { history: { status: string }[] }).history.map((h) => h.status)).toEqual(['draft']);
    const text = JSON.stringify(r);
    expect(text).not.toContain('13900001111');
    expect(text).not.toContain('a@example.com');

    // JSON bodies too, then list filters
    const j = await t.inject({ method: 'POST', url: '/open311/v2/requests.json', payload: { api_key: apiKey, service_code: 'help-heating', description: '暖气不热', address_string: '某小区', attribute: { room_temperature: 14 } } });
    expect(j.statusCode).toBe(201);
    const second = (j.json() as { service_request_id: string }[])[0]!.service_request_id;
    await t.app.db.query(`update cases set status = 'closed' where tracking_no = $1`, [second]);

    const list = async (query: Record<string, string>) => {
      const res = await t.inject({ method: 'GET', url: '/open311/v2/requests.json', query });
      expect(res.statusCode).toBe(200);
      return (res.json() as { service_request_id: string; status: string }[]).map((x) => x.service_request_id);
    };
    expect(await list({ service_request_id: `${requestId},${second}` })).toEqual(expect.arrayContaining([requestId, second]));
    expect(await list({ service_code: 'help-manhole' })).toHaveLength(2); // this one and the web request of the earlier test
    expect((await list({ service_code: 'help-manhole' }))[0]).toBe(requestId);
    expect(await list({ status: 'closed' })).toContain(second);
    expect(await list({ status: 'open' })).not.toContain(second);
    expect(await list({ status: 'open', service_code: 'help-heating' })).not.toContain(second);
    expect(await list({ start_date: '2000-01-01T00:00:00Z', end_date: '2000-02-01T00:00:00Z' })).toEqual([]);
    const closed = await t.inject({ method: 'GET', url: `/open311/v2/requests/${second}.json` });
    expect((closed.json() as { status: string }[])[0]!.status).toBe('closed');

    const xml = await t.inject({ method: 'GET', url: `/open311/v2/requests/${requestId}.xml` });
    expect(xml.body).toContain(`<service_requests><request><service_request_id>${requestId}</service_request_id>`);
  });

  test('bad input answers the spec error format, never 5xx', async () => {
    const post = (payload: Record<string, unknown>) => t.inject({ method: 'POST', url: '/open311/v2/requests.json', payload });
    const cases: [Promise<{ statusCode: number; json: () => unknown }>, number][] = [
      [post({ service_code: 'help-heating', description: '暖气不热', address_string: '某地' }), 400], // missing api_key
      [post({ api_key: 'wrong', service_code: 'help-heating', description: '暖气不热', address_string: '某地' }), 403],
      [post({ api_key: apiKey, service_code: 'nope', description: '暖气不热', address_string: '某地' }), 400],
      [post({ api_key: apiKey, service_code: 'help-heating', description: '字'.repeat(4001), address_string: '某地' }), 400],
      [post({ api_key: apiKey, service_code: 'help-heating', description: '暖气不热' }), 400], // no location
      [post({ api_key: apiKey, service_code: 'help-manhole', description: '井盖', address_string: '某地' }), 400], // required attribute
      [post({ api_key: apiKey, service_code: 'help-manhole', description: '井盖', address_string: '某地', 'attribute[hazard]': 'gone' }), 400],
      [post({ api_key: apiKey, service_code: 'help-heating', description: '暖气', lat: '999', long: '1' }), 400],
      [t.inject({ method: 'GET', url: '/open311/v2/requests.json', query: { start_date: 'yesterday' } }), 400],
      [t.inject({ method: 'GET', url: '/open311/v2/requests.json', query: { start_date: '2026-01-01T00:00:00Z', end_date: '2026-06-01T00:00:00Z' } }), 400],
      [t.inject({ method: 'GET', url: '/open311/v2/requests.json', query: { start_date: '2026-06-01', end_date: '2026-01-01' } }), 400],
      [t.inject({ method: 'GET', url: '/open311/v2/requests.json', query: { status: 'pending' } }), 400],
      [t.inject({ method: 'GET', url: '/open311/v2/requests/114-20000101-000009.json' }), 404],
      [t.inject({ method: 'GET', url: '/open311/v2/nothing.json' }), 404],
      [t.inject({ method: 'POST', url: '/open311/v2/requests.json', headers: { 'content-type': 'application/json' }, payload: '{bad json' }), 400],
    ];
    for (const [p, status] of cases) {
      const res = await p;
      expect(res.statusCode).toBe(status);
      const body = res.json() as { code: number; description: string }[];
      expect(Array.isArray(body)).toBe(true);
      expect(body[0]).toEqual({ code: status, description: expect.stringMatching(/\S/) });
    }
    const xml = await t.inject({ method: 'GET', url: '/open311/v2/requests.xml', query: { status: 'pending' } });
    expect(xml.statusCode).toBe(400);
    expect(xml.body).toContain('<errors><error><code>400</code><description>');
  });

  test('revoked api keys are refused; client admin is admin-only', async () => {
    const c = await t.inject({ method: 'POST', url: '/api/admin/open311-clients', headers: admin.headers, payload: { name: '临时' } });
    const { id, apiKey: key } = c.json() as { id: number; apiKey: string };
    expect((await t.inject({ method: 'DELETE', url: `/api/admin/open311-clients/${id}`, headers: admin.headers })).statusCode).toBe(204);
    const res = await t.inject({ method: 'POST', url: '/open311/v2/requests.json', payload: { api_key: key, service_code: 'help-heating', description: '暖气', address_string: '某地' } });
    expect(res.statusCode).toBe(403);
    expect((await t.inject({ method: 'GET', url: '/api/admin/open311-clients', headers: dispatcher.headers })).statusCode).toBe(403);
    const list = await t.inject({ method: 'GET', url: '/api/admin/open311-clients', headers: admin.headers });
    expect(JSON.stringify(list.json())).not.toContain(key);
  });
});
