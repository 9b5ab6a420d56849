// Runs ONNX models in ONNX Runtime (onnxruntime-node, CPU) for the export tests:
//   node onnx_run.mjs RUNTIMES REQUEST.json
// REQUEST: {"jobs": [{"model": "m.onnx", "output": "logits",
//           "runs": [{"inputs": {"input_ids": {"dims": [b, s], "data": [...]}, ...}, "out": "prefix"}]}]}
// For each run, writes prefix.f32 (the output, row-major little-endian float32) and
// prefix.json {"dims": [...]}.
import {createRequire} from "node:module";
import {readFileSync, writeFileSync} from "node:fs";
import {resolve} from "node:path";

const [runtimes, requestPath] = process.argv.slice(2);
const ort = createRequire(resolve(runtimes, "package.json"))("onnxruntime-node");
const request = JSON.parse(readFileSync(requestPath, "utf8"));

for (const job of request.jobs) {
  const session = await ort.InferenceSession.create(job.model, {executionProviders: ["cpu"], intraOpNumThreads: 1});
  for (const run of job.runs) {
    const feeds = {};
    for (const [name, t] of Object.entries(run.inputs))
      feeds[name] = new ort.Tensor("int64", BigInt64Array.from(t.data, (x) => BigInt(x)), t.dims);
    const out = (await session.run(feeds))[job.output];
    writeFileSync(run.out + ".f32", Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    writeFileSync(run.out + ".json", JSON.stringify({dims: out.dims}));
  }
}
