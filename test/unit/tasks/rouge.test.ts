import { describe, expect, it } from 'vitest';

import { corpusRouge, rouge, rougeLsum, rougeTokens } from '../../../src-main/tasks/metrics/rouge.js';

// Reference values from google-research/rouge (rouge-score), rouge/rouge_scorer_test.py, whose
// "ground truth scores are taken from manual runs of ROUGE-1.5.5"; the two sentence pairs are lines
// 0 and 1 of its rouge/testdata/target.txt and prediction.txt (random strings, Apache-2.0).
const TARGETS = [
  "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L",
  "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN",
];
const PREDICTIONS = [
  "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi",
  "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD",
];

function expectScore(actual: { precision: number; recall: number; f1: number }, p: number, r: number, f: number) {
  expect(actual.precision).toBeCloseTo(p, 5);
  expect(actual.recall).toBeCloseTo(r, 5);
  expect(actual.f1).toBeCloseTo(f, 5);
}

describe('ROUGE against the ROUGE-1.5.5 values published with rouge-score', () => {
  it('ROUGE-1, -2 and -L without stemming', () => {
    const [a, b] = [0, 1].map((i) => rouge(TARGETS[i] ?? '', PREDICTIONS[i] ?? '', { useStemmer: false }));
    expectScore(a!.rouge1, 0.6875, 0.40741, 0.51163);
    expectScore(b!.rouge1, 0.65385, 0.40476, 0.5);
    expectScore(a!.rouge2, 0.53333, 0.30769, 0.39024);
    expectScore(b!.rouge2, 0.48, 0.29268, 0.36364);
    expectScore(a!.rougeL, 0.6875, 0.40741, 0.51163);
    expectScore(b!.rougeL, 0.65385, 0.40476, 0.5);
  });

  it('ROUGE-1 and -2 with Porter stemming', () => {
    const [a, b] = [0, 1].map((i) => rouge(TARGETS[i] ?? '', PREDICTIONS[i] ?? ''));
    expectScore(a!.rouge1, 0.6875, 0.40741, 0.51163);
    expectScore(b!.rouge1, 0.69231, 0.42857, 0.52941);
    expectScore(a!.rouge2, 0.53333, 0.30769, 0.39024);
    expectScore(b!.rouge2, 0.48, 0.29268, 0.36364);
  });
});

describe('ROUGE on hand-computed cases (rouge_scorer_test.py and Lin 2004)', () => {
  it('unigram, bigram and LCS counts', () => {
    expectScore(rouge('testing one two', 'testing', { useStemmer: false }).rouge1, 1, 1 / 3, 1 / 2);
    expectScore(rouge('testing one two', 'testing one', { useStemmer: false }).rouge2, 1, 1 / 2, 2 / 3);
    expectScore(rouge('testing one two', 'testing two', { useStemmer: false }).rougeL, 1, 2 / 3, 4 / 5);
    // Lin 2004 section 3.1: against "police killed the gunman", S2 "police kill the gunman" has
    // LCS 3 (R = P = 3/4) and S3 "the gunman kill police" LCS 2 (1/2), while ROUGE-2 cannot tell
    // them apart (one shared bigram each).
    const s2 = rouge('police killed the gunman', 'police kill the gunman', { useStemmer: false });
    const s3 = rouge('police killed the gunman', 'the gunman kill police', { useStemmer: false });
    expect(s2.rougeL.f1).toBeCloseTo(0.75, 10);
    expect(s3.rougeL.f1).toBeCloseTo(0.5, 10);
    expect(s2.rouge2.f1).toBeCloseTo(s3.rouge2.f1, 10);
  });

  it('stemming maps inflections together and leaves short tokens alone', () => {
    expect(rougeTokens('Patients were treated; treating patient!')).toEqual([
      'patient',
      'were',
      'treat',
      'treat',
      'patient',
    ]);
    expect(rouge('police killed the gunman', 'police kill the gunman').rouge1.f1).toBe(1);
  });

  it('summary-level LCS (ROUGE-Lsum) over lines, with the union LCS of section 3.2', () => {
    expectScore(rouge('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5').rougeLsum, 0.4, 0.8, 0.53333);
    expect(rougeLsum([['reference']], [[]]).recall).toBe(0);
    expect(rouge('w1 w2 w3 w4 w5', '/').rougeLsum.f1).toBe(0);
  });

  it('empty predictions score zero and corpus scores average examples', () => {
    expect(rouge('testing one two', '').rouge1.f1).toBe(0);
    const corpus = corpusRouge([
      { reference: 'testing one two', predicted: 'testing' },
      { reference: 'a b', predicted: null },
    ]);
    expect(corpus.rouge1.f1).toBeCloseTo(0.25, 10);
  });
});
