// Drives `quotasim serve` with the AWS SDK for JavaScript v3 (@aws-sdk/client-bedrock-runtime)
// in its default configuration: no requestHandler given, so the client builds its own
// default handler (NodeHttp2Handler in the versions that ship InvokeModelWithBidirectionalStream:
// HTTP/2, and without TLS for an http:// endpoint, prior knowledge).
//
// Usage: node bedrock_client.js ENDPOINT MODEL_ID
// Prints one JSON object: what the client saw.
"use strict";

const {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ConverseStreamCommand,
} = require("@aws-sdk/client-bedrock-runtime");

const [endpoint, modelId] = process.argv.slice(2);

function client(extraHeaders) {
  const c = new BedrockRuntimeClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-secret" },
  });
  if (extraHeaders) {
    c.middlewareStack.add(
      (next) => async (args) => {
        Object.assign(args.request.headers, extraHeaders);
        return next(args);
      },
      { step: "build", name: "quotasimHeaders" },
    );
  }
  return c;
}

async function main() {
  const out = {};
  const c = client();
  const handler = await c.config.requestHandler;
  out.handler = handler.constructor.name;
  out.sdk_version = require("@aws-sdk/client-bedrock-runtime/package.json").version;

  const body = JSON.stringify({
    anthropic_version: "bedrock-2023-05-31",
    max_tokens: 200,
    messages: [{ role: "user", content: "Count to ten." }],
  });
  const inv = await c.send(
    new InvokeModelCommand({ modelId, body, contentType: "application/json", accept: "application/json" }),
  );
  const msg = JSON.parse(Buffer.from(inv.body).toString("utf8"));
  out.invoke = { usage: msg.usage, text_chars: msg.content[0].text.length, stop_reason: msg.stop_reason };

  const cs = await c.send(
    new ConverseStreamCommand({
      modelId,
      messages: [{ role: "user", content: [{ text: "Count to ten." }] }],
      inferenceConfig: { maxTokens: 200 },
    }),
  );
  let text = "";
  let usage = null;
  let stop = null;
  for await (const ev of cs.stream) {
    if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text;
    if (ev.messageStop) stop = ev.messageStop.stopReason;
    if (ev.metadata) usage = ev.metadata.usage;
  }
  out.converse_stream = { usage, text_chars: text.length, stop_reason: stop };

  const ims = await c.send(
    new InvokeModelWithResponseStreamCommand({ modelId, body, contentType: "application/json" }),
  );
  let chunks = 0;
  let outTokens = null;
  for await (const ev of ims.body) {
    if (ev.chunk) {
      chunks += 1;
      const e = JSON.parse(Buffer.from(ev.chunk.bytes).toString("utf8"));
      if (e.type === "message_delta") outTokens = e.usage.output_tokens;
    }
  }
  out.invoke_stream = { chunks, output_tokens: outTokens };

  // A stream the server ends with Bedrock's throttlingException event after 5 tokens.
  const t = client({ "x-quotasim-mid-stream-throttle-after": "5" });
  const thr = await t.send(
    new ConverseStreamCommand({
      modelId,
      messages: [{ role: "user", content: [{ text: "Count to ten." }] }],
      inferenceConfig: { maxTokens: 200 },
    }),
  );
  let got = "";
  try {
    for await (const ev of thr.stream) {
      if (ev.contentBlockDelta) got += ev.contentBlockDelta.delta.text;
    }
    out.mid_stream = { error: null, text_chars: got.length };
  } catch (e) {
    out.mid_stream = { error: e.name, message: e.message, text_chars: got.length };
  }
  c.destroy();
  t.destroy();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e.name}: ${e.message}\n${e.stack}\n`);
  process.exit(1);
});
