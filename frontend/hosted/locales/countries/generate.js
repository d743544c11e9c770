const fs = require('fs');
const codes = JSON.parse(fs.readFileSync(process.argv[2])).map(p => p[0]);
for (const lang of process.argv[3].split(',')) {
  const dn = new Intl.DisplayNames(lang, { type: 'region' });
  const coll = new Intl.Collator(lang);
  const pairs = codes.map(c => [c, dn.of(c)]).sort((a, b) => coll.compare(a[1], b[1]));
  fs.writeFileSync(process.argv[4] + '/' + lang + '.json', '[\n' + pairs.map(p => JSON.stringify(p)).join(',\n') + '\n]\n');
}
