// Whether operations record the autograd graph.
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(mode: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = mode;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

/** Runs `fn` without recording gradients (inference, optimizer updates, initialisation). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
