// parse.js reads SQL files (BigQuery dialect) named on the command line and
// parses each with sql-parser-cst. It prints one JSON line per file:
// {"file": ..., "ok": true} or {"file": ..., "ok": false, "error": ...},
// and exits 1 when any file fails.
"use strict";
const fs = require("fs");
const { parse } = require("sql-parser-cst");

let failed = 0;
for (const file of process.argv.slice(2)) {
  const sql = fs.readFileSync(file, "utf8");
  try {
    parse(sql, { dialect: "bigquery", includeRange: true });
    console.log(JSON.stringify({ file, ok: true }));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ file, ok: false, error: String(e.message || e) }));
  }
}
process.exit(failed ? 1 : 0);
