// Reads a GGUF file with the npm package @huggingface/gguf (an implementation independent of llmtrain's) and prints
// its metadata, its tensor infos and the SHA-256 of every tensor's bytes as one JSON object.
//   node read_gguf.mjs FILE.gguf
import { gguf } from "@huggingface/gguf";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const path = process.argv[2];
const { metadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
const plain = (v) => (typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v);
const bytes = readFileSync(path);
const size = { 0: 4, 1: 2, 30: 2 };
const out = { metadata: {}, tensorDataOffset: Number(tensorDataOffset), tensors: [] };
for (const [key, value] of Object.entries(metadata)) out.metadata[key] = plain(value);
for (const t of tensorInfos) {
  const shape = t.shape.map(Number);
  const begin = Number(tensorDataOffset) + Number(t.offset);
  const length = shape.reduce((a, b) => a * b, 1) * size[t.dtype];
  const sha256 = createHash("sha256").update(bytes.subarray(begin, begin + length)).digest("hex");
  out.tensors.push({ name: t.name, shape, dtype: t.dtype, offset: Number(t.offset), sha256 });
}
console.log(JSON.stringify(out));
