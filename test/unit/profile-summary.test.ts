import { addProfile, emptyTotals, formatTotals } from '../../bench/profile-summary';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/** root -> main -> parse -> parse (recursion), main -> (garbage collector); plus (idle). */
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5] },
    { id: 2, callFrame: frame('main', 'file:///app/dist/bench/run.js', 9), children: [3, 6] },
    { id: 3, callFrame: frame('parse', 'file:///app/node_modules/lossless-json/lib/index.js', 0), children: [4] },
    { id: 4, callFrame: frame('parse', 'file:///app/node_modules/lossless-json/lib/index.js', 0) },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  samples: [3, 4, 4, 2, 5, 6],
  timeDeltas: [1000, 2000, 3000, 4000, 5000, 6000],
};

describe('profile-summary', () => {
  it('charges each sample its time delta: self to the leaf, total once per function on the stack', () => {
    const t = emptyTotals();
    addProfile(t, profile);
    expect(t.sampledMs).toBe(21);
    expect(t.selfMs.get('parse ~/lossless-json/lib/index.js:1')).toBe(6);
    expect(t.selfMs.get('main bench/run.js:10')).toBe(4);
    expect(t.totalMs.get('parse ~/lossless-json/lib/index.js:1')).toBe(6); // recursion not counted twice
    expect(t.totalMs.get('main bench/run.js:10')).toBe(16);
    expect(t.totalMs.get('(root)')).toBe(21);
    expect(t.fileMs.get('~/lossless-json/lib/index.js')).toBe(6);
    expect(t.fileMs.get('(garbage collector)')).toBe(6);
  });

  it('sums several profiles and reports busy time without idle', () => {
    const t = emptyTotals();
    addProfile(t, profile);
    addProfile(t, profile);
    const text = formatTotals(t, 2);
    expect(text).toContain('sampled 42 ms, of which (idle) 10 ms: busy 32 ms');
    expect(text).toMatch(
      /self time by function \(top 2\):\n +12 ms {2}parse ~\/lossless-json\/lib\/index\.js:1\n +12 ms {2}\(garbage collector\)/,
    );
  });
});
