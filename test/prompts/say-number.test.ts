// Chinese number reading for the queue announcements, and the prompt names against the text table.
import {
  ALL_SOUNDS,
  MAX_SAY_NUMBER,
  NUMBER_SOUNDS,
  PROMPTS,
  expectedWaitAnnouncement,
  positionAnnouncement,
  sayNumber,
  soundMedia,
} from '../../src/calls/prompts';
import { loadPromptTable } from '../../src/cli/prompts';

// Sound names → the characters they say, so the table below reads as Chinese.
const CHAR: Record<string, string> = {
  ...Object.fromEntries(NUMBER_SOUNDS.digits.map((s, i) => [s, '零一二三四五六七八九'[i] as string])),
  [NUMBER_SOUNDS.ten]: '十',
  [NUMBER_SOUNDS.hundred]: '百',
  [NUMBER_SOUNDS.thousand]: '千',
  [NUMBER_SOUNDS.tenThousand]: '万',
  [NUMBER_SOUNDS.hundredMillion]: '亿',
  [NUMBER_SOUNDS.liang]: '两',
};
const read = (names: string[]) => names.map((n) => CHAR[n] ?? `<${n}>`).join('');

describe('sayNumber', () => {
  it.each([
    [0, '零'],
    [1, '一'],
    [2, '二'],
    [9, '九'],
    [10, '十'],
    [11, '十一'],
    [19, '十九'],
    [20, '二十'],
    [23, '二十三'],
    [99, '九十九'],
    [100, '一百'],
    [101, '一百零一'],
    [105, '一百零五'],
    [110, '一百一十'],
    [111, '一百一十一'],
    [200, '两百'],
    [222, '两百二十二'],
    [1000, '一千'],
    [1001, '一千零一'],
    [1005, '一千零五'],
    [1010, '一千零一十'],
    [1100, '一千一百'],
    [1200, '一千二百'],
    [2000, '两千'],
    [2020, '两千零二十'],
    [9999, '九千九百九十九'],
    [10000, '一万'],
    [10001, '一万零一'],
    [10010, '一万零一十'],
    [10100, '一万零一百'],
    [11000, '一万一千'],
    [12000, '一万二千'],
    [20000, '两万'],
    [20300, '两万零三百'],
    [22000, '两万二千'],
    [100000, '十万'],
    [100005, '十万零五'],
    [120000, '十二万'],
    [1000000, '一百万'],
    [1010000, '一百零一万'],
    [10000000, '一千万'],
    [20000000, '两千万'],
    [12345678, '一千二百三十四万五千六百七十八'],
    [99999999, '九千九百九十九万九千九百九十九'],
    [100000000, '一亿'],
    [100000005, '一亿零五'],
    [100100000, '一亿零一十万'],
    [200000000, '两亿'],
    [1000000000, '十亿'],
    [123456789012, '一千二百三十四亿五千六百七十八万九千零一十二'],
  ])('%d → %s', (n, chinese) => {
    expect(read(sayNumber(n))).toBe(chinese);
  });

  it('returns the sound names themselves', () => {
    expect(sayNumber(23)).toEqual(['hotline114/num/2', 'hotline114/num/10', 'hotline114/num/3']);
    expect(sayNumber(10)).toEqual(['hotline114/num/10']);
    expect(sayNumber(105)).toEqual(['hotline114/num/1', 'hotline114/num/100', 'hotline114/num/0', 'hotline114/num/5']);
    expect(sayNumber(0)).toEqual(['hotline114/num/0']);
  });

  it('counting: a lone 2 before a measure word is 两, other numbers read the same', () => {
    expect(read(sayNumber(2, { counting: true }))).toBe('两');
    for (const n of [1, 3, 12, 20, 22, 102, 200, 20300]) {
      expect(sayNumber(n, { counting: true })).toEqual(sayNumber(n));
    }
  });

  it.each([-1, 1.5, NaN, Infinity, MAX_SAY_NUMBER + 1])('rejects %p', (n) => {
    expect(() => sayNumber(n)).toThrow(RangeError);
  });

  it('reads the largest supported number', () => {
    expect(read(sayNumber(MAX_SAY_NUMBER))).toBe('九千九百九十九亿九千九百九十九万九千九百九十九');
  });
});

describe('announcements', () => {
  it('您前面还有 N 位来电在等候, 预计等待时间约 N 分钟', () => {
    expect(positionAnnouncement(2)).toEqual(['hotline114/position-before', 'hotline114/num/2-liang', 'hotline114/position-after']);
    expect(read(positionAnnouncement(15).slice(1, -1))).toBe('十五');
    expect(expectedWaitAnnouncement(1.2)).toEqual(['hotline114/expected-wait-before', 'hotline114/num/2-liang', 'hotline114/expected-wait-after']);
    expect(expectedWaitAnnouncement(0)).toEqual(['hotline114/expected-wait-before', 'hotline114/num/1', 'hotline114/expected-wait-after']);
    expect(soundMedia([PROMPTS.welcome])).toEqual(['sound:hotline114/welcome']);
  });
});

describe('prompt names and the text table (sounds/prompts.json)', () => {
  const table = loadPromptTable();

  it('has exactly one entry, with text, for every sound the service uses', () => {
    const inTable = table.map((e) => `hotline114/${e.name}`).sort();
    expect(inTable).toEqual([...ALL_SOUNDS].sort());
    expect(new Set(inTable).size).toBe(inTable.length);
    for (const e of table) expect(e.text.trim()).not.toBe('');
  });

  it('keeps the survey defaults of src/config.ts', () => {
    expect(PROMPTS.survey).toBe('hotline114/survey');
    expect(PROMPTS.thanks).toBe('hotline114/thanks');
  });

  it('has the wording of the brief and reads 114 as 幺幺四', () => {
    const byName = new Map(table.map((e) => [e.name, e]));
    expect(byName.get('welcome')?.text).toContain('欢迎致电114阳光政务服务热线');
    expect(byName.get('welcome')?.spoken).toContain('幺幺四');
    expect(byName.get('welcome')?.spoken).not.toContain('114');
    expect(byName.get('survey')?.text).toBe('请对本次服务进行评价，满意请按1，基本满意请按2，不满意请按3。');
    expect(byName.get('num/2-liang')?.text).toBe('两');
    expect(table.filter((e) => e.number).map((e) => e.name).every((n) => n.startsWith('num/'))).toBe(true);
  });
});
