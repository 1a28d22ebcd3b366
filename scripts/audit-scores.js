// Prints a Lighthouse report's scores on one line, then each audit of the
// three categories that did not pass; exits 1 when a page is below the
// targets (performance and accessibility >= 0.95, best practices 1.0,
// cumulative layout shift < 0.1).
'use strict';
const fs = require('fs');
const [name, url, file] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const c = r.categories;
const score = (k) => (c[k] && c[k].score !== null ? c[k].score : 0);
const cls = r.audits['cumulative-layout-shift'].numericValue;
const perf = score('performance'), a11y = score('accessibility'), best = score('best-practices');
console.log(`${name.padEnd(8)} ${perf.toFixed(2).padStart(5)} ${a11y.toFixed(2).padStart(5)} ${best.toFixed(2).padStart(5)} ${cls.toFixed(3).padStart(7)}  ${url}`);
for (const k of ['performance', 'accessibility', 'best-practices']) {
  for (const ref of c[k].auditRefs) {
    const a = r.audits[ref.id];
    if (ref.weight === 0 || a.score === null || a.score >= 0.9) continue;
    let detail = a.displayValue ? ` (${a.displayValue})` : '';
    const items = (a.details && a.details.items) || [];
    const nodes = items.map((i) => i.node && i.node.selector).filter(Boolean).slice(0, 4);
    if (nodes.length) detail += ' ' + nodes.join(', ');
    console.log(`           ${k}: ${a.id} ${a.score}${detail}`);
  }
}
const ok = perf >= 0.95 && a11y >= 0.95 && best >= 1 && cls < 0.1;
process.exit(ok ? 0 : 1);
