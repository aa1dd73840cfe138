// Issue 11 item 2: one redaction function for personal data, table-driven with real-looking samples.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/infra/logger';
import { redactPersonalData } from '../../src/infra/redact';

const cases: [string, string, string][] = [
  // [what, input, expected]
  ['mobile, plain', '请回电13812345678谢谢', '请回电***5678谢谢'],
  ['mobile, dashes', '电话138-1234-5678', '电话***5678'],
  ['mobile, spaces', '手机 138 1234 5678。', '手机 ***5678。'],
  ['mobile, dots', '138.1234.5678', '***5678'],
  ['mobile, 3-4-4 with +86', '+86 138 1234 5678', '***5678'],
  ['mobile, +86-', '+86-13812345678', '***5678'],
  ['mobile, 0086', '008613912345678', '***5678'],
  ['mobile, 86 without plus', '8615912345678', '***5678'],
  ['mobile, (+86)', '(+86)186 0000 1234', '***1234'],
  ['mobile, full-width digits', '电话１３８１２３４５６７８', '电话***5678'],
  ['mobile, 3-3-5 odd grouping', '联系 1381 234 5678', '联系 ***5678'],
  ['landline, Beijing dash', '座机010-88886666', '座机***6666'],
  ['landline, brackets', '(010)88886666', '***6666'],
  ['landline, full-width brackets', '（0531）8888 6666', '***6666'],
  ['landline, 4-digit area, spaces', '0755 2345 6789', '***6789'],
  ['landline, extension 转', '010-88886666转123', '***6666'],
  ['landline, +86 without 0', '+86 10 8888 6666', '***6666'],
  ['landline, local two groups', '家里电话6512-3456', '家里电话***3456'],
  ['resident ID 18', '身份证110101199001011234', '身份证[身份证号]'],
  ['resident ID 18 with X', '证件号 11010519491231002X。', '证件号 [身份证号]。'],
  ['resident ID 18 grouped', '110101 19900101 1234', '[身份证号]'],
  ['resident ID 15 (old)', '老身份证110101900101123', '老身份证[身份证号]'],
  ['bank card 16 plain', '卡号6222021234567890', '卡号[银行卡号]'],
  ['bank card 19 grouped', '6217 0012 3456 7890 123', '[银行卡号]'],
  ['bank card 16 dashes', '6222-0212-3456-7890', '[银行卡号]'],
  ['e-mail', '邮箱wang.xiaoming+114@example.com.cn', '邮箱[邮箱]'],
  ['e-mail, upper case', 'ZHANG_SAN@163.COM', '[邮箱]'],
  ['any other long digit run', '编号9876543210', '编号***3210'],
  ['two numbers in one text', '王小明 138-1234-5678 110101199001011234 和平里5号楼3单元402室', '王小明 ***5678 [身份证号] 和平里5号楼3单元402室'],
];

const untouched: [string, string][] = [
  ['tracking number', '已并入工单 114-20261204-000123 一并办理'],
  ['date and time', '已于2026-12-04 08:30上门维修'],
  ['short numbers and house numbers', '5号楼3单元402室，室温12度，共3户'],
  ['money', '退费1,280元'],
  ['hotline numbers are short', '请拨打12345或114'],
];

describe('redactPersonalData', () => {
  test.each(cases)('%s', (_what, input, expected) => {
    expect(redactPersonalData(input)).toBe(expected);
  });

  test.each(untouched)('leaves %s alone', (_what, input) => {
    expect(redactPersonalData(input)).toBe(input);
  });

  test('idempotent; null and empty pass through', () => {
    for (const [, input] of cases) {
      const once = redactPersonalData(input);
      expect(redactPersonalData(once)).toBe(once);
    }
    expect(redactPersonalData(null)).toBeNull();
    expect(redactPersonalData(undefined)).toBeUndefined();
    expect(redactPersonalData('')).toBe('');
  });

  test('no digit of a masked mobile survives except the last four', () => {
    const out = redactPersonalData('甲13812345678乙+86 139-0000-1111丙');
    expect(out).toBe('甲***5678乙***1111丙');
    expect(out).not.toMatch(/1381|1390/);
  });
});

describe('logs use the same redaction', () => {
  test('messages and error texts (e.g. a PostgreSQL detail quoting the row) are redacted', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info('callback requested by 138-1234-5678 (id 110101199001011234)');
    const err = Object.assign(new Error('duplicate key value for wang@example.com'), { detail: 'Key (contact_phone)=(13812345678) already exists.' });
    log.error({ err }, 'insert failed');
    await new Promise((r) => setImmediate(r));
    const text = lines.join('');
    expect(text).toContain('***5678');
    expect(text).toContain('[身份证号]');
    expect(text).toContain('[邮箱]');
    for (const leaked of ['1234-5678', '13812345678', '110101199001011234', 'wang@example.com']) expect(text).not.toContain(leaked);
  });
});
