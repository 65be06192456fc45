// The wasm decoder against the native one: feeds every generated case (the frames a server sends:
// a Welcome, a full snapshot, a delta) to the SDK's wasm module and checks it reads exactly the
// world the native build read. Make the cases, then run this (after bash assets/web/build.sh):
//   TICKWIRE_WEB_CASES=target/web-cases.json cargo test -p tickwire-web --test snapshot_cases
//   node assets/web/sdk/test/decoder-parity.mjs target/web-cases.json

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync, WebClient } from "../wasm/tickwire_web.js";

const casesPath = process.argv[2];
if (!casesPath) {
  console.error("usage: node decoder-parity.mjs CASES.json");
  process.exit(2);
}
const wasm = fileURLToPath(new URL("../wasm/tickwire_web_bg.wasm", import.meta.url));
initSync({ module: readFileSync(wasm) });

/** The first entity the two worlds read differently, for the error message. */
function firstDifference(wasmWorld, nativeWorld) {
  for (let i = 0; i < Math.max(wasmWorld.length, nativeWorld.length); i++) {
    const [a, b] = [JSON.stringify(wasmWorld[i]), JSON.stringify(nativeWorld[i])];
    if (a !== b) return `entity ${i}: wasm read ${a}, native read ${b}`;
  }
  return "the same entities, written differently";
}

const cases = JSON.parse(readFileSync(casesPath, "utf8"));
let failed = 0;
cases.forEach((testCase, i) => {
  const client = new WebClient("parity", undefined, false, undefined);
  try {
    testCase.frames.forEach((frame, at) => client.receive(Uint8Array.from(frame), at));
    const world = client.world_json();
    if (client.desyncs !== 0) throw new Error(`${client.desyncs} desyncs`);
    if (world !== testCase.world) throw new Error(firstDifference(JSON.parse(world), JSON.parse(testCase.world)));
  } catch (error) {
    failed += 1;
    if (failed <= 5) console.error(`case ${i}: ${error?.message ?? error}`);
  } finally {
    client.free();
  }
});
if (cases.length === 0) {
  console.error("no cases: the file is empty");
  process.exit(1);
}
console.log(`${cases.length - failed} of ${cases.length} generated snapshots read the same world in wasm as natively`);
process.exit(failed === 0 ? 0 : 1);
