/**
 * The golden set of backfill-golden.test.ts: legacy rows as the reader receives them (payload text and the
 * exact summary/events text) and everything the backfill derives from them, which must never change
 * (stored checksums are compared by verify and by the normal-mode skip logic).
 */
import { createHash } from 'node:crypto';
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { parseLegacyPayload, type LegacyPayloadColumns } from '../../db/jsonb-text';
import { nativeSha256 } from '../../db/native-hash';
import { copyKey, eventCopyText, kpiCopyText, seriesCopyText } from '../../db/repository-writer';
import { jsonText } from '../../transform/canonical-json';
import { demoArtifacts, generateBadPayload, mulberry32 } from '../../transform/demo-payloads';
import { transformArtifact } from '../../transform/legacy-transform';

export interface GoldenInput extends LegacyPayloadColumns {
  label: string;
  planId: string;
  version: number;
}

/**
 * The columns legacyPayloadSql selects for a document whose stored text is `payload`: the second one
 * is `[summary, events]` with every number spelled as in `payload` (what jsonb_build_array(...)::text gives).
 */
export function columnsOf(payload: string): LegacyPayloadColumns {
  const doc = losslessParse(payload) as unknown;
  const part = (k: string): unknown =>
    typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? ((doc as Record<string, unknown>)[k] ?? null) : null;
  return { payload, payload_exact: losslessStringify([part('summary'), part('events')])! };
}

const hand = (label: string, payload: string): GoldenInput => ({ label, planId: 'plan-00042', version: 7, ...columnsOf(payload) });

const SERIES_OK = '[{"item":"SKU-1","location":"TOKYO","period":"2026-01","metric":"demand","value":1}]';
const ZEROS_300 = '0'.repeat(300);

/** Hand-written edge cases, in jsonb's own spelling where it matters (numbers written out in full). */
export const HAND_INPUTS: GoldenInput[] = [
  hand(
    'spec example',
    '{"name": "Q1 demand plan", "kpis": [{"name": "fill_rate", "unit": "ratio", "value": 0.97}], "events": [{"at": "2026-01-01T00:00:00Z", ' +
      '"type": "created", "actor": "alice"}], "run_id": "run-123", "series": [{"item": "SKU-1", "value": 120.5, "metric": "demand", ' +
      '"period": "2026-01-05", "location": "TOKYO"}], "status": "draft", "summary": {"any": "object"}}',
  ),
  hand(
    'unicode everywhere',
    '{"name":"需要計画 ✓ 😀 e\\u0301","status":"ドラフト","run_id":"ран-1","summary":{"注記":"ß→SS","emoji":"👩‍👩‍👧"},' +
      '"series":[{"item":"商品-😀","location":"東京","period":"2026-01","metric":"需要","value":3.5},' +
      '{"item":"Ärger","location":"Zürich","period":"2026-01","metric":"demand","value":-2}],' +
      '"kpis":[{"name":"充足率","unit":"割合","value":0.5}],' +
      '"events":[{"at":"2026-01-01T00:00:00Z","type":"作成","actor":"アリス","detail":{"メモ":"こんにちは","😀":[1,"二"]}}]}',
  ),
  hand(
    'control characters and COPY specials in text',
    '{"name":"tab\\there\\nnew\\rline\\\\back","status":"a\\u0001b\\u001fc\\u007fd\\be\\ff","run_id":"r\\\\n",' +
      '"summary":{"k\\tey":"v\\nal\\\\ue","q":"\\"quoted\\"","slash":"a/b\\/c"},' +
      '"series":[{"item":"it\\tem","location":"lo\\ncation","period":"pe\\rriod","metric":"me\\\\tric","value":1},' +
      '{"item":"\\\\N","location":"\\u0002","period":"2026-01","metric":"m","value":2}],' +
      '"kpis":[{"name":"na\\tme","unit":"un\\nit\\\\","value":3}],' +
      '"events":[{"at":"2026-01-01T00:00:00Z","type":"ty\\tpe","actor":"ac\\ntor\\\\","detail":{"t":"x\\ty\\nz\\r\\\\w","c":"\\u0003"}}]}',
  ),
  hand(
    'huge integers and exact decimals in summary and detail',
    '{"name":"n","series":' +
      SERIES_OK +
      ',"summary":{"big":12345678901234567890123,"safe_plus_one":9007199254740993,"max_safe":9007199254740991,' +
      '"dec":1.50,"long_dec":0.1000000000000000055511151231257827,"e21":1000000000000000000000,"e21_plus":10000000000000000000000,' +
      '"tiny":0.0000001,"tinier":0.00000001,"neg_zero":-0,"neg_zero_dec":-0.0,"neg":-12345678901234567890.5,"zero_dec":0.000,' +
      '"sixteen":1234567890123456,"fifteen":123456789012345,"seventeen_digits_dec":1.2345678901234567,"nested":[1.10,[2.200]]},' +
      '"events":[{"at":"2026-01-01T00:00:00Z","type":"t","detail":{"id":98765432109876543210,"ratio":0.30,"x":1e21,"y":1E-7,"z":-0}}]}',
  ),
  hand(
    'numbers in series and KPIs: -0, 1e21, huge, exponents, strings',
    '{"series":[{"item":"a","location":"L","period":"P","metric":"m","value":-0},' +
      '{"item":"b","location":"L","period":"P","metric":"m","value":1000000000000000000000},' +
      '{"item":"c","location":"L","period":"P","metric":"m","value":123456789012345678901234567890},' +
      '{"item":"d","location":"L","period":"P","metric":"m","value":1.5e-7},' +
      '{"item":"e","location":"L","period":"P","metric":"m","value":"1.2e3"},' +
      '{"item":"f","location":"L","period":"P","metric":"m","value":"-0"},' +
      '{"item":"g","location":"L","period":"P","metric":"m","value":0.1},' +
      '{"item":"h","location":"L","period":"P","metric":"m","value":9007199254740993},' +
      '{"item":"i","location":"L","period":"P","metric":"m","value":1.7976931348623157e308},' +
      '{"item":"j","location":"L","period":"P","metric":"m","value":5e-324},' +
      '{"item":"k","location":"L","period":"P","metric":"m","value":-1.0000000000000002}],' +
      '"kpis":[{"name":"z","value":-0.0},{"name":"y","value":"7"},{"name":"x","value":12345678901234567890,"unit":null}]}',
  ),
  hand(
    'nested detail objects with key order',
    '{"series":' +
      SERIES_OK +
      ',"summary":{"z":{"b":1,"a":{"d":[3,{"y":1,"x":2}],"c":null}},"a":true,"m":false,"":"empty key","aa":[],"A":{}},' +
      '"events":[{"at":"2026-01-01T00:00:00Z","type":"t","actor":null,"detail":{"zeta":{"b":[{"k2":1,"k1":2}],"a":"x"},"alpha":[null,true,false,{}]}},' +
      '{"at":"2026-01-02T03:04:05.678Z","type":"u","detail":null},{"at":"2026-01-03T00:00:00Z","type":"v"}]}',
  ),
  hand(
    'old map-form KPIs, string numbers, no run_id, no summary, no events',
    '{"name":"Old plan","status":"archived","kpis":{"fill_rate":"0.97","bias":-0.0,"turns":"1e3","accuracy":0.5,"Zed":"12"},' +
      '"series":[{"item":"SKU-2","location":"OSAKA","period":"2026-W02","metric":"supply","value":"12.000"},' +
      '{"item":"SKU-1","location":"OSAKA","period":"2026-W02","metric":"supply","value":"-3.5e-2"}]}',
  ),
  hand(
    'event times: offsets, microseconds, no offset, lower case',
    '{"series":' +
      SERIES_OK +
      ',"events":[{"at":"2026-01-01T09:00:00.123456+09:00","type":"a"},{"at":"2026-01-01 00:00","type":"b"},' +
      '{"at":"2026-03-04t05:06:07.1z","type":"c"},{"at":"2026-01-01T00:00:00.000001-0530","type":"d"},' +
      '{"at":"2026-01-01T23:59:59,999999999Z","type":"e"}]}',
  ),
  hand('empty parts and nulls', '{"name":12,"status":null,"run_id":["x"],"series":[],"kpis":null,"events":[],"summary":null}'),
  hand('empty document parts missing', '{"series":[]}'),
  hand(
    'whitespace as jsonb writes it, numbers with exponent spelled in full',
    '{"series": [{"item": "x", "value": 0.000001, "metric": "m", "period": "p", "location": "l"}], "summary": {"n": 100000000000000000000}}',
  ),
  hand(
    'a non-zero number too small for a double in summary (lossless path for the whole document)',
    `{"series":${SERIES_OK},"summary":{"tiny":0.${ZEROS_300}${ZEROS_300}1,"big":12345678901234567890}}`,
  ),
  hand(
    'underflow in a series value',
    `{"series":[{"item":"a","location":"L","period":"P","metric":"m","value":0.${ZEROS_300}${ZEROS_300}1}]}`,
  ),
  hand('overflow in a series value', '{"series":[{"item":"a","location":"L","period":"P","metric":"m","value":1e400}]}'),
  hand('payload not an object', '[1,2,3]'),
  hand('payload a string', '"just text"'),
  hand('payload a huge number', '123456789012345678901234567890'),
  hand(
    'duplicate series keys',
    '{"series":[{"item":"a","location":"L","period":"P","metric":"m","value":1},{"item":"a","location":"L","period":"P","metric":"m","value":2}]}',
  ),
  hand('summary not an object', '{"series":[],"summary":[1]}'),
  hand('bad event time', '{"series":[],"events":[{"at":"January 1, 2026","type":"t"}]}'),
];

/** A varied generated set: demo documents (both formats) and every malformed kind, as JSON.stringify writes them. */
export function generatedInputs(): GoldenInput[] {
  const out: GoldenInput[] = [];
  for (const a of demoArtifacts({ plans: 6, versions: 4, series: 30, bad: 14, seed: 20260101, kpis: 4, events: 3 })) {
    out.push({ label: `demo ${a.planId} v${a.version}`, planId: a.planId, version: a.version, ...columnsOf(JSON.stringify(a.payload)) });
  }
  const rng = mulberry32(7);
  for (let j = 0; j < 20; j++) {
    out.push({ label: `bad ${j}`, planId: 'plan-bad', version: j + 1, ...columnsOf(JSON.stringify(generateBadPayload(rng, j))) });
  }
  return out;
}

export type GoldenOutput =
  | { label: string; checksum: string; plan: (string | number | null)[]; summary: string; kpis: string; series: string; events: string }
  | { label: string; reason: string; message: string };

/** Everything the backfill derives from one input: checksum, the plan_versions fields and the COPY text of its children. */
export function goldenOutput(input: GoldenInput): GoldenOutput {
  const artifact = { id: 1, planId: input.planId, version: input.version, payload: parseLegacyPayload(input), createdAt: new Date(0) };
  const r = transformArtifact(artifact, nativeSha256);
  if (!r.ok) return { label: input.label, reason: r.reason, message: r.message };
  const v = r.version;
  const key = copyKey(v);
  return {
    label: input.label,
    checksum: r.checksum,
    plan: [v.planId, v.version, v.name, v.status, v.runId],
    summary: jsonText(v.summary),
    kpis: kpiCopyText(v, key).text,
    series: seriesCopyText(v, key).text,
    events: eventCopyText(v, key).text,
  };
}

/** sha256 of a large output, for the generated set. */
export const digest = (text: string): string => createHash('sha256').update(text).digest('hex');
