// Server-side stand-in (Node, SSR frameworks, test runners): shoptrail tracks shoppers in the
// browser, so on a server every call does nothing, flush() resolves false and ids are undefined.
const noop = () => {};
export const init = noop;
export const page = noop;
export const track = noop;
export const identify = noop;
export const alias = noop;
export const reset = noop;
export const on = noop;
export const off = noop;
export const flush = () => Promise.resolve(false);
export const anonymousId = () => undefined;
export const userId = () => undefined;
export const sessionId = () => undefined;
export default () => Promise.resolve();
