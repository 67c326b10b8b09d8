#!/usr/bin/env node
// Regenerates src/schema.ts from Eventfold's OpenAPI document with openapi-typescript.
//
//   npm run generate -- DOC           DOC: a file, a URL such as http://127.0.0.1:7117/openapi.json,
//                                     or - for standard input (`eventfold openapi | npm run generate -- -`)
//   npm run generate -- DOC --check   write nothing; exit 1 when src/schema.ts is not what DOC gives
//
// The output depends only on the document and the pinned openapi-typescript version (keys
// sorted, no time stamps, no paths), so CI can regenerate it and diff.
//
// The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12. openapi-typescript 7
// translates the structural keywords (type, properties, required, items, additionalProperties,
// enum, const, oneOf/anyOf/allOf, $ref) and silently drops the rest. Before generating, this
// script walks every schema of the document and decides about each keyword it finds (see
// KEYWORDS below); a keyword without a decision stops the run, so a new construct in the
// document gets looked at instead of silently vanishing from the types:
//
// - contentSchema (with contentMediaType application/json), e.g. the `data` of an SSE message
//   schema: a string holding JSON. openapi-typescript would make it a bare `string`; here it
//   becomes `JsonText<T>`, a `string` branded (in types only) with what it decodes to, so
//   src/types.ts can name the decoded shape. Any other contentMediaType stops the run.
// - if/then/else and not (conditional rules, e.g. "a group on a stream takes no filter"):
//   TypeScript types cannot express them, so the types keep the unconditional shape (looser
//   than the server, which checks the rules). The schemas that have them are listed in the
//   header of src/schema.ts.
// - value constraints (minimum, maximum, pattern, maxLength, propertyNames, …): not
//   expressible either; dropped, as openapi-typescript does.
// - integers beyond Number.MAX_SAFE_INTEGER (the u64 bounds, maximum 18446744073709551615):
//   JSON.parse rounds them (to 18446744073709551616). Harmless as a bound, which never reaches
//   the output; anywhere else (a default, an example, an enum or const value would be printed
//   rounded) it stops the run.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import ts from "typescript";
import openapiTS, { astToString, transformSchemaObject } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const output = resolve(here, "../src/schema.ts");

const args = process.argv.slice(2);
const check = args.includes("--check");
const positional = args.filter((arg) => arg !== "--check");
if (positional.length !== 1) {
  console.error("usage: npm run generate -- DOC.json|URL|- [--check]");
  console.error("  (`eventfold openapi` prints the document; a running server serves it at /openapi.json)");
  process.exit(2);
}
const source = positional[0];

/** What this script does with each JSON Schema keyword of the document's schemas. */
const KEYWORDS = {
  // Translated by openapi-typescript.
  translated: [
    "$ref", "type", "properties", "required", "items", "prefixItems", "additionalProperties",
    "enum", "const", "oneOf", "anyOf", "allOf", "discriminator", "nullable", "readOnly", "writeOnly",
    // Annotations: kept as JSDoc.
    "title", "description", "format", "default", "example", "examples", "deprecated",
  ],
  // Handled here: `JsonText<T>` (see transform below).
  handled: ["contentSchema", "contentMediaType"],
  // Conditional rules: dropped, and the schemas that have them listed in the header.
  conditional: ["if", "then", "else", "not"],
  // Value constraints: dropped (openapi-typescript's arrayLength option, which would turn
  // minItems/maxItems into tuples, is off).
  constraints: [
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "contentEncoding",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "propertyNames",
  ],
};
const KNOWN = new Set(Object.values(KEYWORDS).flat());
/** Keywords whose value is a schema, an array of schemas, or a map of schemas. */
const SUBSCHEMA = ["items", "additionalProperties", "not", "if", "then", "else", "contentSchema", "propertyNames"];
const SUBSCHEMAS = ["prefixItems", "oneOf", "anyOf", "allOf"];
const SUBSCHEMA_MAPS = ["properties"];
/** Keywords where an integer beyond the safe range is only a bound, never printed. */
const BOUNDS = new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]);

/** The document as text, from a file (relative to where npm was called), a URL or `-` (standard input). */
async function load(source) {
  if (source === "-") {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  }
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`GET ${source}: ${response.status} ${response.statusText}`);
    return await response.text();
  }
  const base = process.env.INIT_CWD ?? process.cwd();
  return await readFile(resolve(base, source), "utf8");
}

/** A JSON Pointer-ish path for messages: `#/components/schemas/EventBody/then`. */
const at = (path) => `#/${path.join("/")}`;

/**
 * Checks one schema (and its subschemas) against KEYWORDS; records in `conditional` the
 * top-level schema (`root`: a component, or an operation's inline schema) whose tree has
 * conditional rules.
 */
function auditSchema(schema, path, problems, conditional, root = at(path)) {
  if (typeof schema === "boolean") return;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    problems.push(`${at(path)}: not a schema`);
    return;
  }
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword.startsWith("x-")) continue; // extensions
    if (!KNOWN.has(keyword)) {
      problems.push(`${at(path)}: keyword "${keyword}" has no decision in scripts/generate.mjs (KEYWORDS)`);
      continue;
    }
    if (KEYWORDS.conditional.includes(keyword)) conditional.add(root);
    if (keyword === "contentSchema" && schema.contentMediaType !== "application/json") {
      problems.push(`${at(path)}: contentSchema with contentMediaType ${JSON.stringify(schema.contentMediaType)} (only application/json is handled)`);
    }
    if (keyword === "contentSchema" && schema.type !== "string") {
      problems.push(`${at(path)}: contentSchema on a schema whose type is not "string"`);
    }
    if (SUBSCHEMA.includes(keyword) && typeof value === "object") auditSchema(value, [...path, keyword], problems, conditional, root);
    if (SUBSCHEMAS.includes(keyword) && Array.isArray(value)) {
      value.forEach((sub, i) => auditSchema(sub, [...path, keyword, String(i)], problems, conditional, root));
    }
    if (SUBSCHEMA_MAPS.includes(keyword) && typeof value === "object" && value !== null) {
      for (const [name, sub] of Object.entries(value)) auditSchema(sub, [...path, keyword, name], problems, conditional, root);
    }
  }
}

/** Every schema of the document: components, parameters, request and response bodies, headers. */
function auditDocument(doc) {
  const problems = [];
  const conditional = new Set();
  const schema = (object, path) => {
    if (object?.schema !== undefined) auditSchema(object.schema, [...path, "schema"], problems, conditional);
  };
  const content = (object, path) => {
    for (const [type, media] of Object.entries(object?.content ?? {})) schema(media, [...path, "content", type]);
  };
  const response = (object, path) => {
    content(object, path);
    for (const [name, header] of Object.entries(object?.headers ?? {})) schema(header, [...path, "headers", name]);
  };
  const parameters = (list, path) => (list ?? []).forEach((parameter, i) => schema(parameter, [...path, String(i)]));
  const components = doc.components ?? {};
  for (const [name, object] of Object.entries(components.schemas ?? {})) {
    auditSchema(object, ["components", "schemas", name], problems, conditional);
  }
  for (const [name, object] of Object.entries(components.parameters ?? {})) schema(object, ["components", "parameters", name]);
  for (const [name, object] of Object.entries(components.headers ?? {})) schema(object, ["components", "headers", name]);
  for (const [name, object] of Object.entries(components.requestBodies ?? {})) content(object, ["components", "requestBodies", name]);
  for (const [name, object] of Object.entries(components.responses ?? {})) response(object, ["components", "responses", name]);
  for (const [route, item] of Object.entries(doc.paths ?? {})) {
    const itemPath = ["paths", route.replaceAll("~", "~0").replaceAll("/", "~1")];
    parameters(item?.parameters, [...itemPath, "parameters"]);
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (method === "parameters" || typeof operation !== "object" || operation === null) continue;
      const path = [...itemPath, method];
      parameters(operation.parameters, [...path, "parameters"]);
      content(operation.requestBody, [...path, "requestBody"]);
      for (const [status, object] of Object.entries(operation.responses ?? {})) response(object, [...path, "responses", status]);
    }
  }
  return { problems, conditional: [...conditional].sort() };
}

/** Integers JSON.parse cannot hold exactly, outside the bounds where that is harmless. */
function unsafeIntegers(value, path = [], found = []) {
  if (typeof value === "number") {
    if (Number.isInteger(value) && !Number.isSafeInteger(value) && !BOUNDS.has(path.at(-1))) found.push(at(path));
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => unsafeIntegers(item, [...path, String(i)], found));
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) unsafeIntegers(item, [...path, key], found);
  }
  return found;
}

const doc = JSON.parse(await load(source));
const audit = auditDocument(doc);
const unsafe = unsafeIntegers(doc);
for (const path of unsafe) {
  audit.problems.push(`${path}: an integer beyond 2^53 that JSON.parse rounds, where it would reach the output`);
}
if (audit.problems.length > 0) {
  console.error(`${source}: constructs scripts/generate.mjs has no policy for:`);
  for (const problem of audit.problems) console.error(`  ${problem}`);
  process.exit(1);
}

const generatorVersion = createRequire(import.meta.url)("openapi-typescript/package.json").version;
const ast = await openapiTS(doc, {
  alphabetize: true,
  // Fields with a default stay optional in request bodies (the server fills them in).
  defaultNonNullable: false,
  // An empty object schema is "any object", not `Record<string, never>`.
  emptyObjectsUnknown: true,
  // contentSchema: a string of JSON text, typed with what it decodes to.
  transform(schema, options) {
    if (schema.contentSchema === undefined) return undefined;
    return ts.factory.createTypeReferenceNode("JsonText", [transformSchemaObject(schema.contentSchema, options)]);
  },
});
const conditionalList = audit.conditional.map((path) => ` *   ${path.replace(/^#\/components\/schemas\//, "")}`);
const header = [
  "/**",
  " * GENERATED FILE: do not edit. Regenerate with `npm run generate -- DOC.json`",
  ` * (scripts/generate.mjs, openapi-typescript ${generatorVersion}) from Eventfold's OpenAPI document`,
  ` * (${doc.info?.title ?? "?"} ${doc.info?.version ?? "?"}, OpenAPI ${doc.openapi ?? "?"}).`,
  " *",
  " * Not expressed in these types (the server checks them): value constraints (bounds, lengths,",
  " * patterns, property names) and the conditional rules (if/then/else, not) of:",
  ...(conditionalList.length > 0 ? conditionalList : [" *   (none)"]),
  " */",
  "",
  "declare const jsonText: unique symbol;",
  "/**",
  " * A string of JSON text that decodes to `T` (a schema with `contentMediaType: application/json`",
  " * and `contentSchema: T`). The brand exists in types only: the value is a plain string.",
  " */",
  "export type JsonText<T> = string & { readonly [jsonText]?: T };",
  "",
].join("\n");
const text = header + astToString(ast);

if (check) {
  const current = await readFile(output, "utf8").catch(() => "");
  if (current !== text) {
    console.error(`src/schema.ts is not what ${source} generates: run npm run generate -- ${source}`);
    process.exit(1);
  }
  console.log("src/schema.ts is up to date");
} else {
  await writeFile(output, text);
  console.log(`wrote src/schema.ts from ${source}`);
}
