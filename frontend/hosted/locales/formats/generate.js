// Generates frontend/hosted/locales/formats/{lang}.json from the ICU/CLDR data of Node's Intl:
// node generate.js LANGS CURRENCIES OUTDIR (README.md).
const fs = require('fs');
const langs = process.argv[2].split(',');
const currencies = process.argv[3].split(',');
const out = process.argv[4];
function cut(s, num) { const i = s.indexOf(num); if (i < 0) throw new Error(s + ' / ' + num); return [s.slice(0, i), s.slice(i + num.length)]; }
for (const lang of langs) {
  const nf = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: true });
  const parts = nf.formatToParts(1234567.5);
  const group = parts.find(p => p.type === 'group').value, decimal = parts.find(p => p.type === 'decimal').value;
  const four = new Intl.NumberFormat(lang).format(1234);
  const minGrouping = four.includes(group) ? 1 : 2;
  const minus = new Intl.NumberFormat(lang).formatToParts(-5).find(p => p.type === 'minusSign').value;
  const num = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(1234567.5);
  const neg = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(-1234567.5);
  if (neg !== minus + num) throw new Error(lang + ' plain negative ' + neg);
  const cur = {};
  for (const c of currencies) {
    const f = new Intl.NumberFormat(lang, { style: 'currency', currency: c, minimumFractionDigits: 2, maximumFractionDigits: 2 });
    cur[c] = [...cut(f.format(1234567.5), num), ...cut(f.format(-1234567.5), num)];
  }
  const pf = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 2 });
  const pnum = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }).format(1234.5);
  const percent = cut(pf.format(12.345), pnum);
  // Month names as written in a date ("12. März"), and a date-time pattern with 24-hour time.
  const months = [];
  for (let m = 0; m < 12; m++) {
    const p = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(2030, m, 12)));
    months.push(p.find(x => x.type === 'month').value);
  }
  const dp = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' })
    .formatToParts(new Date(Date.UTC(2030, 2, 12, 14, 30)));
  let pattern = '', inTime = false;
  for (const x of dp) {
    if (x.type === 'day') pattern += '{day}';
    else if (x.type === 'month') pattern += '{month}';
    else if (x.type === 'year') pattern += '{year}';
    else if (x.type === 'hour') { pattern += '{time}'; inTime = true; }
    else if (x.type === 'minute') inTime = false;
    else if (!inTime) pattern += x.value;
  }
  fs.writeFileSync(out + '/' + lang + '.json', JSON.stringify({ decimal, group, minGrouping, minus, percent, currencies: cur }) + '\n');
  // For the message file: "months" and "datetime_format".
  console.log(lang + '\t' + months.join(',') + '\t' + pattern + ' UTC');
}
