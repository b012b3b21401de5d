// comlink over node:worker_threads. comlink's own node-adapter has a CJS default export that
// NodeNext types as `.default.default` (not callable), so this is the adapter, typed against
// comlink's Endpoint: Node hands `data` to 'message' listeners, the DOM-style Endpoint wants an
// event with `.data`.
import type { Endpoint } from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';

type Listener = EventListenerOrEventListenerObjectLike;
interface EventListenerOrEventListenerObjectLike {
  (ev: { data: unknown }): void;
}

export function nodeEndpoint(port: Worker | MessagePort): Endpoint {
  const wrapped = new WeakMap<object, (data: unknown) => void>();
  const ep = {
    postMessage: (message: unknown, transfer?: readonly unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, handler: unknown) => {
      const h = handler as Listener | { handleEvent: Listener };
      const l = (data: unknown) => ('handleEvent' in h ? h.handleEvent({ data }) : h({ data }));
      port.on('message', l);
      wrapped.set(h as object, l);
    },
    removeEventListener: (_type: string, handler: unknown) => {
      const l = wrapped.get(handler as object);
      if (!l) return;
      port.off('message', l);
      wrapped.delete(handler as object);
    },
  };
  return ep as unknown as Endpoint;
}
