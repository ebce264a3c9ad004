/**
 * A scan of the text a pack carries (names, labels, templates, dataset names, settings) for the
 * HIPAA Safe Harbor identifiers that can hide in it (45 CFR 164.514(b)(2)): person names, dates,
 * record numbers, phone numbers, e-mail and street addresses, ages over 89. It is a net for
 * mistakes (a template pasted from a real note, a label named after a patient), not a proof of
 * absence: packs never carry notes or examples in the first place. Findings name the field, the
 * kind and the character offset, never the text, so they can be logged and audited.
 */

export const PHI_KINDS = ['name', 'date', 'record-number', 'phone', 'email', 'address', 'age-over-89'] as const;
export type PhiKind = (typeof PHI_KINDS)[number];

export interface PhiFinding {
  /** Where in the manifest, e.g. `tasks[0].template` or `tasks[0].labels[2]`. */
  readonly field: string;
  readonly kind: PhiKind;
  /** Character offset of the match in that field's text. */
  readonly offset: number;
}

const MONTH =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
// Frequent given names (US census, UK ONS): a name before a capitalised word reads as a person.
const GIVEN =
  'James|John|Robert|Michael|William|David|Richard|Joseph|Thomas|Charles|Christopher|Daniel|Matthew|Anthony|Mark|Donald|Steven|Paul|Andrew|Joshua|Kenneth|Kevin|Brian|George|Edward|Ronald|Timothy|Jason|Jeffrey|Ryan|Jacob|Gary|Nicholas|Eric|Jonathan|Stephen|Larry|Justin|Scott|Brandon|Frank|Benjamin|Gregory|Samuel|Raymond|Patrick|Alexander|Jack|Dennis|Jerry|Peter|Harry|Oliver|Mary|Patricia|Jennifer|Linda|Elizabeth|Barbara|Susan|Jessica|Sarah|Karen|Nancy|Lisa|Betty|Margaret|Sandra|Ashley|Kimberly|Emily|Donna|Michelle|Dorothy|Carol|Amanda|Melissa|Deborah|Stephanie|Rebecca|Sharon|Laura|Cynthia|Kathleen|Amy|Shirley|Angela|Helen|Anna|Brenda|Pamela|Nicole|Emma|Samantha|Katherine|Christine|Debra|Rachel|Catherine|Carolyn|Janet|Ruth|Maria|Heather|Diane|Virginia|Julie|Joyce|Olivia|Sophie|Jane|Alice|Grace|Maria|Jose|Juan|Carlos|Luis|Mohammed|Ahmed|Ali|Wei|Li';

const PATTERNS: readonly { kind: PhiKind; re: RegExp }[] = [
  { kind: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  {
    kind: 'phone',
    re: /(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b/g,
  },
  {
    kind: 'record-number',
    re: /\b(?:MRN|MR#|medical record(?: number| no\.?)?|patient (?:id|number)|SSN)\s*[:#]?\s*[A-Z0-9-]*\d[A-Z0-9-]*|\b\d{3}-\d{2}-\d{4}\b|\b\d{6,}\b/gi,
  },
  {
    kind: 'date',
    re: new RegExp(
      String.raw`\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b(?:19|20)\d{2}-\d{1,2}-\d{1,2}\b|\b${MONTH}\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+${MONTH}\.?(?:,?\s+\d{4})?\b`,
      'gi',
    ),
  },
  {
    kind: 'address',
    re: /\b\d{1,6}\s+(?:[A-Z][A-Za-z]*\.?\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|Square|Highway|Hwy)\b\.?/g,
  },
  {
    kind: 'age-over-89',
    re: /\b(?:9\d|1[0-4]\d)\s*(?:-\s*)?(?:y\/?o\b|yo\b|yrs?\b|years?(?:\s*|-)old\b|year-old\b)|\b(?:age[d]?|aged)\s*[:=]?\s*(?:9\d|1[0-4]\d)\b/gi,
  },
  {
    kind: 'name',
    re: new RegExp(
      String.raw`\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+[A-Z][a-z'-]+|\b(?:[Pp]atient|[Pp]t|[Nn]ame)\s*[:=]\s*[A-Z][a-z'-]+|\b(?:${GIVEN})\s+[A-Z][a-z'-]+`,
      'g',
    ),
  },
];

/** Every finding in one text. */
export function scanText(field: string, text: string): PhiFinding[] {
  const findings: PhiFinding[] = [];
  for (const { kind, re } of PATTERNS)
    for (const match of text.matchAll(re)) findings.push({ field, kind, offset: match.index });
  return findings;
}

/**
 * Scans every string inside `value` (objects, arrays), naming each by its path under `root`.
 * Object keys are scanned too: a setting's or metric's name is text a person typed.
 */
export function scanValue(root: string, value: unknown): PhiFinding[] {
  if (typeof value === 'string') return scanText(root, value);
  if (Array.isArray(value)) return value.flatMap((v, i) => scanValue(`${root}[${i}]`, v));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      ...scanText(`${root} (key)`, k),
      ...scanValue(root ? `${root}.${k}` : k, v),
    ]);
  return [];
}

/** One line per kind and field, for people: "email in tasks[0].template (offset 12)". */
export function describeFindings(findings: readonly PhiFinding[]): string {
  return findings.map((f) => `${f.kind} in ${f.field} (offset ${f.offset})`).join('; ');
}
