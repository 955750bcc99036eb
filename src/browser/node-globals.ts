// The two Node globals the engine touches, for the browser build (esbuild injects these where the
// code names them): no environment variables in a page, and setImmediate as a zero-delay timeout.
export const process = { env: {} as Record<string, string | undefined> };

export function setImmediate(callback: () => void): void {
  setTimeout(callback, 0);
}
