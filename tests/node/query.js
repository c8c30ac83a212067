// Connects to purpose-proxy with node-postgres and prints one JSON document on stdout.
// Usage: node query.js '<json config>'  with {host, port, database, user, password, ssl}
'use strict';

const { Client } = require('pg');

async function run(config) {
  const client = new Client({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    application_name: 'node-pg-test',
    ssl: config.ssl ? { rejectUnauthorized: false } : false,
  });
  await client.connect();
  try {
    const out = {};
    // Extended protocol: Parse/Bind/Execute with a text parameter.
    const param = await client.query(
      'SELECT id, country, marketing_consent FROM shop.customers WHERE id = $1',
      [config.customerId],
    );
    out.param = { rows: param.rows, fields: param.fields.map((f) => [f.name, f.dataTypeID]) };
    // Several parameters of different types, result types parsed by pg.
    const typed = await client.query(
      'SELECT $1::int4 + 1 AS n, $2::text AS t, $3::bool AS b, $4::numeric AS num',
      [41, 'héllo', true, '12.50'],
    );
    out.typed = typed.rows[0];
    // A named (server-side) prepared statement reused.
    const named = [];
    for (const id of [1, 2, 3]) {
      const r = await client.query({
        name: 'customer-country',
        text: 'SELECT country FROM shop.customers WHERE id = $1',
        values: [id],
      });
      named.push(r.rows[0].country);
    }
    out.named = named;
    // Simple protocol: no parameters, one statement.
    const simple = await client.query('SELECT count(*) AS n FROM shop.customers');
    out.simple = { rows: simple.rows, command: simple.command, rowCount: simple.rowCount };
    // Simple protocol with two statements in one message: pg returns an array of results.
    const multi = await client.query('SELECT 1 AS a; SELECT 2 AS b');
    out.multi = multi.map((r) => r.rows);
    // An error keeps the connection usable.
    try {
      await client.query('SELEC 1');
      out.error = null;
    } catch (e) {
      out.error = { code: e.code, message: e.message };
    }
    const after = await client.query('SELECT 7 AS seven');
    out.after = after.rows[0].seven;
    const params = await client.query(
      "SELECT current_setting('application_name') AS app, current_user AS who",
    );
    out.session = params.rows[0];
    out.ssl = Boolean(client.connection.stream.encrypted);
    return out;
  } finally {
    await client.end();
  }
}

run(JSON.parse(process.argv[2]))
  .then((out) => {
    process.stdout.write(JSON.stringify(out));
  })
  .catch((e) => {
    process.stderr.write(`${e.code || ''} ${e.stack || e}\n`);
    process.exit(1);
  });
