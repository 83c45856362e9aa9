import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parseExposition, samplesOf, valueOf } from '../support/prometheus-text';

describe('parseExposition', () => {
  test('reads samples, labels, special values (any case), timestamps and TYPE lines', () => {
    const text = [
      '# HELP a_total Things.',
      '# TYPE a_total counter',
      'a_total{environment="dev",table="plan_series"} 42',
      'a_total{environment="dev",table="plans",} 3 1700000000000',
      '# TYPE g gauge',
      'g 1.5e+3',
      'g_inf{le="+Inf"} +Inf',
      'g_nan NaN',
      'g_nan2 Nan',
      'g_neg -Inf',
      '',
    ].join('\n');
    const e = parseExposition(text);
    expect(e.types).toEqual({ a_total: 'counter', g: 'gauge' });
    expect(e.samples).toHaveLength(7);
    expect(valueOf(e, 'a_total', { environment: 'dev', table: 'plan_series' })).toBe(42);
    expect(valueOf(e, 'a_total', { environment: 'dev', table: 'plans' })).toBe(3);
    expect(valueOf(e, 'g')).toBe(1500);
    expect(valueOf(e, 'g_inf', { le: '+Inf' })).toBe(Infinity);
    expect(valueOf(e, 'g_nan')).toBeNaN();
    expect(valueOf(e, 'g_nan2')).toBeNaN();
    expect(valueOf(e, 'g_neg')).toBe(-Infinity);
  });

  test('unescapes label values (backslash, quote, newline) and keeps commas and braces inside them', () => {
    const e = parseExposition('m{reason="a\\\\b \\"q\\" x\\ny, {z}",other="1"} 7\n');
    expect(e.samples[0].labels).toEqual({ reason: 'a\\b "q" x\ny, {z}', other: '1' });
  });

  test('rejects what is not the text format', () => {
    expect(() => parseExposition('m{a="b" 1')).toThrow(/not a sample line/);
    expect(() => parseExposition('m{a=b} 1')).toThrow(/bad labels/);
    expect(() => parseExposition('m one')).toThrow(/not a sample value/);
  });

  test('samplesOf matches a subset of labels; valueOf needs exactly one sample with exactly those labels', () => {
    const e = parseExposition('m{a="1",b="x"} 1\nm{a="1",b="y"} 2\nm{a="2",b="x"} 3\n');
    expect(samplesOf(e, 'm', { a: '1' }).map((s) => s.value)).toEqual([1, 2]);
    expect(samplesOf(e, 'm').map((s) => s.value)).toEqual([1, 2, 3]);
    expect(() => valueOf(e, 'm', { a: '1' })).toThrow(/found 0/);
    expect(() => valueOf(e, 'missing')).toThrow(/found 0/);
  });

  test("reads prom-client's own output back", async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['reason'], registers: [registry] });
    const g = new Gauge({ name: 'g', help: 'g', registers: [registry] });
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['op'], buckets: [1, 5], registers: [registry] });
    c.inc({ reason: 'say "hi"\\' }, 2);
    g.set(0.25);
    h.observe({ op: 'w' }, 3);
    const e = parseExposition(await registry.metrics());
    expect(e.types).toEqual({ c_total: 'counter', g: 'gauge', h_seconds: 'histogram' });
    expect(valueOf(e, 'c_total', { reason: 'say "hi"\\' })).toBe(2);
    expect(valueOf(e, 'g')).toBe(0.25);
    expect(samplesOf(e, 'h_seconds_bucket', { op: 'w' }).map((s) => [s.labels.le, s.value])).toEqual([
      ['1', 0],
      ['5', 1],
      ['+Inf', 1],
    ]);
    expect(valueOf(e, 'h_seconds_count', { op: 'w' })).toBe(1);
    expect(valueOf(e, 'h_seconds_sum', { op: 'w' })).toBe(3);
  });
});
