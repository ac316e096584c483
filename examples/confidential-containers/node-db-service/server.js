// A small HTTP service that needs a database password. It is an ordinary Node.js program: it knows
// nothing about enclaves or attestation and reads its password from the DB_PASSWORD environment
// variable, as twelve-factor apps do. Under `ccnodes container run` that variable is set only after
// the attestation service has released the password to the attested launcher.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const password = process.env.DB_PASSWORD;
if (password === undefined || password === '') {
  console.error('db-service: DB_PASSWORD is not set; refusing to start');
  process.exit(3);
}
// Stand-in for a database connection: a real service would connect with the password here.
const fingerprint = createHash('sha256').update(password).digest('hex');

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, database: 'connected', passwordSha256: fingerprint }));
    return;
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  console.error(`db-service: listening on port ${port}`);
  // Optional readiness file (like a pid file) for supervisors and tests.
  if (process.env.READY_FILE)
    writeFileSync(process.env.READY_FILE, JSON.stringify({ port, pid: process.pid }));
});

process.on('SIGTERM', () => {
  console.error('db-service: SIGTERM, shutting down');
  server.close(() => process.exit(0));
});
