// Uploads one file to a tus server with tus-js-client, as a browser or Node app would.
// Usage: node upload.mjs <endpoint> <token> <file> [chunkSize]
// Prints one JSON line: {"url": ..., "offset": ..., "asset_id": ...}; exits 1 on failure.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import * as tus from "tus-js-client";

const [endpoint, token, file, chunk] = process.argv.slice(2);
const data = readFileSync(file);

const upload = new tus.Upload(data, {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { filename: basename(file), filetype: "video/mp4", tags: "js,conformance" },
  chunkSize: chunk ? Number(chunk) : Infinity,
  retryDelays: [0, 200, 500, 1000],
  uploadDataDuringCreation: true,
  onAfterResponse(req, res) {
    const asset = res.getHeader("Reelforge-Asset-Id");
    if (asset) upload.assetId = asset;
  },
  onError(error) {
    console.error(String(error));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, asset_id: upload.assetId ?? null }));
  },
});
upload.start();
