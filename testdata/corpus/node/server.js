// Express and express-pouchdb for the corpus. Usage: node server.js PORT
// (ACCESS_LOG=file for one line a request)
// Runs with NODE_ENV=production, as sites do: Express's default error
// handler then shows the status's reason phrase, not the stack.
'use strict';
const express = require('express');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-mapreduce'))
  .plugin(require('pouchdb-replication'));

const app = express();
// one line a request, to the access log named by ACCESS_LOG
if (process.env.ACCESS_LOG) {
  const fs = require('fs');
  app.use((req, res, next) => {
    res.on('finish', () => fs.appendFileSync(process.env.ACCESS_LOG, `${req.method} ${req.originalUrl} ${res.statusCode}\n`));
    next();
  });
}
const conflict = 'Order 42 is at version 7; you edited version 6. Reload it and apply your change again.';
app.get('/express/sendStatus409', (req, res) => res.sendStatus(409));
app.get('/express/send409', (req, res) => res.status(409).send(conflict));
app.get('/express/json409', (req, res) => res.status(409).json({ error: 'conflict', current_version: 7 }));
app.get('/express/error409', (req, res, next) => {
  const err = new Error(conflict);
  err.status = 409;
  next(err);
});
app.get('/express/throw', () => {
  throw new Error('the stock service did not answer');
});
// CouchDB's HTTP API, on PouchDB in memory
const DB = PouchDB.defaults({ adapter: 'memory' });
app.use('/couch', require('express-pouchdb')(DB, { mode: 'minimumForPouchDB', logPath: '/dev/null' }));

const port = Number(process.argv[2]);
app.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
