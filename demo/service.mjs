// A tiny demo service for `npm start`: it idles until killed. Its command line,
// `node demo/service.mjs <name>`, is what fixtures/demo/cib.xml's proc_* nvpairs match.
const name = process.argv[2] ?? 'procd-demo';
setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => process.exit(0));
void name;
