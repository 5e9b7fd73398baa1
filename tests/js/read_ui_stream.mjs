// Ask POST /api/chat as useChat does, with the AI SDK's own transport, and read the answer with
// the SDK's own reader. Input (stdin, JSON): {"api": URL, "headers": {...}, "messages": [UIMessage]}.
// Output (stdout, JSON): {"message": the final UIMessage, "chunks": [chunk types in order]},
// or {"error": text} when the transport refused (a 4xx) or the stream carried an error chunk.
import { DefaultChatTransport, readUIMessageStream } from 'ai';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', piece => { text += piece; });
  process.stdin.on('end', () => resolve(text));
}));

const transport = new DefaultChatTransport({ api: input.api, headers: input.headers ?? {} });
try {
  const stream = await transport.sendMessages({
    chatId: 'chat-under-test',
    messages: input.messages,
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
  });
  const [forReader, forLog] = stream.tee();
  const chunks = [];
  const logged = (async () => {
    for await (const chunk of forLog) chunks.push(chunk.type);
  })();
  let message;
  const errors = [];
  for await (const state of readUIMessageStream({ stream: forReader, onError: e => errors.push(String(e)) })) {
    message = state;
  }
  await logged;
  const streamed = chunks.includes('error') ? { error: 'error chunk in the stream', errors } : {};
  process.stdout.write(JSON.stringify({ message, chunks, ...streamed }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error.message ?? error) }));
}
