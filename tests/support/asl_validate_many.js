// asl-validator over many files in one node process, as its command line reports them
// ('State machine definition "FILE" is valid|invalid'), with one difference: its JSON-schema
// compiler (Ajv, whose schema compilation is 0.1 s) is built once, not once per file.
// The validator function is asl-validator's own; only `new Ajv(...)` hands back the first instance
// (same schemas and options every time; re-registering a keyword is skipped, formats are replaced).
// Usage: node asl_validate_many.js PATH_TO_ASL_VALIDATOR_BIN FILE...
"use strict";
const fs = require("fs");
const path = require("path");

const bin = fs.realpathSync(process.argv[2]); // .../asl-validator/dist/bin/asl-validator.js
const checks = path.resolve(path.dirname(bin), "..", "src", "checks");
const ajvModule = require(require.resolve("ajv", { paths: [checks] }));
const RealAjv = ajvModule.default;
let shared = null;
function SharedAjv(options) {
  if (shared === null) {
    shared = new RealAjv(options);
    const addKeyword = shared.addKeyword.bind(shared);
    shared.addKeyword = (definition) => {
      const name = typeof definition === "string" ? definition : definition.keyword;
      return [].concat(name).every((k) => shared.getKeyword(k)) ? shared : addKeyword(definition);
    };
  }
  return shared;
}
ajvModule.default = SharedAjv;
const validator = require(path.resolve(path.dirname(bin), "..", "src", "validator.js"));

for (const file of process.argv.slice(3)) {
  try {
    const result = validator(JSON.parse(fs.readFileSync(file).toString()), { checkArn: true, checkPaths: true });
    console.log(`State machine definition "${file}" is ${result.isValid ? "valid" : "invalid"}`);
  } catch (err) {
    console.error(`Validator exception: ${file}: ${err}`); // no verdict line: counted as a crash
  }
}
